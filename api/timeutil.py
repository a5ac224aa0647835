"""Datetimes at the edge <-> integer seconds since a service day's local midnight.

The core (``dispatch``) only knows seconds since the service day's midnight. The API keeps one
Dispatcher per service day (see ``api.service``), so a datetime becomes a pair
``(service_day, seconds)`` where ``service_day`` is the local calendar date of the datetime in
the service time zone and ``seconds`` lies in ``0 .. 86399`` (``0 .. 86400 + 3600`` around a
DST change). ``now`` for a day other than today is simply negative (tomorrow) or above 86400
(yesterday): the arithmetic stays exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import ConfigError

__all__ = [
    "NaiveDatetimeError",
    "ServiceClock",
    "format_time_of_day",
    "parse_time_of_day",
    "require_aware",
    "zone",
]


class NaiveDatetimeError(ValueError):
    """A datetime without a UTC offset; the message says how to fix it."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ConfigError`` naming an example when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(
            f"unknown time zone {name!r}; use an IANA name such as Asia/Tokyo or Europe/Vienna"
        ) from error


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class ServiceClock:
    """Converts between aware datetimes and (service day, seconds since its local midnight).

    Attributes
    ----------
    tz : ZoneInfo
        The service time zone (default Asia/Tokyo).
    now_function : callable
        Returns the current aware datetime (injectable for tests).
    """

    tz: ZoneInfo
    now_function: Callable[[], dt.datetime] = field(default=_utc_now)

    def now(self) -> dt.datetime:
        """The current time as an aware datetime in the service time zone."""
        return self.now_function().astimezone(self.tz)

    def today(self) -> dt.date:
        """The current service day (local calendar date)."""
        return self.now().date()

    def midnight(self, day: dt.date) -> dt.datetime:
        """The aware datetime of ``day``'s local midnight."""
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)

    def service_day(self, moment: dt.datetime) -> dt.date:
        """The local calendar date of an aware datetime."""
        return require_aware(moment).astimezone(self.tz).date()

    def seconds(self, day: dt.date, moment: dt.datetime) -> int:
        """Whole seconds from ``day``'s local midnight to ``moment`` (may be negative).

        Elapsed real seconds, so a DST change inside the day is counted exactly. Fractions of
        a second are floored.
        """
        # Aware datetimes sharing one tzinfo subtract as wall clocks; compare in UTC instead.
        delta = require_aware(moment).astimezone(dt.UTC) - self.midnight(day).astimezone(dt.UTC)
        return int(delta.total_seconds() // 1)

    def seconds_now(self, day: dt.date) -> int:
        """``seconds(day, now())``: negative for a future day, above 86400 for a past one."""
        return self.seconds(day, self.now())

    def to_datetime(self, day: dt.date, seconds: int) -> dt.datetime:
        """The aware datetime (service time zone) ``seconds`` after ``day``'s midnight."""
        utc = self.midnight(day).astimezone(dt.UTC) + dt.timedelta(seconds=seconds)
        return utc.astimezone(self.tz)

    def split(self, moment: dt.datetime) -> tuple[dt.date, int]:
        """``(service_day(moment), seconds(service_day, moment))``."""
        day = self.service_day(moment)
        return day, self.seconds(day, moment)


def require_aware(moment: dt.datetime) -> dt.datetime:
    """Return ``moment`` if it has a UTC offset, else raise :class:`NaiveDatetimeError`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{moment.isoformat()} has no UTC offset; add one, for example "
            f"{moment.replace(microsecond=0).isoformat()}+09:00"
        )
    return moment


def parse_time_of_day(text: str) -> int:
    """``"HH:MM"`` or ``"HH:MM:SS"`` (``"24:00"`` allowed) -> seconds since midnight.

    Raises ``ValueError`` with the accepted form when malformed or beyond 24:00.
    """
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"{text!r} is not a time of day HH:MM (for example 07:30 or 24:00)")
    hours, minutes = int(parts[0]), int(parts[1])
    secs = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or secs > 59:
        raise ValueError(f"{text!r}: minutes and seconds must be 00..59")
    total = hours * 3600 + minutes * 60 + secs
    if total > 86400:
        raise ValueError(f"{text!r} is after 24:00; shifts must end by midnight")
    return total


def format_time_of_day(seconds: int) -> str:
    """Seconds since midnight -> ``"HH:MM"`` (or ``"HH:MM:SS"`` when not whole minutes)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
