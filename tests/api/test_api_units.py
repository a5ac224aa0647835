"""Small, hand-checkable tests of the API's edge helpers (no server)."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from api.errors import ConfigError
from api.events import EventBus
from api.service import compact_snapshot
from api.settings import Settings
from api.timeutil import NaiveDatetimeError, ServiceClock, parse_time_of_day
from dispatch.events import Booked, PlanChanged

TOKYO = ZoneInfo("Asia/Tokyo")


def test_tokyo_datetime_becomes_seconds_since_local_midnight() -> None:
    clock = ServiceClock(TOKYO)
    # 2026-11-25 08:30:15 +09:00 -> 8*3600 + 30*60 + 15 = 30615 s on 2026-11-25.
    moment = dt.datetime(2026, 11, 25, 8, 30, 15, tzinfo=TOKYO)
    assert clock.split(moment) == (dt.date(2026, 11, 25), 30615)
    # The same instant written in UTC (23:30:15 the day before) lands on the same pair.
    utc = dt.datetime(2026, 11, 24, 23, 30, 15, tzinfo=dt.UTC)
    assert clock.split(utc) == (dt.date(2026, 11, 25), 30615)
    assert clock.to_datetime(dt.date(2026, 11, 25), 30615) == moment


def test_now_is_negative_for_tomorrows_dispatcher() -> None:
    fixed = dt.datetime(2026, 11, 25, 22, 0, tzinfo=TOKYO)
    clock = ServiceClock(TOKYO, now_function=lambda: fixed)
    # 22:00 today is 79200 s; seen from tomorrow's midnight it is 79200 - 86400 = -7200 s.
    assert clock.seconds_now(dt.date(2026, 11, 25)) == 79200
    assert clock.seconds_now(dt.date(2026, 11, 26)) == -7200


def test_dst_day_counts_real_seconds() -> None:
    vienna = ServiceClock(ZoneInfo("Europe/Vienna"))
    # 2026-03-29: clocks jump 02:00 -> 03:00, so 04:00 local is only 3 h after midnight.
    day = dt.date(2026, 3, 29)
    four = dt.datetime(2026, 3, 29, 4, 0, tzinfo=ZoneInfo("Europe/Vienna"))
    assert vienna.seconds(day, four) == 3 * 3600
    assert vienna.to_datetime(day, 3 * 3600) == four


def test_naive_datetime_is_refused_with_an_example_offset() -> None:
    clock = ServiceClock(TOKYO)
    with pytest.raises(NaiveDatetimeError, match=r"add one, for example .*\+09:00"):
        clock.split(dt.datetime(2026, 11, 25, 8, 0))


@pytest.mark.parametrize(
    ("text", "seconds"), [("07:30", 27000), ("24:00", 86400), ("00:00:59", 59)]
)
def test_time_of_day(text: str, seconds: int) -> None:
    assert parse_time_of_day(text) == seconds


@pytest.mark.parametrize("text", ["7:30", "24:01", "12:60", "noon", "25:00"])
def test_bad_time_of_day(text: str) -> None:
    with pytest.raises(ValueError, match=r"HH:MM|after 24:00|00\.\.59"):
        parse_time_of_day(text)


def test_settings_come_from_env_and_name_the_bad_variable() -> None:
    settings = Settings.from_env(environ={"NORIAI_BOOKING_DAYS": "3", "NORIAI_PORT": "9000"})
    assert (settings.booking_days, settings.port) == (3, 9000)
    with pytest.raises(ConfigError, match="NORIAI_TIMEZONE"):
        Settings.from_env(environ={"NORIAI_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="NORIAI_DB_URL"):
        Settings.from_env(environ={"NORIAI_DB_URL": "mysql://x"})
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env({"osm": "a.osm", "place": "Krems"}, environ={})
    # postgresql:// is normalised to the psycopg 3 driver.
    url = Settings.from_env({"db_url": "postgresql://u:p@h/db"}, environ={}).db_url
    assert url == "postgresql+psycopg://u:p@h/db"


def test_compact_snapshot_keeps_booked_requests_and_their_offers() -> None:
    snapshot = {
        "format": 1,
        "vehicles": ["v"],
        "records": [
            {"request": {"id": "a"}, "status": "assigned"},
            {"request": {"id": "b"}, "status": "expired"},
            {"request": {"id": "c"}, "status": "offered"},
        ],
        "offers": [
            {"id": "o1", "request_id": "a"},
            {"id": "o2", "request_id": "b"},
            {"id": "o3", "request_id": "c"},
        ],
        "offer_seq": 3,
    }
    durable = compact_snapshot(snapshot, keep=frozenset({"assigned"}))
    assert [r["request"]["id"] for r in durable["records"]] == ["a"]
    assert [o["id"] for o in durable["offers"]] == ["o1"]
    assert (durable["vehicles"], durable["offer_seq"]) == (["v"], 3)


def test_event_bus_delivers_to_matching_subscribers_only() -> None:
    async def scenario() -> tuple[str | None, bool, int]:
        bus = EventBus()
        day = dt.date(2026, 11, 25)
        plans = bus.subscribe(lambda m: m.type == "PlanChanged")
        everything = bus.subscribe(maxsize=1)
        bus.publish(day, [Booked(time=1, request_id="r", offer_id="o"), PlanChanged(2, "v", 3)])
        first = await plans.get(timeout=1)
        # The size-1 queue kept only the newest message and says it lagged.
        lagged = everything.lagged
        plans.close()
        everything.close()
        return (first.vehicle_id if first else None), lagged, bus.subscriber_count

    assert asyncio.run(scenario()) == ("v", True, 0)
