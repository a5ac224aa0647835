"""Seeded demand: who asks for which trip, and when.

Origins are points on the road network weighted toward residential streets
(``highway=residential``); destinations are the scenario's configured places people go
(hospital, station, schools, shops, city hall) or, when none are configured, points on arterial
roads near the map's centre (the compiled road graph carries no points of interest). Most requests
are arrive-by trips for morning appointments; the rest are depart-at trips, mostly going home.

Every draw comes from ``numpy.random.default_rng([seed, DEMAND_STREAM])``: the same scenario and
seed give the same requests on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from dispatch.model import Request
from routing.graph import RoadGraph
from routing.types import LatLon, Seconds
from simulations.scenario import DemandSpec, FleetSpec

__all__ = [
    "DEMAND_STREAM",
    "DemandRequest",
    "generate_demand",
    "haversine_m",
    "sorted_demand",
]

DEMAND_STREAM = 1
"""Second word of the demand generator's seed, so demand and rider behaviour draw apart."""

ROUND_DEGREES = 7
"""Coordinates are rounded to 1e-7 degrees (about 1 cm) so request logs round-trip exactly."""

ARTERIAL = frozenset({"primary", "secondary", "tertiary", "primary_link", "secondary_link"})
NO_RIDERS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
MIN_TRIP_M = 400.0
"""Origins and destinations closer than this (straight line) are drawn again."""


@dataclass(frozen=True, slots=True)
class DemandRequest:
    """A request and the moment the rider submits it.

    Attributes
    ----------
    request_time : Seconds
        When the rider asks for a quote, seconds since midnight.
    request : Request
        The trip request.
    """

    request_time: Seconds
    request: Request


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def _point_on_edge(graph: RoadGraph, edge: int, fraction: float) -> LatLon:
    """The point ``fraction`` (0..1) of the way along an edge's polyline."""
    start, end = int(graph.geometry_offsets[edge]), int(graph.geometry_offsets[edge + 1])
    lats = graph.geometry_lat[start:end]
    lons = graph.geometry_lon[start:end]
    if lats.shape[0] < 2:
        return LatLon(round(float(lats[0]), ROUND_DEGREES), round(float(lons[0]), ROUND_DEGREES))
    scale = math.cos(math.radians(float(lats[0])))
    seg = np.hypot(np.diff(lats), np.diff(lons) * scale)
    cumulative = np.concatenate(([0.0], np.cumsum(seg)))
    target = fraction * cumulative[-1]
    i = int(min(np.searchsorted(cumulative, target, side="right") - 1, seg.shape[0] - 1))
    t = 0.0 if seg[i] == 0 else (target - cumulative[i]) / seg[i]
    lat = float(lats[i] + t * (lats[i + 1] - lats[i]))
    lon = float(lons[i] + t * (lons[i + 1] - lons[i]))
    return LatLon(round(lat, ROUND_DEGREES), round(lon, ROUND_DEGREES))


def _edge_weights(graph: RoadGraph, *, residential_weight: float) -> npt.NDArray[np.float64]:
    """Origin weight of each edge: length, times ``residential_weight`` on residential streets."""
    factor = np.array(
        [
            0.0 if h in NO_RIDERS else (residential_weight if h == "residential" else 1.0)
            for h in graph.edge_highway
        ],
        dtype=np.float64,
    )
    weights = graph.edge_length_m.astype(np.float64) * factor
    if weights.sum() <= 0:
        weights = graph.edge_length_m.astype(np.float64)
    normalised: npt.NDArray[np.float64] = weights / weights.sum()
    return normalised


def _central_arterial_weights(graph: RoadGraph) -> npt.NDArray[np.float64]:
    """Destination weight of each edge when no places are configured.

    Arterial edges (primary/secondary/tertiary) count fully, others a tenth; both decay with
    distance from the node centroid on the scale of a third of the map's radius.
    """
    lat0, lon0 = float(graph.node_lat.mean()), float(graph.node_lon.mean())
    scale = math.cos(math.radians(lat0))
    src = graph.edge_source
    dy = (graph.node_lat[src] - lat0) * 111_320.0
    dx = (graph.node_lon[src] - lon0) * 111_320.0 * scale
    distance = np.hypot(dx, dy)
    radius = max(float(np.percentile(distance, 90)), 1.0)
    klass = np.array(
        [1.0 if h in ARTERIAL else (0.0 if h in NO_RIDERS else 0.1) for h in graph.edge_highway]
    )
    weights = graph.edge_length_m.astype(np.float64) * klass * np.exp(-distance / (radius / 3))
    if weights.sum() <= 0:
        weights = np.exp(-distance / (radius / 3))
    normalised: npt.NDArray[np.float64] = weights / weights.sum()
    return normalised


