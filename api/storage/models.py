"""Tables. Times of trips are stored as (service_day, seconds since its midnight), like the core.

Personal data is kept to what the booking needs unless the rider opted in (see ``api.routers.me``):
``Rider.home_*`` and ``SavedPlace`` rows exist only with consent; bookings of riders without
consent are unlinked and their coordinates dropped once finished and their day is over.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "Booking",
    "DayState",
    "IdempotencyRecord",
    "Meta",
    "NamedPlace",
    "Rider",
    "SavedPlace",
    "VehicleRow",
    "utc_now",
]


def utc_now() -> dt.datetime:
    """The current UTC time (naive UTC is never stored: columns are timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Meta(SQLModel, table=True):
    """Key-value facts about this installation (operator token hash, ...)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class Rider(SQLModel, table=True):
    """A registered rider. Only ``token_hash`` and dates exist without consent."""

    __tablename__ = "rider"
    id: str = Field(primary_key=True, max_length=32)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utc_now)
    consent_personal_data: bool = False
    consent_at: dt.datetime | None = None
    display_name: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=8)
    home_lat: float | None = None
    home_lon: float | None = None


class SavedPlace(SQLModel, table=True):
    """A rider's saved place (kept only with consent)."""

    __tablename__ = "saved_place"
    id: int | None = Field(default=None, primary_key=True)
    rider_id: str = Field(foreign_key="rider.id", ondelete="CASCADE", index=True, max_length=32)
    name: str = Field(max_length=100)
    lat: float
    lon: float
    created_at: dt.datetime = Field(default_factory=utc_now)


class VehicleRow(SQLModel, table=True):
    """A vehicle; its shift repeats every service day (times of day, seconds)."""

    __tablename__ = "vehicle"
    id: str = Field(primary_key=True, max_length=64)
    seats: int
    wheelchair_places: int
    depot_lat: float
    depot_lon: float
    depot_node: int
    shift_start_s: int
    shift_end_s: int
    driver_token_hash: str = Field(index=True, unique=True, max_length=64)
    created_at: dt.datetime = Field(default_factory=utc_now)
    retired_at: dt.datetime | None = None


class Booking(SQLModel, table=True):
    """A confirmed trip. ``id`` is the Dispatcher's request id."""

    __tablename__ = "booking"
    id: str = Field(primary_key=True, max_length=32)
    rider_id: str | None = Field(
        default=None, foreign_key="rider.id", ondelete="SET NULL", index=True, max_length=32
    )
    service_day: dt.date = Field(index=True)
    channel: str = Field(max_length=16)
    offer_id: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=16)
    passengers: int
    wheelchairs: int
    origin_lat: float | None = None
    origin_lon: float | None = None
    destination_lat: float | None = None
    destination_lon: float | None = None
    destination_place_id: str | None = Field(default=None, max_length=64)
    pickup_stop_id: str = Field(max_length=64)
    pickup_name: str = Field(default="", max_length=200)
    pickup_lat: float
    pickup_lon: float
    pickup_walk_m: int
    dropoff_stop_id: str = Field(max_length=64)
    dropoff_name: str = Field(default="", max_length=200)
    dropoff_lat: float
    dropoff_lon: float
    dropoff_walk_m: int
    pickup_earliest_s: int
    pickup_latest_s: int
    latest_arrival_s: int
    expected_pickup_s: int
    expected_arrival_s: int
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime = Field(default_factory=utc_now)
    cancelled_at: dt.datetime | None = None
    cancelled_by: str | None = Field(default=None, max_length=16)
    anonymised: bool = False


class DayState(SQLModel, table=True):
    """The Dispatcher snapshot of one service day, written with every booking change."""

    __tablename__ = "day_state"
    service_day: dt.date = Field(primary_key=True)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = 0
    updated_at: dt.datetime = Field(default_factory=utc_now)


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a POST carrying an ``Idempotency-Key`` (per caller)."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    principal: str = Field(max_length=80)
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utc_now)


class NamedPlace(SQLModel, table=True):
    """A named destination of the service area (station, hospital, city hall, ...)."""

    __tablename__ = "named_place"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    name_ja: str | None = Field(default=None, max_length=200)
    kind: str = Field(default="", max_length=40)
    lat: float
    lon: float
