"""Vehicles (operator token): add (returns the driver token), list, retire, plan of a day."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.auth import OperatorDep
from api.deps import ServiceDep, SessionDep
from api.present import plan_public, vehicle_public
from api.schemas import ErrorPublic, PlanPublic, VehicleCreate, VehicleCreated, VehiclePublic
from api.service import Problem
from api.storage.models import VehicleRow
from api.timeutil import parse_time_of_day
from routing.types import LatLon

__all__ = ["router"]


def _days(days: list[dt.date]) -> str:
    return f"{days[0].isoformat()} .. {days[-1].isoformat()}"


router = APIRouter(prefix="/v1/vehicles", tags=["operator"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409)
}


@router.post("", response_model=VehicleCreated, status_code=201, responses=ERRORS)
async def add_vehicle(
    body: VehicleCreate, service: ServiceDep, _operator: OperatorDep
) -> VehicleCreated:
    """Add a vehicle; the answer holds its driver token (shown once)."""
    depot = LatLon(body.depot.lat, body.depot.lon)
    node, distance = service.bundle.snap(depot)
    if distance > service.settings.max_walk_m * 5:
        raise Problem(
            422,
            f"depot is {distance} m from the nearest road of the service area; put it on the map",
            reason="outside_service_area",
        )
    row = VehicleRow(
        id=body.id,
        seats=body.seats,
        wheelchair_places=body.wheelchair_places,
        depot_lat=body.depot.lat,
        depot_lon=body.depot.lon,
        depot_node=node,
        shift_start_s=parse_time_of_day(body.shift_start),
        shift_end_s=parse_time_of_day(body.shift_end),
        driver_token_hash="",
    )
    token = await service.add_vehicle(row)
    return VehicleCreated(**vehicle_public(row).model_dump(), driver_token=token)


@router.get("", response_model=list[VehiclePublic], responses=ERRORS)
def list_vehicles(
    session: SessionDep, _operator: OperatorDep, include_retired: bool = False
) -> list[VehiclePublic]:
    """Every vehicle (retired ones with ``include_retired=true``)."""
    statement = select(VehicleRow).order_by(col(VehicleRow.id))
    if not include_retired:
        statement = statement.where(col(VehicleRow.retired_at).is_(None))
    return [vehicle_public(row) for row in session.exec(statement)]


@router.post("/{vehicle_id}/retire", response_model=VehiclePublic, responses=ERRORS)
async def retire_vehicle(
    vehicle_id: str, service: ServiceDep, _operator: OperatorDep
) -> VehiclePublic:
    """Retire a vehicle: no new work; its booked riders are moved to others where possible."""
    if len(vehicle_id) > 64:
        raise Problem(404, f"no vehicle {vehicle_id[:64]}...; list them with GET /v1/vehicles")
    return vehicle_public(await service.retire_vehicle(vehicle_id))


@router.get("/{vehicle_id}/plan", response_model=PlanPublic, responses=ERRORS)
async def read_plan(
    vehicle_id: str,
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> PlanPublic:
    """The vehicle's plan on a service day."""
    service_day = day or service.clock.today()
    if service_day not in service.open_days() and service_day not in await service.call(
        service.loaded_days
    ):
        raise Problem(
            404, f"day {service_day} is not open; pick one of {_days(service.open_days())}"
        )
    states = await service.plans(service_day)
    if vehicle_id not in states:
        raise Problem(404, f"no vehicle {vehicle_id} on {service_day}")
    return plan_public(states[vehicle_id], service_day, service.clock)
