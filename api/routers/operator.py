"""Operator views and actions: phone bookings, bookings of a day, plans, re-optimize now."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlmodel import col, select

from api.auth import OperatorDep
from api.deps import ServiceDep, SessionDep
from api.present import booking_public, plan_public
from api.routers.bookings import ERRORS, present
from api.schemas import BookingPublic, OperatorBookingCreate, PlanPublic
from api.service import Problem, body_hash
from api.storage.models import Booking

__all__ = ["router"]


def _days(days: list[dt.date]) -> str:
    return f"{days[0].isoformat()} .. {days[-1].isoformat()}"


router = APIRouter(prefix="/v1/operator", tags=["operator"])


@router.post("/bookings", response_model=BookingPublic, status_code=201, responses=ERRORS)
async def book_for_caller(
    body: OperatorBookingCreate,
    service: ServiceDep,
    operator: OperatorDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> BookingPublic:
    """Book an offer for a phone caller (quote first with the operator token: channel phone)."""
    status_code, row, replayed = await service.book(
        body.offer_id,
        operator,
        idempotency_key=idempotency_key,
        body_hash=body_hash(body.model_dump()),
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
    )
    response.status_code = status_code
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return await present(service, row)


@router.get("/bookings", response_model=list[BookingPublic], responses=ERRORS)
def bookings_of_day(
    session: SessionDep,
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> list[BookingPublic]:
    """Every booking of a service day, by pickup time."""
    service_day = day or service.clock.today()
    rows = session.exec(
        select(Booking)
        .where(Booking.service_day == service_day)
        .order_by(col(Booking.pickup_earliest_s), col(Booking.id))
    ).all()
    return [booking_public(row, service.clock) for row in rows]


@router.get("/plans", response_model=list[PlanPublic], responses=ERRORS)
async def plans_of_day(
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> list[PlanPublic]:
    """Every vehicle's plan on a service day."""
    service_day = day or service.clock.today()
    if service_day not in service.open_days():
        raise Problem(
            404, f"day {service_day} is not open; pick one of {_days(service.open_days())}"
        )
    states = await service.plans(service_day)
    return [plan_public(states[v], service_day, service.clock) for v in sorted(states)]


@router.post("/reoptimize", responses=ERRORS)
async def reoptimize_now(
    service: ServiceDep,
    _operator: OperatorDep,
    day: dt.date | None = Query(default=None, description="service day; default today"),
) -> dict[str, object]:
    """Re-optimize a day now (off the event loop); returns the events it caused."""
    service_day = day or service.clock.today()
    if service_day not in service.open_days():
        raise Problem(
            404, f"day {service_day} is not open; pick one of {_days(service.open_days())}"
        )
    events = await service.reoptimize(service_day)
    return {"service_day": service_day.isoformat(), "events": [type(e).__name__ for e in events]}
