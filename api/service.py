"""DispatchService: the one object that owns the Dispatchers of the service area.

Reached from a request as ``request.app.state.service`` (dependency ``ServiceDep`` in
``api.deps``). Design:

- **One Dispatcher per service day** (``today`` .. ``today + booking_days - 1``, plus yesterday
  while its trips finish). Times inside each are seconds since that day's local midnight, so
  ``now`` is negative for tomorrow's Dispatcher. Vehicles have a daily shift (times of day) and
  appear in every day's Dispatcher; shifts end by 24:00.
- **Serialised**: every Dispatcher call holds one lock (``_lock``); calls run on one dedicated
  thread (``call``), so they never interleave and the event loop never waits for storage.
  Quotes are the exception (``quote``): once the day is loaded, a quote runs on the event loop
  under that lock (a millisecond or two of pure computation, no storage), because handing it
  to the thread and back costs more than the quote itself: the two threads then take turns on
  the GIL, and each turn can wait a whole switch interval (5 ms). While the Dispatcher thread
  holds the lock (a tick, a driver event, a booking's change in memory) the quote waits for it
  without blocking the event loop (``_acquire_on_loop``); the thread wakes it when it lets go.
  A booking (``book``) or a change through ``mutate`` holds the lock only for its change in
  memory: its storage reads and its commit run on the Dispatcher thread without it, so quotes
  go on meanwhile (all writes still run one after another on that thread).
- **Durable**: a booking change writes the booking row *and* the day's Dispatcher snapshot in
  one database transaction before the caller is answered (``_persist``). On start every day is
  rebuilt with ``Dispatcher.from_snapshot`` and re-checked against the booking rows.
- **Re-optimization** runs periodically: the problem is taken on the Dispatcher thread, solved on
  a separate worker thread (OR-Tools releases the GIL), and applied back on the Dispatcher thread.
- **Events** of every change are published on ``bus`` (:class:`api.events.EventBus`).

Later adapters (driver websocket, operator console, TV) call :meth:`mutate` with a function of
``(dispatcher, now_seconds)`` to change state durably, :meth:`call` to read, and subscribe to
:attr:`bus`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import heapq
import json
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from api.area import NamedPlaceSpec, ServiceAreaBundle
from api.auth import Principal, Role, hash_token, new_token
from api.events import EventBus
from api.settings import Settings
from api.storage.engine import OwnerLock
from api.storage.models import (
    Booking,
    DayState,
    IdempotencyRecord,
    NamedPlace,
    Rider,
    SavedPlace,
    VehicleRow,
    utc_now,
)
from api.timeutil import ServiceClock
from dispatch.dispatcher import Dispatcher, QuoteResult
from dispatch.errors import DispatchError, OfferError, UnknownRequestError
from dispatch.events import DispatchEvent, Expired
from dispatch.model import (
    CancelledBy,
    Channel,
    Offer,
    Request,
    RequestStatus,
    Vehicle,
    VehicleState,
)
from dispatch.params import ServiceParams
from routing.types import LatLon

__all__ = [
    "ACTIVE_STATUSES",
    "DispatchService",
    "OfferContext",
    "Problem",
    "QuoteInput",
    "compact_snapshot",
]

log = logging.getLogger("noriai.service")
T = TypeVar("T")

ACTIVE_STATUSES = frozenset(
    {RequestStatus.BOOKED.value, RequestStatus.ASSIGNED.value, RequestStatus.ONBOARD.value}
)
FINISHED_STATUSES = frozenset(
    {
        RequestStatus.COMPLETED.value,
        RequestStatus.CANCELLED.value,
        RequestStatus.NO_SHOW.value,
    }
)


class Problem(Exception):  # noqa: N818  (an HTTP problem, RFC 9457 style)
    """A client-facing failure: HTTP status, a message saying what to do, a machine reason."""

    def __init__(self, status_code: int, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.reason = reason


@dataclass(frozen=True, slots=True)
class QuoteInput:
    """A validated quote at the edge: the day it falls on and the core request."""

    day: dt.date
    request: Request
    destination_place_id: str | None


@dataclass(frozen=True, slots=True)
class OfferContext:
    """What we remember about an offer between quote and booking (memory only)."""

    day: dt.date
    offer: Offer
    request: Request
    destination_place_id: str | None
    quoted_by: str | None


@dataclass(frozen=True, slots=True)
class DurableWrite:
    """One change to store: the day's snapshot (JSON), booking statuses, extra rows."""

    day: dt.date
    snapshot: str
    statuses: dict[str, str | None]
    extra: tuple[Any, ...]


