"""Bookings: ``POST /v1/bookings`` (Idempotency-Key), read, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Response
from sqlmodel import Session

from api.auth import Principal, PrincipalDep, RiderDep, Role
from api.deps import ServiceDep, SessionDep
from api.present import booking_public
from api.schemas import BookingCreate, BookingPublic, CancelCreate, ErrorPublic
from api.service import DispatchService, Problem, body_hash
from api.storage.models import Booking
from dispatch.model import CancelledBy

__all__ = ["load_booking", "router"]

router = APIRouter(prefix="/v1/bookings", tags=["rider"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retry-safe key: a retry with the same key returns the same booking",
    ),
]
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 410)
}


def load_booking(session: Session, booking_id: str, principal: Principal) -> Booking:
    """The booking if the caller may see it: its rider or the operator (404 otherwise)."""
    if principal.role is Role.VEHICLE:
        raise Problem(403, "vehicle tokens cannot read bookings here; use the driver websocket")
    row = session.get(Booking, booking_id) if len(booking_id) <= 32 else None
    if row is None or (principal.role is Role.RIDER and row.rider_id != principal.id):
        raise Problem(404, f"no booking {booking_id} for this rider; list yours at /v1/me/bookings")
    return row


async def present(service: DispatchService, row: Booking) -> BookingPublic:
    """The public booking with live status and vehicle."""
    live = await service.live_status(row)
    return booking_public(
        row, service.clock, status=live["status"], vehicle_id=live.get("vehicle_id")
    )


@router.post("", response_model=BookingPublic, status_code=201, responses=ERRORS)
async def create_booking(
    body: BookingCreate,
    service: ServiceDep,
    rider: RiderDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BookingPublic:
    """Book an offer. Retrying with the same ``Idempotency-Key`` never books twice."""
    status_code, row, replayed = await service.book(
        body.offer_id,
        rider,
        idempotency_key=idempotency_key,
        body_hash=body_hash(body.model_dump()),
    )
    response.status_code = status_code
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return await present(service, row)


@router.get("/{booking_id}", response_model=BookingPublic, responses=ERRORS)
async def read_booking(
    booking_id: str, service: ServiceDep, session: SessionDep, principal: PrincipalDep
) -> BookingPublic:
    """One of your bookings (the operator sees all)."""
    return await present(service, load_booking(session, booking_id, principal))


@router.post("/{booking_id}/cancel", response_model=BookingPublic, responses=ERRORS)
async def cancel_booking(
    booking_id: str,
    service: ServiceDep,
    session: SessionDep,
    principal: PrincipalDep,
    body: Annotated[CancelCreate | None, Body()] = None,
) -> BookingPublic:
    """Cancel a booking before pickup (rider: own bookings; operator: any, as provider)."""
    row = load_booking(session, booking_id, principal)
    by = CancelledBy.RIDER if principal.role is Role.RIDER else CancelledBy.PROVIDER
    updated = await service.cancel(row, by, body.reason if body else "")
    return booking_public(updated, service.clock)
