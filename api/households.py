"""Household registration for the TV channel: schemas, PINs, pairing codes and TV sessions.

Operators register households (``api.routers.households``, ``noriai households add``). A TV
then logs in either with the household number and its PIN, or once with the household's
pairing code (single use; the TV keeps the long-lived device token it receives).

Secrets are never stored in clear: a PIN is a salted scrypt hash (PINs are short, so a slow
hash), a pairing code and a TV token are SHA-256 (they are long random strings). Five wrong
PINs in a row lock the household's PIN login for ``LOCK_MINUTES``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, func, select

from api.auth import Principal, Role, hash_token
from api.service import Problem
from api.storage.households import Household, HouseholdBooking, TvSession
from api.storage.models import utc_now

__all__ = [
    "LOCK_MINUTES",
    "MAX_FAILED_LOGINS",
    "PIN_SESSION_HOURS",
    "TV_TOKEN_PREFIX",
    "HouseholdCreate",
    "HouseholdCreated",
    "HouseholdPublic",
    "HouseholdUpdate",
    "LatLonBody",
    "booking_ids",
    "create_household",
    "hash_pin",
    "household_for_token",
    "household_principal",
    "household_public",
    "login_with_pin",
    "new_pairing_code",
    "new_tv_session",
    "pair_with_code",
    "update_household",
    "verify_pin",
]

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 10
PIN_SESSION_HOURS = 12
TV_TOKEN_PREFIX = "nr_t_"
FIRST_NUMBER = 1001
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}

_strict = ConfigDict(extra="forbid")


class LatLonBody(BaseModel):
    """A WGS84 point in degrees."""

    model_config = _strict
    lat: float = Field(ge=-90, le=90, description="latitude, degrees")
    lon: float = Field(ge=-180, le=180, description="longitude, degrees")


def _pin(value: str | None) -> str | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and 4 <= len(value) <= 6):
        raise ValueError("pin must be 4 to 6 digits (the TV remote has only digit keys)")
    return value


class HouseholdCreate(BaseModel):
    """Register a household. ``consent`` must be true: we keep its name and home point."""

    model_config = _strict
    display_name: str = Field(min_length=1, max_length=100)
    home: LatLonBody
    number: int | None = Field(
        default=None, ge=1, le=99_999_999, description="household number; next free one if omitted"
    )
    pin: str | None = Field(default=None, description="4-6 digits; stored hashed")
    pairing_code: bool = Field(default=False, description="issue a one-time TV pairing code")
    language: Literal["ja", "en"] = "ja"
    wheelchair: bool = False
    consent: bool = Field(description="the household agreed that we keep these data")

    _check_pin = field_validator("pin")(_pin)

    @field_validator("display_name")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value.strip() or any(ord(ch) < 32 for ch in value):
            raise ValueError("display_name must be visible text without control characters")
        return value.strip()


class HouseholdUpdate(BaseModel):
    """Change some fields; omitted fields stay. ``new_pairing_code`` revokes paired TVs."""

    model_config = _strict
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    home: LatLonBody | None = None
    pin: str | None = None
    remove_pin: bool = False
    new_pairing_code: bool = False
    language: Literal["ja", "en"] | None = None
    wheelchair: bool | None = None
    consent: bool | None = None

    _check_pin = field_validator("pin")(_pin)


class HouseholdPublic(BaseModel):
    """A household as the operator sees it (never a PIN or a code)."""

    id: str
    number: int
    display_name: str
    home: LatLonBody
    language: str
    wheelchair: bool
    consent: bool
    consent_at: dt.datetime | None
    has_pin: bool
    pairing_pending: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime


class HouseholdCreated(HouseholdPublic):
    """The new household; ``pairing_code`` is shown once (only its hash is kept)."""

    pairing_code: str | None = None


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def household_public(row: Household) -> HouseholdPublic:
    """The operator's view of a stored household."""
    return HouseholdPublic(
        id=row.id,
        number=row.number,
        display_name=row.display_name,
        home=LatLonBody(lat=row.home_lat, lon=row.home_lon),
        language=row.language,
        wheelchair=row.wheelchair,
        consent=row.consent,
        consent_at=_aware(row.consent_at),
        has_pin=row.pin_hash is not None,
        pairing_pending=row.pairing_code_hash is not None,
        locked_until=_aware(row.locked_until),
        created_at=_aware(row.created_at) or utc_now(),
    )


