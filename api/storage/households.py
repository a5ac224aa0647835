"""Tables of the TV channel: households, their TV sessions and which bookings are theirs.

A household is registered by an operator (``api.households``) with its consent: a display
name, a home point (the door-to-door pickup point in Minato), a PIN (stored as a salted scrypt
hash) and/or a one-time device pairing code (stored as SHA-256), a preferred language and
wheelchair needs. A TV logs in with the household number and PIN, or pairs once with the code;
either way it receives a bearer token whose SHA-256 is a ``TvSession`` row.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from api.storage.models import utc_now

__all__ = ["Household", "HouseholdBooking", "TvSession"]


class Household(SQLModel, table=True):
    """A household that books from its TV. ``number`` is what the TV login asks for."""

    __tablename__ = "household"
    id: str = Field(primary_key=True, max_length=32)
    number: int = Field(index=True, unique=True)
    display_name: str = Field(max_length=100)
    home_lat: float
    home_lon: float
    language: str = Field(default="ja", max_length=8)
    wheelchair: bool = False
    consent: bool = False
    consent_at: dt.datetime | None = None
    pin_hash: str | None = Field(default=None, max_length=200)
    pairing_code_hash: str | None = Field(default=None, max_length=64, index=True, unique=True)
    failed_logins: int = 0
    locked_until: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utc_now)
    updated_at: dt.datetime = Field(default_factory=utc_now)


class TvSession(SQLModel, table=True):
    """A TV's bearer token (only its SHA-256). ``kind`` is ``pin`` (expires) or ``device``."""

    __tablename__ = "tv_session"
    token_hash: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(
        foreign_key="household.id", ondelete="CASCADE", index=True, max_length=32
    )
    kind: str = Field(max_length=16)
    created_at: dt.datetime = Field(default_factory=utc_now)
    expires_at: dt.datetime | None = None


class HouseholdBooking(SQLModel, table=True):
    """Which household a booking belongs to (the booking row itself has no rider)."""

    __tablename__ = "household_booking"
    booking_id: str = Field(
        primary_key=True, foreign_key="booking.id", ondelete="CASCADE", max_length=32
    )
    household_id: str = Field(
        foreign_key="household.id", ondelete="CASCADE", index=True, max_length=32
    )
    created_at: dt.datetime = Field(default_factory=utc_now)
