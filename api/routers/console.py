"""Operator console JSON (operator token): map geometry, fleet, bookings, re-optimize, replay.

Everything the ``/operator`` page draws comes from here, so the page needs no tile server:

- ``GET /v1/console/graph``: the road graph as GeoJSON (one LineString per road, both
  directions of a two-way road once) with its bounding box.
- ``GET /v1/console/stops``: the virtual stops as GeoJSON points.
- ``GET /v1/console/fleet``: every vehicle with position, plan and the road geometry of its
  planned route, and whether its tablet is connected.
- ``GET /v1/console/bookings``: the day's bookings with their live states.
- ``GET /v1/console/drivers``: each tablet channel (connected, seq counters, stored seq).
- ``POST /v1/console/reoptimize``: re-optimize a day now; says whether the plans were adopted.
- ``GET /v1/console/days`` and ``GET /v1/console/replay``: the days in the event log and one
  day's logged events (dispatch events, positions, stop reports), for replay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlmodel import Session, col, select

from api.auth import OperatorDep
from api.deps import ServiceDep
from api.navigation import cached_path, route_line
from api.schemas import ErrorPublic
from api.service import DispatchService, Problem
from api.storage.driver import DispatchEventRow, read_event_log
from api.storage.models import Booking
from dispatch.errors import DispatchError
from dispatch.model import VehicleState
from routing.errors import RoutingError
from routing.graph import RoadGraph

__all__ = ["graph_geojson", "router"]

router = APIRouter(prefix="/v1/console", tags=["operator console"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 422)
}
_DECIMALS = 6


def graph_geojson(graph: RoadGraph) -> dict[str, Any]:
    """The road graph as a GeoJSON FeatureCollection with a ``bbox`` [west, south, east, north].

    Each feature is one edge's polyline (``[lon, lat]``) with ``highway`` and ``name``; of two
    edges joining the same nodes in opposite directions only the lower-numbered one is kept
    (``oneway`` tells whether the road is one-way).
    """
    pairs = {(int(u), int(v)) for u, v in zip(graph.edge_source, graph.edge_target, strict=True)}
    features = []
    for edge in range(graph.n_edges):
        u, v = int(graph.edge_source[edge]), int(graph.edge_target[edge])
        two_way = (v, u) in pairs
        if two_way and (u, v) > (v, u):
            continue
        start, stop = int(graph.geometry_offsets[edge]), int(graph.geometry_offsets[edge + 1])
        coordinates = [
            [round(float(lon), _DECIMALS), round(float(lat), _DECIMALS)]
            for lat, lon in zip(
                graph.geometry_lat[start:stop], graph.geometry_lon[start:stop], strict=True
            )
        ]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "properties": {
                    "edge": edge,
                    "highway": graph.edge_highway[edge],
                    "name": graph.edge_name[edge],
                    "oneway": not two_way,
                },
            }
        )
    bbox = [
        float(graph.node_lon.min()),
        float(graph.node_lat.min()),
        float(graph.node_lon.max()),
        float(graph.node_lat.max()),
    ]
    return {"type": "FeatureCollection", "bbox": bbox, "features": features}


def _day(service: DispatchService, day: dt.date | None) -> dt.date:
    return day or service.clock.today()


async def _cached(request: Request, key: str, build: Any) -> Any:
    state = request.app.state
    cache: dict[str, Any] = getattr(state, "console_cache", None) or {}
    state.console_cache = cache
    if key not in cache:
        cache[key] = await asyncio.to_thread(build)
    return cache[key]


@router.get("/graph", responses=ERRORS)
async def read_graph(
    request: Request, service: ServiceDep, _operator: OperatorDep
) -> dict[str, Any]:
    """The road graph as GeoJSON (our own geometry; no tile server needed)."""
    result: dict[str, Any] = await _cached(
        request, "graph", lambda: graph_geojson(service.bundle.graph)
    )
    return result


@router.get("/stops", responses=ERRORS)
async def read_stops(service: ServiceDep, _operator: OperatorDep) -> dict[str, Any]:
    """The virtual stops as GeoJSON points (``id``, ``name``, road ``node``)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
                "properties": {"id": stop.id, "name": stop.name, "node": stop.node},
            }
            for stop in service.bundle.stops
        ],
    }


