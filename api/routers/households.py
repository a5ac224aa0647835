"""Operator API for TV households: ``/v1/operator/households`` create, list, read, update, delete.

Only the operator token may call these. Responses never contain a PIN; a pairing code is shown
once, in the answer that created it.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import delete, update
from sqlmodel import col, select

from api.auth import OperatorDep
from api.deps import ServiceDep, SessionDep
from api.households import (
    HouseholdCreate,
    HouseholdCreated,
    HouseholdPublic,
    HouseholdUpdate,
    booking_ids,
    create_household,
    household_principal,
    household_public,
    update_household,
)
from api.schemas import ErrorPublic
from api.service import ACTIVE_STATUSES, ANONYMOUS_BOOKING, Problem
from api.storage.households import Household, HouseholdBooking, TvSession
from api.storage.models import Booking, IdempotencyRecord
from dispatch.model import CancelledBy
from routing.types import LatLon

__all__ = ["router"]

router = APIRouter(prefix="/v1/operator/households", tags=["operator", "tv"])

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 422)
}


def _load(session: SessionDep, household_id: str) -> Household:
    usable = len(household_id) <= 32 and household_id.isprintable()
    row = session.get(Household, household_id) if usable else None
    if row is None:
        raise Problem(
            404, f"no household {household_id}; list them with GET /v1/operator/households"
        )
    return row


@router.post("", response_model=HouseholdCreated, status_code=201, responses=ERRORS)
def add_household(
    body: HouseholdCreate, session: SessionDep, service: ServiceDep, _operator: OperatorDep
) -> HouseholdCreated:
    """Register a household (with its consent). The pairing code, if asked for, is shown once."""
    in_area = service.bundle.area.contains(LatLon(body.home.lat, body.home.lon))
    return create_household(session, body, home_in_area=in_area)


@router.get("", response_model=list[HouseholdPublic], responses=ERRORS)
def list_households(
    session: SessionDep,
    _operator: OperatorDep,
    q: str | None = Query(default=None, max_length=100, description="part of the name"),
) -> list[HouseholdPublic]:
    """Every household, by number; ``q`` filters by a part of the display name."""
    statement = select(Household).order_by(col(Household.number))
    if q:
        statement = statement.where(col(Household.display_name).ilike(f"%{q}%"))
    return [household_public(row) for row in session.exec(statement)]


@router.get("/{household_id}", response_model=HouseholdPublic, responses=ERRORS)
def read_household(
    household_id: str, session: SessionDep, _operator: OperatorDep
) -> HouseholdPublic:
    """One household."""
    return household_public(_load(session, household_id))


@router.patch("/{household_id}", response_model=HouseholdCreated, responses=ERRORS)
def change_household(
    household_id: str,
    body: HouseholdUpdate,
    session: SessionDep,
    service: ServiceDep,
    _operator: OperatorDep,
) -> HouseholdCreated:
    """Change fields; ``new_pairing_code: true`` issues a code and unpairs the household's TVs."""
    row = _load(session, household_id)
    in_area = body.home is None or service.bundle.area.contains(
        LatLon(body.home.lat, body.home.lon)
    )
    return update_household(session, row, body, home_in_area=in_area)


@router.delete("/{household_id}", status_code=204, responses=ERRORS)
async def delete_household(
    household_id: str, session: SessionDep, service: ServiceDep, _operator: OperatorDep
) -> Response:
    """Cancel the household's upcoming trips, log out its TVs and delete it.

    Its bookings stay for the statistics, anonymised (no name, no home point, no link).
    Refused with 409 while a trip is onboard.
    """
    row = _load(session, household_id)
    for booking_id in booking_ids(session, row.id):
        booking = session.get(Booking, booking_id)
        if booking is None or booking.status not in ACTIVE_STATUSES:
            continue
        if booking.status == "onboard":
            raise Problem(409, f"trip {booking.id} is under way; delete the household after it")
        await service.cancel(booking, CancelledBy.CLIENT, "household deleted")
    session.expire_all()
    # Past trips stay for the statistics, without the household's name and home point.
    ids = booking_ids(session, row.id)
    if ids:
        session.execute(update(Booking).where(col(Booking.id).in_(ids)).values(**ANONYMOUS_BOOKING))
    for link in session.exec(
        select(HouseholdBooking).where(HouseholdBooking.household_id == row.id)
    ):
        session.delete(link)
    session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.principal) == household_principal(row.id).key
        )
    )
    for tv in session.exec(select(TvSession).where(TvSession.household_id == row.id)):
        session.delete(tv)
    session.delete(row)
    session.commit()
    return Response(status_code=204)
