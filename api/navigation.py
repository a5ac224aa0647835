"""The ``route.updated`` payload: a vehicle's ordered stops and turn-by-turn steps.

Built from a :class:`dispatch.model.VehicleState` (the plan and where the vehicle is) and the
road graph. Consecutive planned stops at the same virtual stop are one physical stop with the
riders who board and alight there. Steps are OSRM v5 shaped (:mod:`routing.steps`): one leg
from the vehicle's current node to the next stop, then one leg per following stop, up to
``max_legs`` legs (``route.complete`` says whether every stop is covered). Each step carries
its instruction in Japanese and English (``instructions``), ``instruction`` is Japanese.

``route_version`` is the plan's ``Plan.version``: it changes exactly when stops are added,
removed, reordered or their windows change, so a tablet can ignore a stale route (an off-route
re-route keeps the version and only moves the start).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from api.timeutil import ServiceClock
from dispatch.model import PlannedStop, StopKind, VehicleState
from routing.graph import RoadGraph
from routing.instructions import arrival_sentence, instruction
from routing.paths import Path, shortest_path
from routing.steps import leg_response

__all__ = [
    "DEFAULT_MAX_LEGS",
    "RouteInput",
    "cached_path",
    "distance_to_line_m",
    "english_instruction",
    "group_stops",
    "route_line",
    "route_payload",
]

DEFAULT_MAX_LEGS = 4
"""Legs with full steps in a ``route.updated`` (the rest of the stops are listed without)."""

_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class RouteInput:
    """What a route is built from (read on the Dispatcher thread, built anywhere).

    Attributes
    ----------
    service_day : date
        The Dispatcher day the plan belongs to.
    state : VehicleState
        The vehicle's state with its plan.
    start_node : int
        Where the route starts: the last snapped GPS position, else ``state.node``.
    """

    service_day: dt.date
    state: VehicleState
    start_node: int


def _rider(stop: PlannedStop, clock: ServiceClock, day: dt.date) -> dict[str, Any]:
    return {
        "request_id": stop.request_id,
        "passengers": stop.passengers,
        "wheelchairs": stop.wheelchairs,
        "window_earliest": clock.to_datetime(day, stop.earliest).isoformat(),
        "window_latest": clock.to_datetime(day, stop.latest).isoformat(),
    }


def group_stops(
    stops: Sequence[PlannedStop], clock: ServiceClock, day: dt.date
) -> list[dict[str, Any]]:
    """Physical stops in visiting order, each with who boards and who alights.

    Consecutive planned stops at the same road node and virtual stop merge into one; ``index``
    is the physical stop's position (0: the next stop); ``plan_indices`` the planned stops it
    covers.
    """
    grouped: list[dict[str, Any]] = []
    for index, stop in enumerate(stops):
        access = stop.access
        last = grouped[-1] if grouped else None
        if last is not None and last["node"] == access.node and last["stop_id"] == access.stop_id:
            entry = last
            entry["departure"] = clock.to_datetime(day, stop.departure).isoformat()
        else:
            entry = {
                "index": len(grouped),
                "stop_id": access.stop_id,
                "name": access.name,
                "node": access.node,
                "lat": round(access.point.lat, _DECIMALS),
                "lon": round(access.point.lon, _DECIMALS),
                "arrival": clock.to_datetime(day, stop.arrival).isoformat(),
                "departure": clock.to_datetime(day, stop.departure).isoformat(),
                "plan_indices": [],
                "board": [],
                "alight": [],
            }
            grouped.append(entry)
        entry["plan_indices"].append(index)
        side = "board" if stop.kind is StopKind.PICKUP else "alight"
        entry[side].append(_rider(stop, clock, day))
    return grouped


@functools.lru_cache(maxsize=16_384)
def cached_path(graph: RoadGraph, origin: int, destination: int) -> Path:
    """:func:`routing.paths.shortest_path`, remembered (plans change, their legs mostly not)."""
    return shortest_path(graph, origin, destination)


@functools.lru_cache(maxsize=8_192)
def _leg(
    graph: RoadGraph, origin: int, destination: int, number: int, final: bool
) -> dict[str, Any]:
    """One OSRM leg with both languages: ``instruction`` (ja) and ``instructions`` {ja, en}.

    Remembered per (origin, destination, stop number, final): a re-optimized plan usually
    keeps most of its legs. The returned dict is shared; callers must not change it.
    """
    path = cached_path(graph, origin, destination)
    leg = leg_response(graph, path, lang="ja", stop_number=number, final=final)
    for step in leg["steps"]:
        step["instructions"] = {
            "ja": step["instruction"],
            "en": english_instruction(step, stop_number=number, final=final),
        }
    return leg


def english_instruction(step: dict[str, Any], *, stop_number: int, final: bool) -> str:
    """The English text of an OSRM step built in Japanese (same maneuver, other language).

    Cheaper than building the leg twice; the depart heading uses the step's (rounded)
    ``bearing_after``, the one the tablet shows.
    """
    maneuver = step["maneuver"]
    kind = maneuver["type"]
    return instruction(
        kind,
        maneuver.get("modifier", ""),
        name=step["name"],
        ref=step["ref"],
        bearing_after=float(maneuver["bearing_after"]),
        exit_number=int(maneuver.get("exit", 0)),
        arrive=arrival_sentence(stop_number, final=final, lang="en") if kind == "arrive" else "",
        lang="en",
    )


def _legs(graph: RoadGraph, nodes: Sequence[int]) -> list[dict[str, Any]]:
    count = len(nodes) - 1
    return [
        _leg(graph, int(a), int(b), number, number == count)
        for number, (a, b) in enumerate(itertools.pairwise(nodes), start=1)
    ]


def route_line(graph: RoadGraph, paths: Sequence[Path]) -> list[list[float]]:
    """The road geometry of ``paths`` one after another as GeoJSON ``[lon, lat]`` positions
    (degrees, 6 decimals), without repeating a position that follows itself."""
    coordinates: list[list[float]] = []
    for path in paths:
        for edge in path.edges:
            start, stop = int(graph.geometry_offsets[edge]), int(graph.geometry_offsets[edge + 1])
            for lat, lon in zip(
                graph.geometry_lat[start:stop], graph.geometry_lon[start:stop], strict=True
            ):
                point = [round(float(lon), _DECIMALS), round(float(lat), _DECIMALS)]
                if not coordinates or coordinates[-1] != point:
                    coordinates.append(point)
    return coordinates


def route_payload(
    graph: RoadGraph,
    source: RouteInput,
    clock: ServiceClock,
    *,
    reason: str,
    max_legs: int = DEFAULT_MAX_LEGS,
) -> dict[str, Any]:
    """The ``route.updated`` payload for one vehicle.

    Parameters
    ----------
    graph : RoadGraph
        The road graph of the service area.
    source : RouteInput
        Plan, vehicle state and the node to start from.
    clock : ServiceClock
        Turns the day's seconds into datetimes (service time zone).
    reason : str
        Why it is sent: ``"plan_changed"``, ``"snapshot"`` or ``"off_route"``.
    max_legs : int
        Legs with steps (the next ``max_legs`` physical stops).

    Returns
    -------
    dict
        ``{route_version, service_day, vehicle_id, reason, locked, onboard, position, stops,
        steps, route}``; ``route`` is None for an empty plan, else an OSRM route ``{distance,
        duration, geometry, legs, complete}`` (metres, seconds, ``[lon, lat]``); ``steps`` are
        the steps of every included leg in order, each with its ``leg`` index (0: to the next
        stop).
    """
    state = source.state
    plan = state.plan
    day = source.service_day
    planned = plan.stops if plan is not None else ()
    stops = group_stops(planned, clock, day)
    start = source.start_node
    payload: dict[str, Any] = {
        "route_version": plan.version if plan is not None else 0,
        "service_day": day.isoformat(),
        "vehicle_id": state.vehicle.id,
        "reason": reason,
        "locked": bool(plan.locked) if plan is not None else False,
        "onboard": list(state.onboard),
        "position": {
            "node": start,
            "lat": round(float(graph.node_lat[start]), _DECIMALS),
            "lon": round(float(graph.node_lon[start]), _DECIMALS),
        },
        "stops": stops,
        "steps": [],
        "route": None,
    }
    if not stops:
        return payload
    nodes = [start, *(int(stop["node"]) for stop in stops[:max_legs])]
    paths = [cached_path(graph, a, b) for a, b in itertools.pairwise(nodes)]
    legs = _legs(graph, nodes)
    steps = [dict(step, leg=number) for number, leg in enumerate(legs) for step in leg["steps"]]
    payload["steps"] = steps
    payload["route"] = {
        "distance": sum(path.metres for path in paths),
        "duration": sum(path.seconds for path in paths),
        "geometry": {"type": "LineString", "coordinates": route_line(graph, paths)},
        "legs": legs,
        "complete": len(stops) <= max_legs,
    }
    return payload


def distance_to_line_m(coordinates: Sequence[Sequence[float]], lat: float, lon: float) -> float:
    """Metres from a point to a ``[lon, lat]`` polyline (local flat projection).

    Returns ``math.inf`` for an empty line; a one-point line gives the distance to the point.
    """
    if not coordinates:
        return math.inf
    line = np.asarray(coordinates, dtype=np.float64)
    metres_lat = 111_320.0
    metres_lon = 111_320.0 * math.cos(math.radians(lat))
    xs = (line[:, 0] - lon) * metres_lon
    ys = (line[:, 1] - lat) * metres_lat
    if line.shape[0] == 1:
        return float(math.hypot(xs[0], ys[0]))
    x0, y0, x1, y1 = xs[:-1], ys[:-1], xs[1:], ys[1:]
    dx, dy = x1 - x0, y1 - y0
    length_sq = dx * dx + dy * dy
    safe = np.where(length_sq > 0.0, length_sq, 1.0)
    t = np.clip(-(x0 * dx + y0 * dy) / safe, 0.0, 1.0)
    t = np.where(length_sq > 0.0, t, 0.0)
    return float(np.min(np.hypot(x0 + t * dx, y0 + t * dy)))
