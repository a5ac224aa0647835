"""Build the world a scenario runs in: road graph, virtual stops, travel-time oracle, service
area and the fleet.

This is the only place in ``simulations`` that loads maps; every run (and every sweep task, on
its own worker) builds its world here, so nothing unpicklable crosses process boundaries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from dispatch.model import Vehicle
from dispatch.stop_area import VirtualStopArea
from routing.errors import PointOffMapError
from routing.graph import RoadGraph
from routing.load import load_graph
from routing.matrix import GraphOracle
from routing.snap import nearest_node
from routing.stops import VirtualStop, generate_stops, load_stops
from routing.synthetic import synthetic_town
from routing.types import NodeId
from simulations.errors import ScenarioError
from simulations.scenario import MapSpec, Scenario

__all__ = ["World", "build_world", "load_map"]


@dataclass(frozen=True, slots=True, eq=False)
class World:
    """Everything a run needs that does not change during the day.

    Attributes
    ----------
    graph : RoadGraph
        The drivable road graph.
    stops : tuple of VirtualStop
        Virtual stops.
    oracle : GraphOracle
        Driving seconds/metres (matrix over stops and depots, Dijkstra elsewhere).
    area : VirtualStopArea
        Walking access to the stops, door-to-door access.
    vehicles : tuple of Vehicle
        The fleet (``bus-1`` ..), depots assigned round-robin.
    map_description : str
        Which map was used, for people.
    build_seconds : float
        Wall seconds spent building the world (not part of any result).
    """

    graph: RoadGraph
    stops: tuple[VirtualStop, ...]
    oracle: GraphOracle
    area: VirtualStopArea
    vehicles: tuple[Vehicle, ...]
    map_description: str
    build_seconds: float


def load_map(spec: MapSpec) -> RoadGraph:
    """The road graph a map spec names (routing errors pass through; they say what to do)."""
    if spec.kind == "synthetic":
        return synthetic_town(
            seed=spec.synthetic_seed,
            rows=spec.synthetic_rows,
            cols=spec.synthetic_cols,
            spacing_m=spec.synthetic_spacing_m,
        )
    if spec.kind == "osm":
        return load_graph(spec.osm_path)
    return load_graph(None, place=spec.place)


def _central_node(graph: RoadGraph) -> NodeId:
    lat, lon = float(np.mean(graph.node_lat)), float(np.mean(graph.node_lon))
    return nearest_node(graph, lat, lon, max_distance_m=1e9)


def build_world(scenario: Scenario) -> World:
    """Load the map, place stops and depots, and build the oracle and service area.

    Raises
    ------
    ScenarioError
        When a depot is off the map.
    RoutingError
        When the map or stop file cannot be loaded (the message says what to do).
    """
    started = time.perf_counter()
    graph = load_map(scenario.map)
    if scenario.stops.file is not None:
        stops = tuple(load_stops(scenario.stops.file, graph))
    else:
        stops = tuple(generate_stops(graph, spacing_m=scenario.stops.spacing_m))
    if not stops and not scenario.stops.door_to_door:
        raise ScenarioError(
            "no virtual stops could be placed on this map; lower stops.spacing_m or give stops.file"
        )
    fleet = scenario.fleet
    if fleet.depots:
        depot_nodes = []
        for index, point in enumerate(fleet.depots):
            try:
                depot_nodes.append(nearest_node(graph, point.lat, point.lon, max_distance_m=2000))
            except PointOffMapError as error:
                raise ScenarioError(f"fleet.depots[{index}]: {error}") from error
    else:
        depot_nodes = [_central_node(graph)]
    vehicles = tuple(
        Vehicle(
            id=f"bus-{number}",
            seats=fleet.seats,
            wheelchair_places=fleet.wheelchair_places,
            depot=depot_nodes[(number - 1) % len(depot_nodes)],
            shift_start=fleet.shift_start,
            shift_end=fleet.shift_end,
        )
        for number in range(1, fleet.vehicles + 1)
    )
    matrix_nodes = sorted({stop.node for stop in stops} | set(depot_nodes))
    oracle = GraphOracle(graph, nodes=matrix_nodes)
    area = VirtualStopArea(graph, stops, walk_speed_mps=scenario.service.walk_speed_mps)
    description = (
        f"{scenario.map.describe()} ({graph.n_nodes} nodes, {graph.n_edges} edges"
        f"{', graph from cache' if graph.from_cache else ''})"
    )
    return World(
        graph=graph,
        stops=stops,
        oracle=oracle,
        area=area,
        vehicles=vehicles,
        map_description=description,
        build_seconds=time.perf_counter() - started,
    )