def _new_id(prefix: str = "") -> str:
    return prefix + secrets.token_hex(6)


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class DispatchService:
    """Owns the Dispatchers, their persistence, re-optimization and the event bus.

    Parameters
    ----------
    settings : Settings
        Validated settings.
    engine : Engine
        Migrated database engine.
    bundle : ServiceAreaBundle
        Graph, stops, oracle, walking access and named places.
    clock : ServiceClock
        Current time and the service time zone.
    params : ServiceParams
        Service rules (re-optimization inside ``tick`` is switched off; this object runs it).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        bundle: ServiceAreaBundle,
        clock: ServiceClock,
        params: ServiceParams | None = None,
    ) -> None:
        base = params if params is not None else ServiceParams(max_walk_m=settings.max_walk_m)
        self.settings = settings
        self.engine = engine
        self.bundle = bundle
        self.clock = clock
        self.params = dataclasses.replace(base, reoptimize_interval_s=0)
        self.reoptimize_time_limit_s = base.reoptimize_time_limit_s
        self.bus = EventBus()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="noriai-dispatcher")
        self._lock = threading.Lock()
        """Held by every call into a Dispatcher or ``_offers`` (one at a time, any thread)."""
        self._lock_waiters: list[asyncio.Future[None]] = []
        """Quotes on the event loop waiting for the Dispatcher thread to let go of ``_lock``."""
        self._thread_wants_lock = 0
        """Non-zero while the Dispatcher thread waits for ``_lock`` (only that thread changes
        it): quotes then let it go first."""
        self.quote_paths: Counter[str] = Counter()
        """How many quotes ran on the event loop ("inline") and on the Dispatcher "thread"."""
        self._solver = ThreadPoolExecutor(1, thread_name_prefix="noriai-reoptimizer")
        self._days: dict[dt.date, Dispatcher] = {}
        self._offers: dict[str, OfferContext] = {}
        self._offer_ids: dict[str, tuple[str, ...]] = {}
        """Public offer ids of each quoted request (request id -> ids), to drop them together."""
        self._offer_expiry: list[tuple[float, str]] = []
        """Heap of (POSIX time the offer expires, public id): pruning touches only those due."""
        self._finished: dict[dt.date, list[str]] = {}
        """Expired and rejected quotes per day, not yet dropped from the Dispatcher."""
        self._places = {place.id: place for place in bundle.places}
        self._tasks: list[asyncio.Task[None]] = []
        self.reoptimizations = 0
        self._last_sweep: dt.datetime | None = None
        self.startup_report: dict[str, int] = {}

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, *, background: bool = True) -> None:
        """Own the database, seed named places, rebuild every stored day, start periodic work.

        Raises
        ------
        StorageError
            When another server process owns the database.
        """
        OwnerLock.acquire(self.engine, wait_s=self.settings.owner_lock_wait_s)
        await self.call(self._seed_places)
        self.startup_report = await self.call(self._restore_days)
        if background:
            loop = asyncio.get_running_loop()
            self._tasks.append(loop.create_task(self._tick_loop(), name="noriai-tick"))
            if self.settings.reoptimize_interval_s > 0:
                self._tasks.append(
                    loop.create_task(self._reoptimize_loop(), name="noriai-reoptimize")
                )

    async def stop(self) -> None:
        """Cancel the periodic tasks and stop the worker threads."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._executor.shutdown(wait=True, cancel_futures=False)
        self._solver.shutdown(wait=False, cancel_futures=True)
        OwnerLock.release_for(self.engine)

    # --- serialised access -----------------------------------------------------------------
    async def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the Dispatcher thread (serialised with every other call)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._locked, loop, function)

    def _locked(self, loop: asyncio.AbstractEventLoop, function: Callable[[], T]) -> T:
        """Run ``function`` holding the lock, then wake the quotes waiting for it."""
        with self._thread_lock(loop):
            return function()

    @contextlib.contextmanager
    def _thread_lock(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """Hold the lock on the Dispatcher thread; on release wake the quotes waiting.

        The thread goes first: while it waits, quotes on the event loop do not take the lock
        (without that, back-to-back quotes would take it again each time it is let go, and a
        booking would wait for a pause in the stream of quotes).
        """
        self._thread_wants_lock += 1
        try:
            self._lock.acquire()
        finally:
            self._thread_wants_lock -= 1
        try:
            yield
        finally:
            self._lock.release()
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(self._wake_lock_waiters)

    def _wake_lock_waiters(self) -> None:
        waiters, self._lock_waiters = self._lock_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def read(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the event loop under the Dispatcher lock (see ``quote``).

        For short in-memory work only: no storage, no waiting, never loading a day (use
        :meth:`call` for those). While the Dispatcher thread holds the lock, this waits for
        it without blocking the event loop.
        """
        await self._acquire_on_loop()
        try:
            return function()
        finally:
            self._lock.release()

    async def _acquire_on_loop(self) -> None:
        """Take ``_lock`` on the event loop; while the thread holds it, wait without blocking.

        No wake-up is lost: a failed attempt and the waiter's registration happen in one step
        of the loop, and every release by the thread schedules a wake-up after that step. The
        Dispatcher thread goes first when it is waiting for the lock (``_thread_lock``).
        """
        loop = asyncio.get_running_loop()
        while self._thread_wants_lock or not self._lock.acquire(blocking=False):
            waiter: asyncio.Future[None] = loop.create_future()
            self._lock_waiters.append(waiter)
            await waiter

    async def mutate(
        self, day: dt.date, change: Callable[[Dispatcher, int], Sequence[DispatchEvent]]
    ) -> list[DispatchEvent]:
        """Apply ``change(dispatcher, now_seconds)`` to ``day`` durably and publish its events.

        The snapshot and the status of every booking the events name are committed in one
        transaction; when the commit fails (or ``change`` fails other than with a
        ``DispatchError``) the day is rolled back to its stored snapshot and the error
        propagates. Dispatch errors reach the caller unchanged (the app maps them to 4xx).
        """

        loop = asyncio.get_running_loop()

        def work() -> list[DispatchEvent]:
            # The lock covers the change in memory only; the commit runs after it on this
            # thread (every write runs here, one after another), so quotes go on meanwhile.
            with self._thread_lock(loop):
                dispatcher = self.dispatcher(day)
                try:
                    events = list(change(dispatcher, self.clock.seconds_now(day)))
                except DispatchError:
                    raise  # refused before changing anything (the Dispatcher's contract)
                except Exception:
                    self._reload(day)  # a bug half-way: back to the last durable state
                    raise
                durable = any(type(event).__name__ not in TRANSIENT_EVENTS for event in events)
                write = self._durable_write(day, dispatcher, events) if durable else None
            if write is not None:
                try:
                    self._commit(write)
                except Exception:
                    with self._thread_lock(loop):
                        self._reload(day)
                    raise
            return events

        events = await loop.run_in_executor(self._executor, work)
        self.bus.publish(day, events)
        return events

    # --- days ------------------------------------------------------------------------------
    def open_days(self) -> list[dt.date]:
        """Service days open for booking: today .. today + booking_days - 1."""
        today = self.clock.today()
        return [today + dt.timedelta(days=i) for i in range(self.settings.booking_days)]

    def loaded_days(self) -> list[dt.date]:
        """Days with a Dispatcher in memory (Dispatcher thread only)."""
        return sorted(self._days)

    def dispatcher(self, day: dt.date) -> Dispatcher:
        """The Dispatcher of ``day``, created on first use (Dispatcher thread only)."""
        existing = self._days.get(day)
        if existing is not None:
            return existing
        with Session(self.engine, expire_on_commit=False) as session:
            rows = session.exec(select(VehicleRow).where(col(VehicleRow.retired_at).is_(None)))
            vehicles = [self._vehicle(row) for row in rows]
        dispatcher = Dispatcher(
            oracle=self.bundle.oracle, area=self.bundle.area, params=self.params, vehicles=vehicles
        )
        self._days[day] = dispatcher
        return dispatcher

    @staticmethod
    def _vehicle(row: VehicleRow) -> Vehicle:
        return Vehicle(
            id=row.id,
            seats=row.seats,
            wheelchair_places=row.wheelchair_places,
            depot=row.depot_node,
            shift_start=row.shift_start_s,
            shift_end=row.shift_end_s,
        )

    def _restore(self, day: dt.date, snapshot: str) -> Dispatcher:
        return Dispatcher.from_snapshot(
            json.loads(snapshot),
            oracle=self.bundle.oracle,
            area=self.bundle.area,
            params=self.params,
        )

    def _restore_days(self) -> dict[str, int]:
        """Rebuild every stored day from yesterday on; check them against the booking rows."""
        yesterday = self.clock.today() - dt.timedelta(days=1)
        report = {"days": 0, "bookings": 0, "missing_in_plan": 0, "orphans_cancelled": 0}
        with Session(self.engine, expire_on_commit=False) as session:
            states = session.exec(select(DayState).where(DayState.service_day >= yesterday)).all()
            for state in states:
                dispatcher = self._restore(state.service_day, state.snapshot)
                self._days[state.service_day] = dispatcher
                report["days"] += 1
                rows = session.exec(
                    select(Booking).where(
                        Booking.service_day == state.service_day,
                        col(Booking.status).in_(ACTIVE_STATUSES),
                    )
                ).all()
                known = {row.id for row in rows}
                report["bookings"] += len(rows)
                for row in rows:
                    try:
                        dispatcher.status(row.id)
                    except UnknownRequestError:
                        report["missing_in_plan"] += 1
                        log.error(
                            "booking %s is stored but not in the %s plans",
                            row.id,
                            state.service_day,
                        )
                planned = {
                    stop.request_id
                    for vehicle in dispatcher.vehicles().values()
                    for stop in (vehicle.plan.stops if vehicle.plan else ())
                }
                for request_id in sorted(planned - known):
                    # Cannot happen with one transaction per change; cancel rather than carry a
                    # trip nobody was told about.
                    now = self.clock.seconds_now(state.service_day)
                    dispatcher.cancel(request_id, CancelledBy.PROVIDER, now, reason="not stored")
                    report["orphans_cancelled"] += 1
        if report["orphans_cancelled"]:
            for day, dispatcher in self._days.items():
                self._persist(day, dispatcher, [])
        log.info("restored %s", report)
        return report

    def _persist(
        self,
        day: dt.date,
        dispatcher: Dispatcher,
        events: Sequence[DispatchEvent],
        extra: Sequence[Any] = (),
    ) -> None:
        """Commit the day's snapshot, booking statuses named by ``events`` and ``extra`` rows."""
        write = self._durable_write(day, dispatcher, events, extra)
        try:
            self._commit(write)
        except Exception:
            self._reload(day)
            raise

    def _durable_write(
        self,
        day: dt.date,
        dispatcher: Dispatcher,
        events: Sequence[DispatchEvent],
        extra: Sequence[Any] = (),
    ) -> DurableWrite:
        """What ``_commit`` stores for a change (memory only: runs under the lock).

        The snapshot encodes only booked requests: the open quotes (tens of thousands on a
        busy day) are neither stored nor encoded.
        """
        durable = dispatcher.snapshot(statuses=DURABLE_REQUEST_STATUSES)
        touched = {
            request_id
            for event in events
            if (request_id := getattr(event, "request_id", None)) is not None
        }
        extra_ids = {getattr(row, "id", None) for row in extra if isinstance(row, Booking)}
        return DurableWrite(
            day=day,
            snapshot=_dumps(compact_snapshot(durable, keep=DURABLE_STATUSES)),
            statuses={
                request_id: self._status(dispatcher, request_id)
                for request_id in sorted(touched - extra_ids)
            },
            extra=tuple(extra),
        )

    def _commit(self, write: DurableWrite) -> None:
        """Store a change in one transaction (storage only: needs no lock)."""
        with Session(self.engine, expire_on_commit=False) as session:
            state = session.get(DayState, write.day)
            if state is None:
                state = DayState(service_day=write.day, snapshot=write.snapshot, revision=1)
            else:
                state.snapshot = write.snapshot
                state.revision += 1
                state.updated_at = utc_now()
            session.add(state)
            for row in write.extra:
                session.add(row)
            for request_id, status in write.statuses.items():
                booking = session.get(Booking, request_id)
                if booking is None:
                    continue
                if status is not None and booking.status != status:
                    booking.status = status
                    session.add(booking)
            session.commit()

    def _forget_finished(self, day: dt.date, request_ids: Sequence[str] = ()) -> None:
        """Note expired quotes of ``day``; drop the finished ones from its Dispatcher once
        there are many (memory, snapshot size).

        Costs the number of quotes dropped: the ids come from the quotes' rejections and the
        tick's ``Expired`` events, never from a scan of every request (a busy day holds tens
        of thousands of open quotes, and a scan under the lock stalls every quote).
        """
        pending = self._finished.setdefault(day, [])
        pending.extend(request_ids)
        if len(pending) >= COMPACT_AFTER_FINISHED_QUOTES:
            dispatcher = self._days.get(day)
            if dispatcher is not None:
                dispatcher.forget(pending)
            pending.clear()

    def _reload(self, day: dt.date) -> None:
        """Throw away the in-memory day and rebuild it from its stored snapshot."""
        with Session(self.engine, expire_on_commit=False) as session:
            state = session.get(DayState, day)
        if state is None:
            self._days.pop(day, None)
        else:
            self._days[day] = self._restore(day, state.snapshot)

    @staticmethod
    def _status(dispatcher: Dispatcher, request_id: str) -> str | None:
        try:
            return dispatcher.status(request_id).value
        except UnknownRequestError:
            return None

    # --- riders ----------------------------------------------------------------------------
    def place(self, place_id: str) -> NamedPlaceSpec | None:
        """A named place by id (from memory; the table mirrors the area's configuration)."""
        return self._places.get(place_id)

    def _seed_places(self) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            for spec in self.bundle.places:
                row = session.get(NamedPlace, spec.id) or NamedPlace(
                    id=spec.id, name=spec.name, lat=spec.lat, lon=spec.lon
                )
                row.name, row.name_ja, row.kind = spec.name, spec.name_ja, spec.kind
                row.lat, row.lon = spec.lat, spec.lon
                session.add(row)
            session.commit()

    async def quote(
        self, quote: QuoteInput, principal: Principal | None
    ) -> tuple[QuoteResult, tuple[str, ...]]:
        """Ask the day's Dispatcher for offers; remember them for booking.

        Returns the result and the public offer ids (same order as ``result.offers``). Public
        ids are random and held in memory only: the Dispatcher's own offer ids count per day
        and restart, so they are never shown; after a restart an old offer id is simply gone.

        Runs on the event loop once the day is loaded (see the module docstring), else on the
        Dispatcher thread; both give the same offers, because both hold the Dispatcher lock for
        the whole quote.
        """
        if quote.day not in self.open_days():
            raise Problem(
                422,
                f"bookings are open for {self.open_days()[0]} .. {self.open_days()[-1]} "
                "(service time zone); pick a time in that range",
                reason="in_the_past" if quote.day < self.clock.today() else "too_far_ahead",
            )

        def work() -> tuple[QuoteResult, tuple[str, ...]]:
            dispatcher = self.dispatcher(quote.day)
            result = dispatcher.quote(quote.request, self.clock.seconds_now(quote.day))
            if result.rejection is not None:
                self._finished.setdefault(quote.day, []).append(result.request_id)
            public_ids = tuple(_new_id("O") + secrets.token_hex(4) for _ in result.offers)
            midnight = self.clock.midnight(quote.day).timestamp()
            for public_id, offer in zip(public_ids, result.offers, strict=True):
                self._offers[public_id] = OfferContext(
                    day=quote.day,
                    offer=offer,
                    request=quote.request,
                    destination_place_id=quote.destination_place_id,
                    quoted_by=principal.key if principal else None,
                )
                heapq.heappush(self._offer_expiry, (midnight + offer.expires_at, public_id))
            if public_ids:
                self._offer_ids[quote.request.id] = public_ids
            return result, public_ids

        def inline() -> tuple[QuoteResult, tuple[str, ...]] | None:
            # Checked under the lock: a tick may have dropped the day meanwhile, and loading
            # a day reads storage, which must not happen on the event loop.
            if quote.day not in self._days:
                return None
            self.quote_paths["inline"] += 1
            return work()

        if quote.day in self._days and (answer := await self.read(inline)) is not None:
            return answer
        self.quote_paths["thread"] += 1  # the day's first quote: loading it reads storage
        return await self.call(work)

    async def book(
        self,
        offer_id: str,
        principal: Principal,
        *,
        idempotency_key: str | None,
        body_hash: str,
        contact_name: str | None = None,
        contact_phone: str | None = None,
    ) -> tuple[int, Booking, bool]:
        """Book an offer durably; returns ``(status_code, booking row, replayed)``.

        With an ``Idempotency-Key`` the first successful answer is stored with the booking, and
        a retry with the same key and body gets the same booking (``replayed`` True).
        """

        loop = asyncio.get_running_loop()

        def work() -> tuple[int, Booking, bool, dt.date | None, list[DispatchEvent]]:
            # On the Dispatcher thread, one booking after another, but holding the Dispatcher
            # lock only for the change in memory: the storage reads before it and the commit
            # after it let quotes go on (a booking re-checks its offer against the plans of
            # the moment anyway). Nothing else writes meanwhile: every write runs on this
            # thread.
            with Session(self.engine, expire_on_commit=False) as session:
                if idempotency_key is not None:
                    record = session.exec(
                        select(IdempotencyRecord).where(
                            IdempotencyRecord.principal == principal.key,
                            IdempotencyRecord.key == idempotency_key,
                        )
                    ).first()
                    if record is not None:
                        if record.request_hash != body_hash:
                            raise Problem(
                                422,
                                "this Idempotency-Key was used with a different request body; "
                                "use a new key for a new booking",
                                reason="idempotency_key_reused",
                            )
                        booking = session.get(Booking, json.loads(record.body)["id"])
                        if booking is None:
                            raise Problem(404, "the booking of this Idempotency-Key was erased")
                        return record.status_code, booking, True, None, []
                existing = session.exec(select(Booking).where(Booking.offer_id == offer_id)).first()
            if existing is not None:
                raise Problem(
                    409,
                    f"offer {offer_id} is already booked as booking {existing.id}",
                    reason="offer_already_booked",
                )
            with self._thread_lock(loop):
                day, booking, events, write = change()
            try:
                self._commit(write)
            except Exception:
                with self._thread_lock(loop):
                    self._reload(day)  # back to the last durable state
                raise
            with self._thread_lock(loop):
                for other in self._offer_ids.pop(booking.id, ()):
                    self._offers.pop(other, None)
            return 201, booking, False, day, events

        def change() -> tuple[dt.date, Booking, list[DispatchEvent], DurableWrite]:
            """The booking in memory (under the lock): checks, Dispatcher, what to store."""
            context = self._offers.get(offer_id)
            if context is None:
                raise Problem(
                    410,
                    f"offer {offer_id} is unknown or expired; ask for a new quote",
                    reason="offer_expired",
                )
            if context.quoted_by is not None and context.quoted_by != principal.key:
                raise Problem(403, "this offer was quoted for another caller; ask for a new quote")
            day = context.day
            dispatcher = self.dispatcher(day)
            now = self.clock.seconds_now(day)
            try:
                events = dispatcher.book(context.offer.id, now)
            except OfferError as error:
                self._offers.pop(offer_id, None)
                raise Problem(410, f"{error}; ask for a new quote", reason=error.reason) from error
            vehicle_id = next(
                (getattr(e, "vehicle_id", None) for e in events if type(e).__name__ == "Assigned"),
                context.offer.vehicle_id,
            )
            booking = self._booking_row(context, offer_id, principal, contact_name, contact_phone)
            booking.status = self._status(dispatcher, booking.id) or RequestStatus.BOOKED.value
            extra: list[Any] = [booking]
            if idempotency_key is not None:
                extra.append(
                    IdempotencyRecord(
                        principal=principal.key,
                        key=idempotency_key,
                        request_hash=body_hash,
                        status_code=201,
                        body=_dumps({"id": booking.id, "vehicle_id": vehicle_id}),
                    )
                )
            return day, booking, list(events), self._durable_write(day, dispatcher, events, extra)

        status_code, booking, replayed, day, events = await loop.run_in_executor(
            self._executor, work
        )
        if day is not None:
            self.bus.publish(day, events)
        return status_code, booking, replayed

    def _booking_row(
        self,
        context: OfferContext,
        public_offer_id: str,
        principal: Principal,
        contact_name: str | None,
        contact_phone: str | None,
    ) -> Booking:
        offer, request = context.offer, context.request
        return Booking(
            id=request.id,
            rider_id=principal.id if principal.role is Role.RIDER else None,
            service_day=context.day,
            channel=request.channel.value,
            offer_id=public_offer_id,
            status=RequestStatus.BOOKED.value,
            passengers=request.passengers,
            wheelchairs=request.wheelchairs,
            origin_lat=request.origin.lat,
            origin_lon=request.origin.lon,
            destination_lat=request.destination.lat,
            destination_lon=request.destination.lon,
            destination_place_id=context.destination_place_id,
            pickup_stop_id=offer.pickup.stop_id,
            pickup_name=offer.pickup.name,
            pickup_lat=offer.pickup.point.lat,
            pickup_lon=offer.pickup.point.lon,
            pickup_walk_m=offer.pickup.walk_m,
            dropoff_stop_id=offer.dropoff.stop_id,
            dropoff_name=offer.dropoff.name,
            dropoff_lat=offer.dropoff.point.lat,
            dropoff_lon=offer.dropoff.point.lon,
            dropoff_walk_m=offer.dropoff.walk_m,
            pickup_earliest_s=offer.pickup_earliest,
            pickup_latest_s=offer.pickup_latest,
            latest_arrival_s=offer.latest_arrival,
            expected_pickup_s=offer.expected_pickup,
            expected_arrival_s=offer.expected_arrival,
            contact_name=contact_name,
            contact_phone=contact_phone,
        )

    def new_request_id(self) -> str:
        """A fresh request (booking) id."""
        return _new_id("B")

    async def cancel(self, booking: Booking, by: CancelledBy, reason: str) -> Booking:
        """Cancel a booking that is not yet onboard; 409 otherwise."""
        day = booking.service_day

        def work() -> tuple[Booking, list[DispatchEvent]]:
            dispatcher = self.dispatcher(day)
            status = self._status(dispatcher, booking.id) or booking.status
            if status not in (RequestStatus.BOOKED.value, RequestStatus.ASSIGNED.value):
                raise Problem(
                    409,
                    f"booking {booking.id} is {status} and can no longer be cancelled",
                    reason=f"status_{status}",
                )
            events = dispatcher.cancel(booking.id, by, self.clock.seconds_now(day), reason=reason)
            with Session(self.engine, expire_on_commit=False) as session:
                row = session.get(Booking, booking.id)
            assert row is not None
            row.status = self._status(dispatcher, booking.id) or RequestStatus.CANCELLED.value
            row.cancelled_at = utc_now()
            row.cancelled_by = by.value
            self._persist(day, dispatcher, events, [row])
            return row, list(events)

        row, events = await self.call(work)
        self.bus.publish(day, events)
        return row

    async def live_status(self, booking: Booking) -> dict[str, Any]:
        """Status, vehicle, its position and the pickup/drop-off ETAs (seconds of the day)."""
        day = booking.service_day

        def work() -> dict[str, Any]:
            if day not in self._days:
                return {"status": booking.status}
            dispatcher = self._days[day]
            status = self._status(dispatcher, booking.id) or booking.status
            result: dict[str, Any] = {"status": status}
            for vehicle_id, state in dispatcher.vehicles().items():
                stops = state.plan.stops if state.plan else ()
                indices = [i for i, s in enumerate(stops) if s.request_id == booking.id]
                if not indices and booking.id not in state.onboard:
                    continue
                result["vehicle_id"] = vehicle_id
                result["vehicle_node"] = state.node
                result["vehicle_time"] = state.time
                for index in indices:
                    stop = stops[index]
                    if stop.kind.value == "pickup":
                        result["pickup_eta"] = stop.arrival
                        result["stops_before_pickup"] = index
                    else:
                        result["dropoff_eta"] = stop.arrival
                break
            return result

        return await self.read(work)  # memory only: no thread hop

    async def plans(self, day: dt.date) -> dict[str, VehicleState]:
        """Every vehicle's state (with plan) on ``day``."""
        return await self.call(lambda: dict(self.dispatcher(day).vehicles()))

    # --- vehicles --------------------------------------------------------------------------
    async def add_vehicle(self, row: VehicleRow) -> str:
        """Store a vehicle, add it to every loaded open day; returns its driver token."""
        token = new_token(Role.VEHICLE)
        row.driver_token_hash = hash_token(token)
        vehicle = self._vehicle(row)

        def work() -> list[tuple[dt.date, list[DispatchEvent]]]:
            with Session(self.engine, expire_on_commit=False) as session:
                if session.get(VehicleRow, row.id) is not None:
                    raise Problem(409, f"vehicle {row.id} exists already; pick another id")
                session.add(row)
                session.commit()
                session.refresh(row)
            published = []
            today = self.clock.today()
            for day in sorted(self._days):
                if day < today:
                    continue
                dispatcher = self._days[day]
                events = dispatcher.add_vehicle(vehicle, self.clock.seconds_now(day))
                self._persist(day, dispatcher, events)
                published.append((day, list(events)))
            return published

        for day, events in await self.call(work):
            self.bus.publish(day, events)
        return token

    async def retire_vehicle(self, vehicle_id: str) -> VehicleRow:
        """Mark retired and stop new work in every loaded day (booked riders are moved)."""

        def work() -> tuple[VehicleRow, list[tuple[dt.date, list[DispatchEvent]]]]:
            with Session(self.engine, expire_on_commit=False) as session:
                row = session.get(VehicleRow, vehicle_id)
                if row is None:
                    raise Problem(404, f"no vehicle {vehicle_id}; list them with GET /v1/vehicles")
                if row.retired_at is None:
                    row.retired_at = utc_now()
                    session.add(row)
                    session.commit()
                    session.refresh(row)
            published = []
            for day in sorted(self._days):
                dispatcher = self._days[day]
                if vehicle_id not in dispatcher.vehicles():
                    continue
                if dispatcher.vehicles()[vehicle_id].retired:
                    continue
                events = dispatcher.retire_vehicle(vehicle_id, self.clock.seconds_now(day))
                self._persist(day, dispatcher, events)
                published.append((day, list(events)))
            return row, published

        row, published = await self.call(work)
        for day, events in published:
            self.bus.publish(day, events)
        return row

    # --- personal data ---------------------------------------------------------------------
    async def erase_rider(self, rider_id: str) -> int:
        """Cancel the rider's future trips, anonymise their bookings, delete the rider.

        Refused with 409 while one of their trips is onboard. Returns how many bookings were
        cancelled.
        """

        def work() -> tuple[int, list[tuple[dt.date, list[DispatchEvent]]]]:
            with Session(self.engine, expire_on_commit=False) as session:
                rows = session.exec(select(Booking).where(Booking.rider_id == rider_id)).all()
            active = []
            for row in rows:
                status = row.status
                if row.service_day in self._days:
                    status = self._status(self._days[row.service_day], row.id) or status
                if status == RequestStatus.ONBOARD.value:
                    raise Problem(
                        409,
                        f"trip {row.id} is under way; erase your data after it ends",
                        reason="trip_in_progress",
                    )
                if status in ACTIVE_STATUSES:
                    active.append(row)
            published = []
            for row in active:
                dispatcher = self.dispatcher(row.service_day)
                now = self.clock.seconds_now(row.service_day)
                events = dispatcher.cancel(row.id, CancelledBy.RIDER, now, reason="rider erased")
                row.status = self._status(dispatcher, row.id) or RequestStatus.CANCELLED.value
                row.cancelled_at = utc_now()
                row.cancelled_by = CancelledBy.RIDER.value
                self._persist(row.service_day, dispatcher, events, [row])
                published.append((row.service_day, list(events)))
            with Session(self.engine, expire_on_commit=False) as session:
                session.execute(
                    update(Booking)
                    .where(col(Booking.rider_id) == rider_id)
                    .values(**ANONYMOUS_BOOKING)
                )
                session.execute(
                    update(IdempotencyRecord)
                    .where(col(IdempotencyRecord.principal) == f"rider:{rider_id}")
                    .values(principal="erased", key=_new_id("erased-"))
                )
                for place in session.exec(
                    select(SavedPlace).where(SavedPlace.rider_id == rider_id)
                ):
                    session.delete(place)
                rider = session.get(Rider, rider_id)
                if rider is not None:
                    session.delete(rider)
                session.commit()
            return len(active), published

        cancelled, published = await self.call(work)
        for day, events in published:
            self.bus.publish(day, events)
        return cancelled

    def anonymise_history(self) -> int:
        """Unlink finished bookings of past days from riders without consent (returns count)."""
        today = self.clock.today()
        with Session(self.engine, expire_on_commit=False) as session:
            consenting = select(Rider.id).where(col(Rider.consent_personal_data).is_(True))
            result = session.execute(
                update(Booking)
                .where(
                    col(Booking.rider_id).is_not(None),
                    col(Booking.rider_id).not_in(consenting),
                    col(Booking.service_day) < today,
                    col(Booking.status).not_in(ACTIVE_STATUSES),
                )
                .values(**ANONYMOUS_BOOKING)
            )
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    # --- periodic work ---------------------------------------------------------------------
    async def tick(self) -> None:
        """Expire offers, roll the days over, anonymise finished history."""
        today = self.clock.today()
        for day in await self.call(self.loaded_days):
            if day < today - dt.timedelta(days=1):
                await self.call(functools.partial(self._days.pop, day, None))
                await self.call(functools.partial(self._finished.pop, day, None))
                continue
            events = await self.mutate(day, lambda d, now: d.tick(now))
            expired = [event.request_id for event in events if isinstance(event, Expired)]
            await self.call(functools.partial(self._forget_finished, day, expired))

        def prune() -> None:
            """Forget public offer ids a minute after their offer expired."""
            until = self.clock.now().timestamp() - 60
            heap = self._offer_expiry
            while heap and heap[0][0] < until:
                _, offer_id = heapq.heappop(heap)
                context = self._offers.pop(offer_id, None)
                if context is not None:
                    self._offer_ids.pop(context.request.id, None)

        await self.call(prune)
        if self._last_sweep is None or self.clock.now() - self._last_sweep > SWEEP_EVERY:
            self._last_sweep = self.clock.now()
            await self.call(self.anonymise_history)

    async def reoptimize(self, day: dt.date) -> list[DispatchEvent]:
        """Re-optimize one day: problem on the Dispatcher thread, solve on the solver thread.

        The solve (OR-Tools, seconds) never runs on the event loop or the Dispatcher thread, so
        quotes and bookings go on meanwhile; ``apply_reoptimization`` then adopts the result
        only if it is still consistent with what changed during the solve.
        """
        from dispatch.reoptimize import solve_reoptimization

        problem = await self.call(
            lambda: self.dispatcher(day).reoptimization_problem(self.clock.seconds_now(day))
        )
        if problem is None:
            return []
        loop = asyncio.get_running_loop()
        solution = await loop.run_in_executor(
            self._solver, functools.partial(solve_reoptimization, problem)
        )
        events = await self.mutate(day, lambda d, now: d.apply_reoptimization(solution, now))
        self.reoptimizations += 1
        return events

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_interval_s)
            try:
                await self.tick()
            except Exception:
                log.exception("tick failed; will retry")

    async def _reoptimize_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reoptimize_interval_s)
            today = self.clock.today()
            for day in await self.call(self.loaded_days):
                if day < today:
                    continue
                try:
                    await self.reoptimize(day)
                except Exception:
                    log.exception("re-optimization of %s failed; keeping the current plans", day)

    # --- helpers for the edge --------------------------------------------------------------
    def build_request(
        self,
        *,
        origin: LatLon,
        destination: LatLon,
        arrive_by: dt.datetime | None,
        depart_at: dt.datetime | None,
        passengers: int,
        wheelchair: bool,
        channel: Channel,
        rider_id: str | None,
        destination_place_id: str | None = None,
    ) -> QuoteInput:
        """Turn edge values into a core :class:`Request` on its service day."""
        moment = arrive_by if arrive_by is not None else depart_at
        assert moment is not None
        day, seconds = self.clock.split(moment)
        request = Request(
            id=self.new_request_id(),
            origin=origin,
            destination=destination,
            arrive_by=seconds if arrive_by is not None else None,
            depart_at=seconds if depart_at is not None else None,
            passengers=passengers,
            wheelchairs=1 if wheelchair else 0,
            channel=channel,
            rider_id=rider_id,
        )
        return QuoteInput(day=day, request=request, destination_place_id=destination_place_id)


