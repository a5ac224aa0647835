"""Request and response bodies (pydantic). ``*Create`` come in, ``*Public`` go out.

Vocabulary after TCRP TDS: a quote answers with offers (proposals) holding a ``pickup_window``
and a ``latest_arrival`` (the promise for ``arrive_by``, TDS ``appointmentTime``). Every
datetime going out is ISO 8601 with the service time zone's offset; every datetime coming in
must carry an offset (a naive one is refused with 422 saying to add it).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.timeutil import parse_time_of_day, require_aware

__all__ = [
    "BookingCreate",
    "BookingPublic",
    "CancelCreate",
    "ConsentPublic",
    "ConsentUpdate",
    "ErrorPublic",
    "ExportPublic",
    "LatLonIn",
    "LivePublic",
    "OfferPublic",
    "OperatorBookingCreate",
    "PickupWindow",
    "PlacePublic",
    "PlaceRef",
    "PlanPublic",
    "PlannedStopPublic",
    "ProfilePublic",
    "ProfileUpdate",
    "QuoteCreate",
    "QuotePublic",
    "RejectionPublic",
    "RiderCreate",
    "RiderCreated",
    "SavedPlaceCreate",
    "SavedPlacePublic",
    "StopPublic",
    "VehicleCreate",
    "VehicleCreated",
    "VehiclePositionPublic",
    "VehiclePublic",
]

_strict = ConfigDict(extra="forbid")


class ErrorPublic(BaseModel):
    """Every 4xx body: ``detail`` for people, ``reason`` for programs (when there is one)."""

    detail: str
    reason: str | None = None


class LatLonIn(BaseModel):
    """A WGS84 point in degrees."""

    model_config = _strict
    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, degrees")


class PlaceRef(BaseModel):
    """A named place of the service area (see ``GET /v1/places``)."""

    model_config = _strict
    place_id: str = Field(min_length=1, max_length=64)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        aware = require_aware(value)
    except ValueError as error:
        raise ValueError(str(error)) from None
    if not 1971 <= aware.year <= 9998:
        raise ValueError(f"{aware.isoformat()} is out of range; give a date within the next days")
    return aware


class QuoteCreate(BaseModel):
    """A trip request (TDS trip request). Exactly one of ``arrive_by`` and ``depart_at``."""

    model_config = _strict
    origin: LatLonIn
    destination: LatLonIn | PlaceRef
    arrive_by: dt.datetime | None = Field(
        default=None, description="latest arrival, ISO 8601 with offset (TDS appointmentTime)"
    )
    depart_at: dt.datetime | None = Field(
        default=None, description="earliest departure, ISO 8601 with offset"
    )
    passengers: int = Field(default=1, ge=1, le=20)
    wheelchair: bool = Field(default=False, description="one of the passengers uses a wheelchair")

    _check_aware = field_validator("arrive_by", "depart_at")(_aware)

    @model_validator(mode="after")
    def _one_time(self) -> QuoteCreate:
        if (self.arrive_by is None) == (self.depart_at is None):
            raise ValueError("give exactly one of arrive_by and depart_at")
        return self


class StopPublic(BaseModel):
    """A virtual stop and the walk to or from it."""

    stop_id: str
    name: str
    lat: float
    lon: float
    walk_m: int = Field(description="walking distance, metres")


class PickupWindow(BaseModel):
    """The promised pickup window: the bus arrives between ``earliest`` and ``latest``."""

    earliest: dt.datetime
    latest: dt.datetime


class OfferPublic(BaseModel):
    """One proposal; book it with ``POST /v1/bookings {offer_id}`` before ``expires_at``."""

    offer_id: str
    kind: str
    pickup: StopPublic
    dropoff: StopPublic
    pickup_window: PickupWindow
    latest_arrival: dt.datetime
    expected_pickup: dt.datetime
    expected_arrival: dt.datetime
    expires_at: dt.datetime


class RejectionPublic(BaseModel):
    """Why there is no offer."""

    reason: str
    message: str


class QuotePublic(BaseModel):
    """Offers (best first), or a rejection."""

    request_id: str
    offers: list[OfferPublic]
    rejection: RejectionPublic | None = None


class BookingCreate(BaseModel):
    """Accept an offer."""

    model_config = _strict
    offer_id: str = Field(min_length=1, max_length=64)


class OperatorBookingCreate(BookingCreate):
    """Accept an offer for a phone caller (the operator quoted with its own token)."""

    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)


class CancelCreate(BaseModel):
    """Optional reason for a cancellation."""

    model_config = _strict
    reason: str = Field(default="", max_length=500)


class BookingPublic(BaseModel):
    """A booking (TDS confirmed trip). ``id`` is also the booking number."""

    id: str
    status: str
    channel: str
    service_day: dt.date
    passengers: int
    wheelchairs: int
    pickup: StopPublic
    dropoff: StopPublic
    pickup_window: PickupWindow
    latest_arrival: dt.datetime
    expected_pickup: dt.datetime
    expected_arrival: dt.datetime
    destination_place_id: str | None = None
    vehicle_id: str | None = None
    created_at: dt.datetime
    cancelled_by: str | None = None


class VehiclePositionPublic(BaseModel):
    """Where the vehicle is (its last known road node) and since when."""

    lat: float
    lon: float
    at: dt.datetime


class LivePublic(BaseModel):
    """Live status of a booking."""

    booking_id: str
    status: str
    vehicle_id: str | None = None
    vehicle_position: VehiclePositionPublic | None = None
    pickup_eta: dt.datetime | None = None
    dropoff_eta: dt.datetime | None = None
    stops_before_pickup: int | None = None


class RiderCreate(BaseModel):
    """Register a rider. Nothing personal is needed; ``language`` only picks message texts."""

    model_config = _strict
    language: Literal["ja", "en"] | None = None


class RiderCreated(BaseModel):
    """The new rider and its bearer token (shown once; we keep only a hash)."""

    id: str
    token: str
    consent_personal_data: bool


class ConsentUpdate(BaseModel):
    """Opt in to (or out of) keeping personal data beyond the booking itself."""

    model_config = _strict
    personal_data: bool


class ConsentPublic(BaseModel):
    """The rider's consent state."""

    personal_data: bool
    consent_at: dt.datetime | None = None