def _route_line(graph: RoadGraph, nodes: list[int]) -> list[list[float]]:
    """The driven line through ``nodes`` (a leg without a path is left out)."""
    paths = []
    for origin, destination in itertools.pairwise(nodes):
        try:
            paths.append(cached_path(graph, origin, destination))
        except RoutingError:
            continue
    return route_line(graph, paths)


def _vehicle_json(
    service: DispatchService, state: VehicleState, day: dt.date, hub: Any
) -> dict[str, Any]:
    clock, bundle = service.clock, service.bundle
    plan = state.plan
    stops = plan.stops if plan is not None else ()
    position = bundle.node_position(state.node)
    driver = hub.status().get(state.vehicle.id, {}) if hub is not None else {}
    return {
        "id": state.vehicle.id,
        "seats": state.vehicle.seats,
        "wheelchair_places": state.vehicle.wheelchair_places,
        "retired": state.retired,
        "node": state.node,
        "lat": position.lat,
        "lon": position.lon,
        "onboard": list(state.onboard),
        "route_version": plan.version if plan is not None else 0,
        "locked": bool(plan.locked) if plan is not None else False,
        "connected": bool(driver.get("connected", False)),
        "driver": driver,
        "stops": [
            {
                "request_id": stop.request_id,
                "kind": stop.kind.value,
                "stop_id": stop.access.stop_id,
                "name": stop.access.name,
                "lat": stop.access.point.lat,
                "lon": stop.access.point.lon,
                "arrival": clock.to_datetime(day, stop.arrival).isoformat(),
                "passengers": stop.passengers,
            }
            for stop in stops
        ],
        "route": _route_line(bundle.graph, [state.node, *(s.access.node for s in stops)]),
    }