TRANSIENT_EVENTS = frozenset({"Expired", "Offered", "Reoptimized", "PromiseAtRisk"})
"""Events that change nothing a restart must know (no snapshot write for them alone)."""
DURABLE_STATUSES = frozenset(
    status.value
    for status in RequestStatus
    if status
    not in (
        RequestStatus.SUBMITTED,
        RequestStatus.OFFERED,
        RequestStatus.EXPIRED,
        RequestStatus.REJECTED,
    )
)
"""Requests a stored snapshot keeps: everything that was ever booked."""
DURABLE_REQUEST_STATUSES = frozenset(RequestStatus(value) for value in DURABLE_STATUSES)
COMPACT_AFTER_FINISHED_QUOTES = 200
"""Finished (expired or rejected) quotes of a day dropped from its Dispatcher together."""
SWEEP_EVERY = dt.timedelta(minutes=10)
"""How often finished history of riders without consent is anonymised."""


def compact_snapshot(data: dict[str, Any], *, keep: frozenset[str]) -> dict[str, Any]:
    """A Dispatcher snapshot without the requests whose status is not in ``keep``.

    Quotes nobody booked (expired, rejected, or still open) are not worth a crash-safe write:
    their public offer ids live in memory only, so after a restart they cannot be booked
    anyway. Dropping them keeps the snapshot written with every booking small. Offers are kept
    when their request is kept. Other keys pass through unchanged.
    """
    records = [r for r in data["records"] if r["status"] in keep]
    kept_ids = {r["request"]["id"] for r in records}
    offers = [o for o in data["offers"] if o["request_id"] in kept_ids]
    return {**data, "records": records, "offers": offers}


ANONYMOUS_BOOKING: dict[str, Any] = {
    "rider_id": None,
    "origin_lat": None,
    "origin_lon": None,
    "destination_lat": None,
    "destination_lon": None,
    "contact_name": None,
    "contact_phone": None,
    "anonymised": True,
}


def body_hash(data: Any) -> str:
    """SHA-256 of a request body in canonical JSON (for Idempotency-Key checks)."""
    return hashlib.sha256(_dumps(data).encode("utf-8")).hexdigest()