# --- secrets ---------------------------------------------------------------------------------
def hash_pin(pin: str) -> str:
    """``scrypt$<salt hex>$<hash hex>`` of a PIN (salted, slow)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("ascii"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        pin.encode("ascii", "replace"), salt=bytes.fromhex(salt_hex), dklen=32, **_SCRYPT
    )
    return hmac.compare_digest(digest.hex(), digest_hex)


def new_pairing_code() -> str:
    """A random 10-digit pairing code, written ``12345-67890`` for the operator to read out."""
    digits = f"{secrets.randbelow(10**10):010d}"
    return f"{digits[:5]}-{digits[5:]}"


def _code_hash(code: str) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hashlib.sha256(f"pairing:{digits}".encode()).hexdigest()


# --- registration ----------------------------------------------------------------------------
def _check_home(home: LatLonBody, in_area: bool) -> None:
    if not in_area:
        raise Problem(
            422,
            f"home point {home.lat},{home.lon} is outside the service area; "
            "check the coordinates (latitude first)",
            reason="outside_service_area",
        )


def create_household(
    session: Session, body: HouseholdCreate, *, home_in_area: bool
) -> HouseholdCreated:
    """Store a new household; 409 when the number is taken, 422 without consent or credential."""
    if not body.consent:
        raise Problem(
            422,
            "record the household's consent first (consent: true, CLI --consent); without it we "
            "cannot keep its name and home point",
            reason="consent_missing",
        )
    if body.pin is None and not body.pairing_code:
        raise Problem(422, "give a pin (4-6 digits) or ask for a pairing code (pairing_code: true)")
    _check_home(body.home, home_in_area)
    number = body.number
    if number is None:
        highest = session.exec(select(func.max(col(Household.number)))).one()
        number = max(FIRST_NUMBER, (highest or 0) + 1)
    elif session.exec(select(Household).where(Household.number == number)).first() is not None:
        raise Problem(409, f"household number {number} is taken; pick another or omit it")
    code = new_pairing_code() if body.pairing_code else None
    now = utc_now()
    row = Household(
        id="H" + secrets.token_hex(6),
        number=number,
        display_name=body.display_name,
        home_lat=body.home.lat,
        home_lon=body.home.lon,
        language=body.language,
        wheelchair=body.wheelchair,
        consent=True,
        consent_at=now,
        pin_hash=hash_pin(body.pin) if body.pin is not None else None,
        pairing_code_hash=_code_hash(code) if code is not None else None,
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return HouseholdCreated(**household_public(row).model_dump(), pairing_code=code)


def update_household(
    session: Session, row: Household, body: HouseholdUpdate, *, home_in_area: bool
) -> HouseholdCreated:
    """Apply an update; withdrawing consent is refused (delete the household instead)."""
    if body.consent is False:
        raise Problem(
            422,
            "a household without consent cannot be kept; delete it with DELETE instead",
            reason="consent_missing",
        )
    if body.home is not None:
        _check_home(body.home, home_in_area)
        row.home_lat, row.home_lon = body.home.lat, body.home.lon
    if body.display_name is not None:
        row.display_name = body.display_name.strip() or row.display_name
    if body.language is not None:
        row.language = body.language
    if body.wheelchair is not None:
        row.wheelchair = body.wheelchair
    if body.remove_pin:
        row.pin_hash = None
    if body.pin is not None:
        row.pin_hash = hash_pin(body.pin)
        row.failed_logins, row.locked_until = 0, None
    code = None
    if body.new_pairing_code:
        code = new_pairing_code()
        row.pairing_code_hash = _code_hash(code)
        for old in session.exec(
            select(TvSession).where(TvSession.household_id == row.id, TvSession.kind == "device")
        ):
            session.delete(old)
    row.updated_at = utc_now()
    session.add(row)
    session.commit()
    session.refresh(row)
    return HouseholdCreated(**household_public(row).model_dump(), pairing_code=code)


def booking_ids(session: Session, household_id: str) -> list[str]:
    """Ids of every booking made from this household's TV."""
    rows = session.exec(
        select(HouseholdBooking.booking_id).where(HouseholdBooking.household_id == household_id)
    )
    return list(rows)