def _round_to(value: float, step: int) -> int:
    return round(value / step) * step


def generate_demand(
    graph: RoadGraph,
    demand: DemandSpec,
    fleet: FleetSpec,
    *,
    seed: int,
    door_to_door: bool = False,
) -> list[DemandRequest]:
    """Draw ``demand.requests`` requests for one service day.

    Parameters
    ----------
    graph : RoadGraph
        The road network (origins and destinations are points on its edges).
    demand : DemandSpec
        Generator parameters.
    fleet : FleetSpec
        The shift window bounds appointment and departure times.
    seed : int
        Scenario seed.
    door_to_door : bool
        Value of ``Request.door_to_door`` for every request.

    Returns
    -------
    list of DemandRequest
        Sorted by request time; ids ``r0001`` .. in that order.
    """
    rng = np.random.default_rng([seed, DEMAND_STREAM])
    origin_weights = _edge_weights(graph, residential_weight=demand.residential_weight)
    if demand.destinations:
        place_weights = np.array([d.weight for d in demand.destinations], dtype=np.float64)
        if place_weights.sum() <= 0:
            place_weights = np.ones_like(place_weights)
        place_weights = place_weights / place_weights.sum()
        central = None
    else:
        place_weights = None
        central = _central_arterial_weights(graph)
    group_p = np.asarray(demand.group_sizes, dtype=np.float64)
    group_p = group_p / group_p.sum()

    def draw_home() -> LatLon:
        edge = int(rng.choice(origin_weights.shape[0], p=origin_weights))
        return _point_on_edge(graph, edge, float(rng.random()))

    def draw_place() -> LatLon:
        if place_weights is not None:
            return demand.destinations[
                int(rng.choice(place_weights.shape[0], p=place_weights))
            ].point
        assert central is not None
        edge = int(rng.choice(central.shape[0], p=central))
        return _point_on_edge(graph, edge, float(rng.random()))

    first = fleet.shift_start + 2700  # earliest appointment: 45 min into the shift
    last = fleet.shift_end - 900  # latest arrival or departure: 15 min before the shift ends
    if last <= first:
        last = first + 60
    drafts: list[tuple[int, Request]] = []
    for _ in range(demand.requests):
        home = draw_home()
        place = draw_place()
        for _attempt in range(20):
            if haversine_m(home, place) >= MIN_TRIP_M:
                break
            home = draw_home()
            place = draw_place()
        lead = float(rng.uniform(demand.lead_min_s, demand.lead_max_s))
        passengers = int(rng.choice(group_p.shape[0], p=group_p)) + 1
        wheelchairs = 1 if rng.random() < demand.wheelchair_share else 0
        if rng.random() < demand.arrive_by_share:
            if rng.random() < demand.peak_share:
                appointment = rng.normal(demand.peak, demand.peak_spread_s)
            else:
                appointment = rng.uniform(first, last)
            arrive_by = min(max(_round_to(float(appointment), 300), first), last)
            request_time = max(0, int(arrive_by - lead))
            request = Request(
                id="",
                origin=home,
                destination=place,
                arrive_by=arrive_by,
                passengers=passengers,
                wheelchairs=wheelchairs,
                door_to_door=door_to_door,
            )
        else:
            # Mostly trips home after the appointment, spread from the peak to the shift's end.
            going_home = rng.random() < 0.7
            start = min(demand.peak + 1800, last) if going_home else fleet.shift_start + 900
            depart_at = _round_to(float(rng.uniform(start, last)), 60)
            request_time = max(0, int(depart_at - lead))
            request = Request(
                id="",
                origin=place if going_home else home,
                destination=home if going_home else place,
                depart_at=depart_at,
                passengers=passengers,
                wheelchairs=wheelchairs,
                door_to_door=door_to_door,
            )
        drafts.append((request_time, request))
    drafts.sort(key=lambda item: item[0])
    width = max(4, len(str(len(drafts))))
    out: list[DemandRequest] = []
    for number, (request_time, request) in enumerate(drafts, start=1):
        out.append(
            DemandRequest(
                request_time=request_time,
                request=_with_id(request, f"r{number:0{width}d}"),
            )
        )
    return out


def _with_id(request: Request, request_id: str) -> Request:
    return replace(request, id=request_id)


def sorted_demand(requests: Sequence[DemandRequest]) -> list[DemandRequest]:
    """Requests in submission order (time, then id): the order the engine submits them."""
    return sorted(requests, key=lambda d: (d.request_time, d.request.id))