class ProfileUpdate(BaseModel):
    """Personal data (needs consent)."""

    model_config = _strict
    display_name: str | None = Field(default=None, max_length=100)
    home: LatLonIn | None = None


class ProfilePublic(BaseModel):
    """What we hold about the rider."""

    id: str
    created_at: dt.datetime
    language: str | None
    consent: ConsentPublic
    display_name: str | None = None
    home: LatLonIn | None = None


class SavedPlaceCreate(BaseModel):
    """A place the rider wants to keep (needs consent)."""

    model_config = _strict
    name: str = Field(min_length=1, max_length=100)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SavedPlacePublic(SavedPlaceCreate):
    """A saved place."""

    id: int


class ExportPublic(BaseModel):
    """Everything held about the rider."""

    profile: ProfilePublic
    saved_places: list[SavedPlacePublic]
    bookings: list[BookingPublic]


class PlacePublic(BaseModel):
    """A named place of the service area."""

    id: str
    name: str
    name_ja: str | None = None
    kind: str
    lat: float
    lon: float


class VehicleCreate(BaseModel):
    """A vehicle whose shift repeats every service day (local times of day)."""

    model_config = _strict
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    seats: int = Field(ge=1, le=100)
    wheelchair_places: int = Field(default=0, ge=0, le=20)
    depot: LatLonIn
    shift_start: str = Field(description="local time of day HH:MM", examples=["07:00"])
    shift_end: str = Field(description="local time of day HH:MM, at most 24:00", examples=["19:00"])

    @field_validator("shift_start", "shift_end")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        parse_time_of_day(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> VehicleCreate:
        if parse_time_of_day(self.shift_end) <= parse_time_of_day(self.shift_start):
            raise ValueError("shift_end must be after shift_start (shifts end by 24:00)")
        return self


class VehiclePublic(BaseModel):
    """A vehicle."""

    id: str
    seats: int
    wheelchair_places: int
    depot: LatLonIn
    shift_start: str
    shift_end: str
    retired: bool
    created_at: dt.datetime


class VehicleCreated(VehiclePublic):
    """A new vehicle and its driver token (shown once; we keep only a hash)."""

    driver_token: str


class PlannedStopPublic(BaseModel):
    """One stop of a vehicle plan."""

    request_id: str
    kind: str
    stop_id: str
    name: str
    lat: float
    lon: float
    earliest: dt.datetime
    latest: dt.datetime
    arrival: dt.datetime
    departure: dt.datetime
    passengers: int


class PlanPublic(BaseModel):
    """A vehicle's plan for one service day."""

    vehicle_id: str
    service_day: dt.date
    version: int
    locked: bool
    onboard: list[str]
    stops: list[PlannedStopPublic]