@router.get("/fleet", responses=ERRORS)
async def read_fleet(
    request: Request,
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> dict[str, Any]:
    """Every vehicle of a day: position, plan, planned road geometry, tablet connection."""
    service_day = _day(service, day)
    if service_day not in service.open_days() and service_day not in await service.call(
        service.loaded_days
    ):
        raise Problem(404, f"day {service_day} is not open; pick one of {service.open_days()}")
    states = await service.plans(service_day)
    hub = getattr(request.app.state, "driver_hub", None)
    vehicles = await asyncio.to_thread(
        lambda: [_vehicle_json(service, states[v], service_day, hub) for v in sorted(states)]
    )
    return {
        "service_day": service_day.isoformat(),
        "now": service.clock.now().isoformat(),
        "reoptimizations": service.reoptimizations,
        "vehicles": vehicles,
    }


@router.get("/drivers", responses=ERRORS)
async def read_drivers(request: Request, _operator: OperatorDep) -> dict[str, Any]:
    """Each vehicle's tablet channel: connected, session, last/acked/stored seq, unacked."""
    hub = getattr(request.app.state, "driver_hub", None)
    return {"drivers": hub.status() if hub is not None else {}}


@router.get("/bookings", responses=ERRORS)
async def read_bookings(
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> dict[str, Any]:
    """The day's bookings, by pickup time, with the live state and serving vehicle."""
    service_day = _day(service, day)

    def rows() -> list[Booking]:
        with Session(service.engine) as session:
            return list(
                session.exec(
                    select(Booking)
                    .where(Booking.service_day == service_day)
                    .order_by(col(Booking.pickup_earliest_s), col(Booking.id))
                ).all()
            )

    stored = await asyncio.to_thread(rows)

    def live() -> dict[str, tuple[str, str | None]]:
        if service_day not in service.loaded_days():
            return {}
        dispatcher = service.dispatcher(service_day)
        found = {}
        for row in stored:
            try:
                record = dispatcher.record(row.id)
            except DispatchError:
                continue
            found[row.id] = (record.status.value, record.vehicle_id)
        return found

    states = await service.call(live)
    clock = service.clock
    bookings: list[dict[str, Any]] = []
    for row in stored:
        status, vehicle_id = states.get(row.id, (row.status, None))
        bookings.append(
            {
                "id": row.id,
                "status": status,
                "vehicle_id": vehicle_id,
                "channel": row.channel,
                "passengers": row.passengers,
                "wheelchairs": row.wheelchairs,
                "pickup": {
                    "stop_id": row.pickup_stop_id,
                    "name": row.pickup_name,
                    "lat": row.pickup_lat,
                    "lon": row.pickup_lon,
                },
                "dropoff": {
                    "stop_id": row.dropoff_stop_id,
                    "name": row.dropoff_name,
                    "lat": row.dropoff_lat,
                    "lon": row.dropoff_lon,
                },
                "pickup_earliest": clock.to_datetime(
                    service_day, row.pickup_earliest_s
                ).isoformat(),
                "pickup_latest": clock.to_datetime(service_day, row.pickup_latest_s).isoformat(),
                "latest_arrival": clock.to_datetime(service_day, row.latest_arrival_s).isoformat(),
            }
        )
    counts: dict[str, int] = {}
    for booking in bookings:
        status_name = str(booking["status"])
        counts[status_name] = counts.get(status_name, 0) + 1
    return {"service_day": service_day.isoformat(), "counts": counts, "bookings": bookings}


@router.post("/reoptimize", responses=ERRORS)
async def reoptimize_now(
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> dict[str, Any]:
    """Re-optimize a day now (solve off the event loop); which plans changed and whether the
    new plans were adopted (only when feasible and cheaper)."""
    service_day = _day(service, day)
    if service_day not in service.open_days():
        raise Problem(404, f"day {service_day} is not open; pick one of {service.open_days()}")
    events = await service.reoptimize(service_day)
    summary = next((e for e in events if type(e).__name__ == "Reoptimized"), None)
    return {
        "service_day": service_day.isoformat(),
        "ran": summary is not None or bool(events),
        "adopted": bool(getattr(summary, "adopted", False)),
        "cost_before": getattr(summary, "cost_before", None),
        "cost_after": getattr(summary, "cost_after", None),
        "reason": getattr(summary, "reason", "nothing to re-optimize" if not events else ""),
        "changed_vehicles": sorted(
            {str(getattr(e, "vehicle_id", "")) for e in events if type(e).__name__ == "PlanChanged"}
        ),
        "events": [type(e).__name__ for e in events],
    }


@router.get("/days", responses=ERRORS)
async def logged_days(service: ServiceDep, _operator: OperatorDep) -> dict[str, Any]:
    """Service days with logged events (newest first), for the replay picker."""

    def read() -> list[str]:
        with Session(service.engine) as session:
            days = session.exec(
                select(col(DispatchEventRow.service_day))
                .distinct()
                .order_by(col(DispatchEventRow.service_day).desc())
            ).all()
        return [str(day) for day in days]

    return {"days": await asyncio.to_thread(read)}


@router.get("/replay", responses=ERRORS)
async def replay_day(
    request: Request,
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date = Query(description="service day to replay"),
) -> dict[str, Any]:
    """The day's event log in order: ``events[i] = {id, time_s, type, vehicle_id, request_id,
    payload}`` with ``time_s`` seconds since the day's midnight (service time zone)."""
    hub = getattr(request.app.state, "driver_hub", None)
    if hub is not None:
        await hub.flush_log()
    events = await asyncio.to_thread(read_event_log, service.engine, day)
    return {
        "service_day": day.isoformat(),
        "midnight": service.clock.midnight(day).isoformat(),
        "events": events,
    }