def household_principal(household_id: str) -> Principal:
    """The caller a TV books as.

    A TV books on the household's behalf, as the office does for phone callers: the booking row
    carries no rider, ``household_booking`` links it, and this principal's key (which names the
    household) scopes its offers and idempotency records.
    """
    return Principal(Role.OPERATOR, f"tv-{household_id}")


# --- TV login --------------------------------------------------------------------------------
def new_tv_session(session: Session, household: Household, *, kind: str) -> tuple[str, TvSession]:
    """A fresh TV bearer token for ``household`` (``pin`` sessions expire, ``device`` ones not)."""
    token = TV_TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utc_now() + dt.timedelta(hours=PIN_SESSION_HOURS) if kind == "pin" else None
    row = TvSession(
        token_hash=hash_token(token), household_id=household.id, kind=kind, expires_at=expires
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return token, row


@functools.cache
def _dummy_hash() -> str:
    return hash_pin("0000")


def login_with_pin(session: Session, number: int, pin: str) -> Household:
    """The household when number and PIN match; otherwise a 401/403/429 :class:`Problem`.

    A wrong PIN counts towards the lock; an unknown number gives the same answer as a wrong
    PIN, so numbers cannot be probed.
    """
    now = utc_now()
    row = session.exec(select(Household).where(Household.number == number)).first()
    wrong = Problem(
        401,
        "household number or PIN is wrong; try again or call the office",
        reason="wrong_pin",
    )
    if row is None or row.pin_hash is None:
        verify_pin(pin, _dummy_hash())  # same work as a real check: numbers cannot be probed
        raise wrong
    locked_until = _aware(row.locked_until)
    if locked_until is not None and locked_until > now:
        raise Problem(
            429,
            f"too many wrong PINs; try again after {LOCK_MINUTES} minutes or call the office",
            reason="locked",
        )
    if not verify_pin(pin, row.pin_hash):
        row.failed_logins += 1
        if row.failed_logins >= MAX_FAILED_LOGINS:
            row.failed_logins = 0
            row.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
        session.add(row)
        session.commit()
        raise wrong
    if not row.consent:
        raise Problem(403, "this household has not agreed yet; call the office", reason="consent")
    row.failed_logins, row.locked_until = 0, None
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def pair_with_code(session: Session, code: str) -> Household:
    """The household of a pending pairing code; the code is used up. 401 when unknown."""
    digest = _code_hash(code)
    row = session.exec(select(Household).where(Household.pairing_code_hash == digest)).first()
    if row is None or len("".join(ch for ch in code if ch.isdigit())) != 10:
        raise Problem(
            401,
            "this pairing code is not valid (it works once); ask the office for a new one",
            reason="wrong_code",
        )
    row.pairing_code_hash = None
    row.updated_at = utc_now()
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def household_for_token(session: Session, token: str) -> Household:
    """The household of a TV token; 401 (reason ``session_expired`` or ``unknown_token``)."""
    row = session.get(TvSession, hash_token(token)) if token.startswith(TV_TOKEN_PREFIX) else None
    if row is None:
        raise Problem(401, "please log in again on this TV", reason="unknown_token")
    expires = _aware(row.expires_at)
    if expires is not None and expires <= utc_now():
        session.delete(row)
        session.commit()
        raise Problem(401, "your TV session ended; please log in again", reason="session_expired")
    household = session.get(Household, row.household_id)
    if household is None:
        raise Problem(401, "please log in again on this TV", reason="unknown_token")
    return household
