"""Live status of a booking: ``GET .../live`` and a server-sent-events stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.auth import PrincipalDep
from api.deps import ServiceDep, SessionDep
from api.events import BusMessage
from api.routers.bookings import ERRORS, load_booking
from api.schemas import LivePublic, VehiclePositionPublic
from api.service import ACTIVE_STATUSES, DispatchService
from api.storage.models import Booking

__all__ = ["router"]

router = APIRouter(prefix="/v1/bookings", tags=["rider"])


async def live_public(service: DispatchService, row: Booking) -> LivePublic:
    """Status, vehicle position and ETAs as datetimes."""
    live = await service.live_status(row)

    def at(key: str):  # type: ignore[no-untyped-def]
        value = live.get(key)
        return None if value is None else service.clock.to_datetime(row.service_day, value)

    position = None
    if live.get("vehicle_node") is not None:
        point = service.bundle.node_position(live["vehicle_node"])
        position = VehiclePositionPublic(lat=point.lat, lon=point.lon, at=at("vehicle_time"))
    return LivePublic(
        booking_id=row.id,
        status=live["status"],
        vehicle_id=live.get("vehicle_id"),
        vehicle_position=position,
        pickup_eta=at("pickup_eta"),
        dropoff_eta=at("dropoff_eta"),
        stops_before_pickup=live.get("stops_before_pickup"),
    )


@router.get("/{booking_id}/live", response_model=LivePublic, responses=ERRORS)
async def read_live(
    booking_id: str, service: ServiceDep, session: SessionDep, principal: PrincipalDep
) -> LivePublic:
    """Pickup ETA and where the vehicle is."""
    return await live_public(service, load_booking(session, booking_id, principal))


@router.get(
    "/{booking_id}/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    response_class=StreamingResponse,
)
async def stream_live(
    booking_id: str,
    request: Request,
    service: ServiceDep,
    session: SessionDep,
    principal: PrincipalDep,
    heartbeat_s: float = Query(default=15.0, ge=0.1, le=60),
) -> StreamingResponse:
    """Server-sent events: an ``event: live`` with :class:`LivePublic` now and on every change.

    The stream ends after the booking leaves the booked/assigned/onboard states.
    """
    row = load_booking(session, booking_id, principal)

    def relevant(message: BusMessage) -> bool:
        return message.day == row.service_day and (
            message.request_id == row.id or message.type == "PlanChanged"
        )

    async def events() -> AsyncIterator[str]:
        with service.bus.subscribe(relevant) as subscription:
            last = ""
            while True:
                live = await live_public(service, row)
                text = live.model_dump_json()
                if text != last:
                    last = text
                    yield f"event: live\ndata: {text}\n\n"
                if live.status not in ACTIVE_STATUSES:
                    return
                if await request.is_disconnected():
                    return
                message = await subscription.get(timeout=heartbeat_s)
                if message is None:
                    yield f": heartbeat {json.dumps(service.clock.now().isoformat())}\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )
