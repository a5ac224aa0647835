"""The TV channel (Minato): the remote-control page at ``/tv`` and its API under ``/v1/tv``.

Every ``/v1/tv`` call except login and pairing carries the TV's bearer token (``nr_t_...``)
and sees only its own household's trips. Bookings go through the same
:class:`api.service.DispatchService` (and the same Dispatcher) as app bookings, with
``channel=tv``; a household whose home lies in a door-to-door zone is picked up at the road
node nearest its home point (``door_to_door=True``), every other household at a virtual stop
within walking distance.

Times on the TV are local ``HH:MM`` strings of a service day: the page offers "arrive by"
steps of ``STEP_MINUTES`` for today and tomorrow. When no car can make a time, the answer
lists the nearest earlier and later steps that have offers (``alternatives``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlmodel import Session, col, select

from api.auth import Principal, hash_token
from api.deps import ServiceDep, SessionDep
from api.households import (
    booking_ids,
    household_for_token,
    household_principal,
    login_with_pin,
    new_tv_session,
    pair_with_code,
)
from api.schemas import ErrorPublic
from api.service import ACTIVE_STATUSES, DispatchService, Problem, QuoteInput, body_hash
from api.storage.households import Household, HouseholdBooking, TvSession
from api.storage.models import Booking, IdempotencyRecord, NamedPlace, VehicleRow
from api.timeutil import format_time_of_day, parse_time_of_day
from api.zones import ServiceZone, ZoneKind, zone_of, zones_for
from dispatch.model import CancelledBy, Channel, Offer, RejectionReason
from dispatch.model import Request as CoreRequest
from routing.types import LatLon

__all__ = ["page_router", "router"]

router = APIRouter(prefix="/v1/tv", tags=["tv"])
page_router = APIRouter(tags=["tv"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STEP_MINUTES = 15
MAX_RIDERS = 4
LEAD_MINUTES = 30
ALTERNATIVE_STEPS = 8
MAX_ALTERNATIVES = 3
DEFAULT_SERVICE_HOURS = (7 * 3600, 19 * 3600)
NO_CAR_REASONS = frozenset(
    {
        RejectionReason.NO_VEHICLE_IN_TIME.value,
        RejectionReason.SHIFT_END.value,
    }
)
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorPublic} for code in (401, 403, 404, 409, 410, 422, 429)
}
MESSAGES = {
    "outside_service_area": "this destination is outside the service area; call the office",
    "no_vehicle_in_time": "no car can make this time; pick one of the other times",
    "shift_end": "the cars have finished for that time; pick an earlier time",
    "capacity": "no car has room for this party; call the office",
    "no_vehicles": "no car is running that day; call the office",
    "in_the_past": "this time has already passed; pick a later time",
    "too_far_ahead": "this day is not open for booking yet",
    "same_origin_and_destination": "you are already at this destination",
    "no_stop_within_walk": "no stop is near your home; call the office",
}


# --- schemas ---------------------------------------------------------------------------------
_strict = ConfigDict(extra="forbid")


def _digits(value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise ValueError("only the digits 0-9 are allowed")
    return value


class TvLogin(BaseModel):
    """Household number and PIN, as typed with the remote's digit keys."""

    model_config = _strict
    number: int = Field(ge=1, le=99_999_999)
    pin: str = Field(min_length=4, max_length=6)

    _check_pin = field_validator("pin")(_digits)


class TvPair(BaseModel):
    """A one-time pairing code (10 digits; a dash is ignored)."""

    model_config = _strict
    code: str = Field(min_length=10, max_length=11, pattern=r"^[0-9]{5}-?[0-9]{5}$")


class TvHouseholdPublic(BaseModel):
    """What the TV shows about its household."""

    number: int
    display_name: str
    language: str
    wheelchair: bool
    door_to_door: bool
    zone: str | None = None
    zone_ja: str | None = None


class TvSessionPublic(BaseModel):
    """A TV's bearer token (``device`` tokens do not expire; keep them on the TV)."""

    token: str
    kind: Literal["pin", "device"]
    expires_at: dt.datetime | None
    household: TvHouseholdPublic


class TvPreset(BaseModel):
    """A numbered destination of the area."""

    number: int
    place_id: str
    name: str
    name_ja: str | None
    kind: str


class TvDay(BaseModel):
    """A day the TV may book and its first and last "arrive by" step (None: no more today)."""

    date: dt.date
    label: Literal["today", "tomorrow"]
    first: str | None
    last: str | None


class TvOptions(BaseModel):
    """Everything the page needs to build its screens."""

    now: dt.datetime
    phone: str
    presets: list[TvPreset]
    days: list[TvDay]
    step_minutes: int
    max_riders: int


class TvTrip(BaseModel):
    """A trip as chosen on the TV: preset number, day, "arrive by" step, riders."""

    model_config = _strict
    preset: int = Field(ge=1, le=99)
    date: dt.date
    arrive_by: str = Field(min_length=4, max_length=5, description="local time HH:MM")
    riders: int = Field(default=1, ge=1, le=MAX_RIDERS)

    @field_validator("arrive_by")
    @classmethod
    def _step(cls, value: str) -> str:
        seconds = parse_time_of_day(value)
        if seconds % (STEP_MINUTES * 60) or seconds >= 86400:
            raise ValueError(f"arrive_by must be a {STEP_MINUTES}-minute step 00:00..23:45")
        return value


class TvOfferPublic(BaseModel):
    """One offer; book it with ``POST /v1/tv/bookings {offer_id}``."""

    offer_id: str
    date: dt.date
    arrive_by: str
    pickup_from: str
    pickup_to: str
    expected_arrival: str
    door_to_door: bool
    pickup_name: str
    destination: str
    destination_ja: str | None
    riders: int


class TvRejection(BaseModel):
    """Why there is no car: ``reason`` for the page, ``message`` for people."""

    reason: str
    message: str


class TvQuotePublic(BaseModel):
    """The best offer, or a rejection with the nearest times that have a car."""

    offer: TvOfferPublic | None
    rejection: TvRejection | None = None
    alternatives: list[TvOfferPublic] = []


class TvBookingCreate(BaseModel):
    """Book a quoted offer (``offer_id``) or, in one step, the best offer of ``trip``."""

    model_config = _strict
    offer_id: str | None = Field(default=None, min_length=1, max_length=64)
    trip: TvTrip | None = None

    @model_validator(mode="after")
    def _one(self) -> TvBookingCreate:
        if (self.offer_id is None) == (self.trip is None):
            raise ValueError("give exactly one of offer_id and trip")
        return self


class TvBookingPublic(BaseModel):
    """A trip of the household, as the TV shows it. ``id`` is the booking number."""

    id: str
    status: str
    date: dt.date
    arrive_by: str
    pickup_from: str
    pickup_to: str
    door_to_door: bool
    pickup_name: str
    destination: str
    destination_ja: str | None
    riders: int
    phone: str


# --- helpers ---------------------------------------------------------------------------------
_bearer = HTTPBearer(auto_error=False, description="The TV's token from /v1/tv/login or /pair")


def _household(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Household:
    if credentials is None:
        raise Problem(401, "log in on the TV first (household number and PIN)", reason="no_token")
    return household_for_token(session, credentials.credentials)


HouseholdDep = Annotated[Household, Depends(_household)]


def _principal(household: Household) -> Principal:
    return household_principal(household.id)


def _zones(request: Request, service: DispatchService) -> tuple[ServiceZone, ...]:
    cached: tuple[ServiceZone, ...] | None = getattr(request.app.state, "tv_zones", None)
    if cached is None:
        settings = service.settings
        cached = zones_for(
            zones_file=settings.zones_file,
            graph=service.bundle.graph,
            synthetic=settings.osm is None and settings.place is None,
        )
        request.app.state.tv_zones = cached
    return cached


def _zone(request: Request, service: DispatchService, household: Household) -> ServiceZone | None:
    return zone_of(_zones(request, service), LatLon(household.home_lat, household.home_lon))


def _household_public(
    request: Request, service: DispatchService, household: Household
) -> TvHouseholdPublic:
    zone = _zone(request, service, household)
    return TvHouseholdPublic(
        number=household.number,
        display_name=household.display_name,
        language=household.language,
        wheelchair=household.wheelchair,
        door_to_door=zone is not None and zone.kind is ZoneKind.DOOR_TO_DOOR,
        zone=zone.name if zone else None,
        zone_ja=zone.name_ja if zone else None,
    )


def _presets(session: Session, service: DispatchService) -> list[tuple[int, NamedPlace]]:
    ids = [item.strip() for item in service.settings.tv_presets.split(",") if item.strip()]
    presets: list[tuple[int, NamedPlace]] = []
    for place_id in ids:
        place = session.get(NamedPlace, place_id)
        if place is not None:
            presets.append((len(presets) + 1, place))
    return presets


def _hhmm(seconds: int, *, up: bool = False) -> str:
    minutes = math.ceil(seconds / 60) if up else seconds // 60
    return format_time_of_day(minutes * 60)


def _service_hours(session: Session) -> tuple[int, int]:
    rows = session.exec(select(VehicleRow).where(col(VehicleRow.retired_at).is_(None))).all()
    if not rows:
        return DEFAULT_SERVICE_HOURS
    return min(r.shift_start_s for r in rows), max(r.shift_end_s for r in rows)


def _round_up(seconds: int, step: int) -> int:
    return -(-seconds // step) * step


def _days(session: Session, service: DispatchService) -> list[TvDay]:
    step = STEP_MINUTES * 60
    start, end = _service_hours(session)
    first_any = _round_up(start + LEAD_MINUTES * 60, step)
    last_any = min(end - end % step, 86400 - step)
    today = service.clock.today()
    days = []
    for offset, label in enumerate(("today", "tomorrow")):
        day = today + dt.timedelta(days=offset)
        if day not in service.open_days():
            continue
        first = first_any
        if offset == 0:
            first = max(first, _round_up(service.clock.seconds_now(day) + LEAD_MINUTES * 60, step))
        usable = first <= last_any
        days.append(
            TvDay(
                date=day,
                label=label,  # type: ignore[arg-type]
                first=format_time_of_day(first) if usable else None,
                last=format_time_of_day(last_any) if usable else None,
            )
        )
    return days


def _offer_public(
    offer: Offer, offer_id: str, day: dt.date, place: NamedPlace, door: bool, riders: int
) -> TvOfferPublic:
    arrive_by = offer.latest_arrival
    return TvOfferPublic(
        offer_id=offer_id,
        date=day,
        arrive_by=_hhmm(arrive_by),
        pickup_from=_hhmm(offer.pickup_earliest),
        pickup_to=_hhmm(offer.pickup_latest, up=True),
        expected_arrival=_hhmm(offer.expected_arrival, up=True),
        door_to_door=door,
        pickup_name=offer.pickup.name,
        destination=place.name,
        destination_ja=place.name_ja,
        riders=riders,
    )


async def _quote_once(
    service: DispatchService,
    household: Household,
    place: NamedPlace,
    day: dt.date,
    seconds: int,
    riders: int,
    door: bool,
) -> tuple[TvOfferPublic | None, str | None]:
    request = CoreRequest(
        id=service.new_request_id(),
        origin=LatLon(household.home_lat, household.home_lon),
        destination=LatLon(place.lat, place.lon),
        arrive_by=seconds,
        passengers=riders,
        wheelchairs=1 if household.wheelchair else 0,
        channel=Channel.TV,
        rider_id=household.id,
        door_to_door=door,
    )
    quote = QuoteInput(day=day, request=request, destination_place_id=place.id)
    result, offer_ids = await service.quote(quote, _principal(household))
    if not result.offers:
        reason = result.rejection.value if result.rejection else "no_vehicle_in_time"
        return None, reason
    offer = result.offers[0]
    return _offer_public(offer, offer_ids[0], day, place, door, riders), None


async def _quote_trip(
    request: Request,
    service: DispatchService,
    session: Session,
    household: Household,
    trip: TvTrip,
) -> TvQuotePublic:
    presets = dict(_presets(session, service))
    place = presets.get(trip.preset)
    if place is None:
        raise Problem(422, f"destination {trip.preset} does not exist; choose 1 to {len(presets)}")
    seconds = parse_time_of_day(trip.arrive_by)
    if service.clock.to_datetime(trip.date, seconds) <= service.clock.now():
        raise Problem(422, MESSAGES["in_the_past"], reason="in_the_past")
    if trip.date not in service.open_days():
        raise Problem(422, MESSAGES["too_far_ahead"], reason="too_far_ahead")
    zone = _zone(request, service, household)
    door = zone is not None and zone.kind is ZoneKind.DOOR_TO_DOOR
    offer, reason = await _quote_once(
        service, household, place, trip.date, seconds, trip.riders, door
    )
    if offer is not None:
        return TvQuotePublic(offer=offer)
    assert reason is not None
    rejection = TvRejection(reason=reason, message=MESSAGES.get(reason, reason))
    alternatives: list[TvOfferPublic] = []
    if reason in NO_CAR_REASONS:  # another time can help; a too small car or none cannot
        alternatives = await _alternatives(
            service, household, place, trip.date, seconds, trip.riders, door
        )
    return TvQuotePublic(offer=None, rejection=rejection, alternatives=alternatives)


async def _alternatives(
    service: DispatchService,
    household: Household,
    place: NamedPlace,
    day: dt.date,
    seconds: int,
    riders: int,
    door: bool,
) -> list[TvOfferPublic]:
    """The nearest "arrive by" steps of the same day (earlier and later) that have an offer."""
    step = STEP_MINUTES * 60
    now = service.clock.seconds_now(day) + LEAD_MINUTES * 60
    found: list[tuple[int, TvOfferPublic]] = []
    for k in range(1, ALTERNATIVE_STEPS + 1):
        for candidate in (seconds - k * step, seconds + k * step):
            if candidate <= now or not 0 <= candidate < 86400:
                continue
            offer, _ = await _quote_once(service, household, place, day, candidate, riders, door)
            if offer is not None:
                found.append((candidate, offer))
        if len(found) >= MAX_ALTERNATIVES:
            break
    found.sort(key=lambda item: (abs(item[0] - seconds), item[0]))
    return [offer for _, offer in sorted(found[:MAX_ALTERNATIVES], key=lambda item: item[0])]


def _booking_public(
    session: Session, service: DispatchService, row: Booking, door: bool
) -> TvBookingPublic:
    place = session.get(NamedPlace, row.destination_place_id) if row.destination_place_id else None
    return TvBookingPublic(
        id=row.id,
        status=row.status,
        date=row.service_day,
        arrive_by=_hhmm(row.latest_arrival_s),
        pickup_from=_hhmm(row.pickup_earliest_s),
        pickup_to=_hhmm(row.pickup_latest_s, up=True),
        door_to_door=door or row.pickup_stop_id.startswith("door:"),
        pickup_name=row.pickup_name,
        destination=place.name if place else row.dropoff_name,
        destination_ja=place.name_ja if place else None,
        riders=row.passengers,
        phone=service.settings.service_phone,
    )


def _recover_links(session: Session, household: Household) -> None:
    """Link bookings whose idempotency record names this household but that have no link.

    The link row is written right after the booking's own transaction; if the process died in
    between, the record (committed with the booking) still says whose booking it is.
    """
    records = session.exec(
        select(IdempotencyRecord).where(IdempotencyRecord.principal == _principal(household).key)
    ).all()
    if not records:
        return
    linked = set(booking_ids(session, household.id))
    added = False
    for record in records:
        try:
            booking_id = str(json.loads(record.body)["id"])
        except (ValueError, KeyError, TypeError):
            continue
        if booking_id in linked or session.get(Booking, booking_id) is None:
            continue
        if session.get(HouseholdBooking, booking_id) is None:
            session.add(HouseholdBooking(booking_id=booking_id, household_id=household.id))
            added = True
    if added:
        session.commit()


def _own_booking(session: Session, household: Household, booking_id: str) -> Booking:
    usable = len(booking_id) <= 32 and booking_id.isprintable()
    link = session.get(HouseholdBooking, booking_id) if usable else None
    row = session.get(Booking, booking_id) if link is not None else None
    if link is None or row is None or link.household_id != household.id:
        raise Problem(
            404,
            "this trip is not one of this household's trips; nothing was changed",
            reason="not_your_trip",
        )
    return row


# --- the page --------------------------------------------------------------------------------
@page_router.get("/tv")
def tv_page() -> FileResponse:
    """The remote-control booking page (1920x1080)."""
    return FileResponse(STATIC_DIR / "tv.html", media_type="text/html; charset=utf-8")


@page_router.get("/tv/{name}")
def tv_asset(name: Literal["tv.js", "tv.css"]) -> FileResponse:
    """The page's script and style sheet."""
    media = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(STATIC_DIR / name, media_type=f"{media}; charset=utf-8")


# --- the API ---------------------------------------------------------------------------------
@router.post("/login", response_model=TvSessionPublic, responses=ERRORS)
def login(
    body: TvLogin, request: Request, session: SessionDep, service: ServiceDep
) -> TvSessionPublic:
    """Log in with the household number and PIN; the token lasts 12 hours."""
    household = login_with_pin(session, body.number, body.pin)
    token, row = new_tv_session(session, household, kind="pin")
    return TvSessionPublic(
        token=token,
        kind="pin",
        expires_at=row.expires_at,
        household=_household_public(request, service, household),
    )


@router.post("/pair", response_model=TvSessionPublic, responses=ERRORS)
def pair(
    body: TvPair, request: Request, session: SessionDep, service: ServiceDep
) -> TvSessionPublic:
    """Pair this TV once with the household's pairing code; the device token does not expire."""
    household = pair_with_code(session, body.code)
    token, _ = new_tv_session(session, household, kind="device")
    return TvSessionPublic(
        token=token,
        kind="device",
        expires_at=None,
        household=_household_public(request, service, household),
    )


@router.get("/me", response_model=TvHouseholdPublic, responses=ERRORS)
def me(household: HouseholdDep, request: Request, service: ServiceDep) -> TvHouseholdPublic:
    """The logged-in household."""
    return _household_public(request, service, household)


@router.get("/options", response_model=TvOptions, responses=ERRORS)
def options(household: HouseholdDep, session: SessionDep, service: ServiceDep) -> TvOptions:
    """Presets, bookable days with their first and last step, the phone number."""
    del household  # only logged-in TVs
    return TvOptions(
        now=service.clock.now(),
        phone=service.settings.service_phone,
        presets=[
            TvPreset(number=number, place_id=p.id, name=p.name, name_ja=p.name_ja, kind=p.kind)
            for number, p in _presets(session, service)
        ],
        days=_days(session, service),
        step_minutes=STEP_MINUTES,
        max_riders=MAX_RIDERS,
    )


@router.post("/quote", response_model=TvQuotePublic, responses=ERRORS)
async def quote(
    body: TvTrip,
    household: HouseholdDep,
    request: Request,
    session: SessionDep,
    service: ServiceDep,
) -> TvQuotePublic:
    """The best offer for the trip, or why not and the nearest times that have a car."""
    return await _quote_trip(request, service, session, household, body)


@router.post("/bookings", response_model=TvBookingPublic, status_code=201, responses=ERRORS)
async def book(
    body: TvBookingCreate,
    household: HouseholdDep,
    request: Request,
    session: SessionDep,
    service: ServiceDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> TvBookingPublic:
    """Book an offer, or (``trip``) quote and book the best offer in one step.

    With ``trip`` and no car, the answer is 409 with the rejection reason; ask
    ``/v1/tv/quote`` for the alternatives.
    """
    offer_id = body.offer_id
    if body.trip is not None:
        quoted = await _quote_trip(request, service, session, household, body.trip)
        if quoted.offer is None:
            assert quoted.rejection is not None
            raise Problem(409, quoted.rejection.message, reason=quoted.rejection.reason)
        offer_id = quoted.offer.offer_id
    assert offer_id is not None
    # Always book with an idempotency key: its record is committed in the same transaction as
    # the booking and names this household, so a link lost to a crash is recovered later.
    _, row, _ = await service.book(
        offer_id,
        _principal(household),
        idempotency_key=idempotency_key or f"tv-auto-{secrets.token_hex(12)}",
        body_hash=body_hash(body.model_dump(mode="json")),
        contact_name=household.display_name,
    )
    if session.get(HouseholdBooking, row.id) is None:
        session.add(HouseholdBooking(booking_id=row.id, household_id=household.id))
        session.commit()
    zone = _zone(request, service, household)
    door = zone is not None and zone.kind is ZoneKind.DOOR_TO_DOOR
    return _booking_public(session, service, row, door)


@router.get("/bookings", response_model=list[TvBookingPublic], responses=ERRORS)
def upcoming(
    household: HouseholdDep, request: Request, session: SessionDep, service: ServiceDep
) -> list[TvBookingPublic]:
    """The household's trips that are still to come (booked, assigned or onboard), soonest first."""
    _recover_links(session, household)
    ids = booking_ids(session, household.id)
    if not ids:
        return []
    today = service.clock.today()
    rows = session.exec(
        select(Booking).where(
            col(Booking.id).in_(ids),
            col(Booking.status).in_(ACTIVE_STATUSES),
            col(Booking.service_day) >= today,
        )
    ).all()
    rows = sorted(rows, key=lambda r: (r.service_day, r.expected_pickup_s))
    zone = _zone(request, service, household)
    door = zone is not None and zone.kind is ZoneKind.DOOR_TO_DOOR
    return [_booking_public(session, service, row, door) for row in rows]


@router.post("/bookings/{booking_id}/cancel", response_model=TvBookingPublic, responses=ERRORS)
async def cancel(
    booking_id: str,
    household: HouseholdDep,
    request: Request,
    session: SessionDep,
    service: ServiceDep,
) -> TvBookingPublic:
    """Cancel one of the household's trips before pickup (404 for anybody else's)."""
    _recover_links(session, household)
    row = _own_booking(session, household, booking_id)
    updated = await service.cancel(row, CancelledBy.RIDER, "cancelled on the TV")
    zone = _zone(request, service, household)
    door = zone is not None and zone.kind is ZoneKind.DOOR_TO_DOOR
    return _booking_public(session, service, updated, door)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Forget this TV's token (a paired TV must then be paired again)."""
    if credentials is None:
        raise Problem(401, "log in on the TV first", reason="no_token")
    row = session.get(TvSession, hash_token(credentials.credentials))
    if row is not None:
        session.delete(row)
        session.commit()
