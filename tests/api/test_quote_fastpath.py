"""Quotes run on the event loop (``DispatchService.quote``'s fast path) and give the offers the
Dispatcher itself gives for the same state; bookings still go through the Dispatcher thread.

In-process service on a SQLite file in a temporary folder, the synthetic town, a fixed clock
(09:00 in Tokyo on 2026-11-25) and two all-day buses.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from sqlmodel import Session

from api.area import ServiceAreaBundle, build_service_area
from api.auth import Principal, Role
from api.service import DispatchService, DurableWrite, QuoteInput
from api.settings import Settings
from api.storage.engine import make_engine, migrate
from api.storage.models import Booking, VehicleRow
from api.timeutil import ServiceClock, zone
from dispatch.dispatcher import Dispatcher, QuoteResult
from dispatch.model import Channel, RequestStatus
from routing.types import LatLon

TOKYO = zone("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=TOKYO)
DAY = NOW.date()
OPERATOR = Principal(Role.OPERATOR, "operator")
T = TypeVar("T")


@pytest.fixture(scope="module")
def bundle() -> ServiceAreaBundle:
    return build_service_area(Settings.from_env({}, environ={}))


def run_with_service(
    tmp_path: Path, bundle: ServiceAreaBundle, scenario: Callable[[DispatchService], Awaitable[T]]
) -> T:
    """Start a service with two all-day buses, run ``scenario`` on it, stop it."""

    async def main() -> T:
        settings = Settings.from_env({"db_url": f"sqlite:///{tmp_path / 'q.sqlite'}"}, environ={})
        engine = make_engine(settings.db_url)
        migrate(engine)
        service = DispatchService(
            settings=settings,
            engine=engine,
            bundle=bundle,
            clock=ServiceClock(TOKYO, now_function=lambda: NOW),
        )
        await service.start(background=False)
        try:
            for number, place in enumerate(bundle.places[:2]):
                node, _ = bundle.snap(LatLon(place.lat, place.lon))
                row = VehicleRow(
                    id=f"bus-{number}",
                    seats=8,
                    wheelchair_places=1,
                    depot_lat=place.lat,
                    depot_lon=place.lon,
                    depot_node=node,
                    shift_start_s=0,
                    shift_end_s=86_400,
                    driver_token_hash="set by add_vehicle",
                )
                await service.add_vehicle(row)
            return await scenario(service)
        finally:
            await service.stop()
            engine.dispose()

    return asyncio.run(main())


def station_to_hospital(service: DispatchService, *, north_m: float, hour: int) -> QuoteInput:
    """From ``north_m`` metres north of the station (0.0009 degrees ~ 100 m) to the hospital."""
    station, hospital = (service.place(name) for name in ("station", "hospital"))
    assert station is not None
    assert hospital is not None
    return service.build_request(
        origin=LatLon(station.lat + north_m / 100 * 0.0009, station.lon),
        destination=LatLon(hospital.lat, hospital.lon),
        arrive_by=None,
        depart_at=dt.datetime(2026, 11, 25, hour, 0, tzinfo=TOKYO),
        passengers=1,
        wheelchair=False,
        channel=Channel.PHONE,
        rider_id=None,
        destination_place_id="hospital",
    )


async def reference_copy(service: DispatchService) -> Dispatcher:
    """A separate Dispatcher with the day's current state (taken on the Dispatcher thread)."""
    snapshot = await service.call(lambda: service.dispatcher(DAY).snapshot())
    return Dispatcher.from_snapshot(
        snapshot, oracle=service.bundle.oracle, area=service.bundle.area, params=service.params
    )


async def book(service: DispatchService, offer_id: str) -> Booking:
    status, row, _ = await service.book(offer_id, OPERATOR, idempotency_key=None, body_hash="-")
    assert status == 201
    return row


@pytest.mark.timeout(120)
def test_inline_quote_offers_what_the_dispatcher_offers_and_its_offer_books_durably(
    tmp_path: Path, bundle: ServiceAreaBundle
) -> None:
    async def scenario(service: DispatchService) -> None:
        # The day's first quote loads the day (storage): on the Dispatcher thread.
        first, first_ids = await service.quote(
            station_to_hospital(service, north_m=0, hour=10), None
        )
        assert first.offers
        assert service.quote_paths == {"thread": 1}
        await book(service, first_ids[0])  # a planned trip, so the next quote inserts around it

        quote = station_to_hospital(service, north_m=150, hour=10)
        reference = await reference_copy(service)
        result, public_ids = await service.quote(quote, None)
        assert service.quote_paths == {"thread": 1, "inline": 1}
        expected = reference.quote(quote.request, service.clock.seconds_now(DAY))
        assert result == expected  # offers, promises, vehicles, ids: all the same
        assert len(public_ids) == len(result.offers) >= 1

        row = await book(service, public_ids[0])
        status = await service.call(lambda: service.dispatcher(DAY).status(row.id))
        assert status is RequestStatus.ASSIGNED
        with Session(service.engine) as session:
            stored = session.get(Booking, row.id)
        assert stored is not None
        assert stored.status == RequestStatus.ASSIGNED.value

    run_with_service(tmp_path, bundle, scenario)


@pytest.mark.timeout(120)
def test_quote_waits_while_the_dispatcher_thread_holds_the_lock_then_runs_inline(
    tmp_path: Path, bundle: ServiceAreaBundle
) -> None:
    async def scenario(service: DispatchService) -> QuoteResult:
        await service.quote(station_to_hospital(service, north_m=0, hour=11), None)
        quote = station_to_hospital(service, north_m=-100, hour=12)
        reference = await reference_copy(service)
        entered, release = threading.Event(), threading.Event()

        def slow_storage_write() -> None:  # stands for a booking's commit
            entered.set()
            release.wait(30)

        blocker = asyncio.ensure_future(service.call(slow_storage_write))
        assert await asyncio.to_thread(entered.wait, 30)
        waiting = asyncio.ensure_future(service.quote(quote, None))
        await asyncio.sleep(0.2)  # the event loop runs meanwhile: this sleep ends
        assert not waiting.done()  # ... but the quote may not touch the Dispatcher yet
        release.set()
        await blocker
        result, _ = await asyncio.wait_for(waiting, 30)  # woken when the thread let go
        assert service.quote_paths == {"thread": 1, "inline": 1}
        assert result == reference.quote(quote.request, service.clock.seconds_now(DAY))
        return result

    assert run_with_service(tmp_path, bundle, scenario).offers


@pytest.mark.timeout(120)
def test_quotes_go_on_while_a_booking_is_being_committed(
    tmp_path: Path, bundle: ServiceAreaBundle
) -> None:
    async def scenario(service: DispatchService) -> None:
        _, offer_ids = await service.quote(station_to_hospital(service, north_m=0, hour=10), None)
        committing, release = threading.Event(), threading.Event()
        commit = service._commit

        def slow_commit(write: DurableWrite) -> None:  # a slow disk
            committing.set()
            release.wait(30)
            commit(write)

        service._commit = slow_commit  # type: ignore[method-assign]
        booking = asyncio.ensure_future(book(service, offer_ids[0]))
        assert await asyncio.to_thread(committing.wait, 30)
        # The booking is in the plans (not yet stored): the quote is answered meanwhile.
        quote = station_to_hospital(service, north_m=150, hour=10)
        result, _ = await asyncio.wait_for(service.quote(quote, None), 10)
        assert result.offers
        assert not booking.done()
        release.set()
        row = await booking
        with Session(service.engine) as session:
            stored = session.get(Booking, row.id)
        assert stored is not None
        assert stored.status == RequestStatus.ASSIGNED.value

    run_with_service(tmp_path, bundle, scenario)
