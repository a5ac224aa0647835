"""Driver websocket ``/v1/drivers/ws``: one connection per vehicle tablet.

The :class:`DriverHub` (``app.state.driver_hub``, started by this router's lifespan after the
service) subscribes to ``service.bus``. For every ``PlanChanged`` of a vehicle's current
service day it builds a ``route.updated`` (:mod:`api.navigation`) for that vehicle only;
``Assigned`` / ``Cancelled`` become ``task.assigned`` / ``task.cancelled``. Every such event
gets the vehicle's next ``seq`` and waits in its outbox (:mod:`api.driver_protocol`) until the
tablet acknowledges it, so a reconnecting tablet resumes exactly where it left off. The hub
also writes every dispatch event and driver report to the event log
(:mod:`api.storage.driver`) that the operator console replays.

Driver commands (``position``, ``stop.arrived``, ``stop.departed``, ``task.performed``,
``task.no_show``, ``task.no_pickup``) are applied through ``service.mutate`` (durable, on the
Dispatcher thread) and answered with ``command.result`` or ``error``; the answer is kept per
command id, so a retried command is answered the same and applied once.

One process only: the hub is in memory (CONVENTIONS: an in-process connection manager works
with one worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import math
import os
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, WebSocket
from sqlmodel import Session
from starlette.websockets import WebSocketState

from api.auth import Role, principal_for_token
from api.driver_protocol import (
    CLOSE_BAD_MESSAGE,
    CLOSE_FORBIDDEN,
    CLOSE_HEARTBEAT_TIMEOUT,
    CLOSE_REPLACED,
    CLOSE_UNAUTHORIZED,
    COMMAND_TYPES,
    Envelope,
    ProtocolError,
    VehicleChannel,
    envelope,
    parse_envelope,
)
from api.events import BusMessage, event_json
from api.navigation import RouteInput, distance_to_line_m, route_payload
from api.service import DispatchService
from api.storage.driver import (
    ChannelSave,
    DispatchEventRow,
    load_channels,
    save_channels,
    write_event_log,
)
from dispatch.dispatcher import Dispatcher
from dispatch.errors import DispatchError, InvalidTransitionError, UnknownRequestError
from dispatch.events import DispatchEvent
from dispatch.model import CancelledBy, RequestStatus, StopKind
from routing.types import LatLon

__all__ = ["DriverHub", "HubOptions", "router"]

log = logging.getLogger("noriai.drivers")
T = TypeVar("T")

LOOK_AHEAD_S = 2 * 3600
"""A tablet with no work today shows tomorrow's route when it starts within this many seconds."""

NOT_LOGGED = frozenset({"Offered", "Expired"})
"""Bus events left out of the event log (quotes nobody booked)."""


@dataclass(frozen=True, slots=True)
class HubOptions:
    """Driver-side rules.

    Attributes
    ----------
    heartbeat_interval_ms : int
        How often the tablet should send ``heartbeat``; after three intervals of silence the
        server closes with 4408.
    auth_timeout_s : float
        Seconds to wait for the first (``auth``) message.
    no_show_wait_s : int
        Seconds a driver waits at the pickup (after arriving and after the window opened)
        before ``task.no_show`` is accepted.
    off_route_m : float
        A position farther than this from the route to the next stop triggers a re-route.
    max_snap_m : float
        Positions farther than this from every road are refused (``off_map``).
    max_legs : int
        Legs with steps in a ``route.updated``.
    """

    heartbeat_interval_ms: int = 15_000
    auth_timeout_s: float = 10.0
    no_show_wait_s: int = 180
    off_route_m: float = 60.0
    max_snap_m: float = 500.0
    max_legs: int = 4

    @classmethod
    def from_env(cls) -> HubOptions:
        """Read ``NORIAI_DRIVER_HEARTBEAT_MS`` and ``NORIAI_DRIVER_NO_SHOW_WAIT_S`` if set."""
        values: dict[str, Any] = {}
        if os.environ.get("NORIAI_DRIVER_HEARTBEAT_MS"):
            values["heartbeat_interval_ms"] = int(os.environ["NORIAI_DRIVER_HEARTBEAT_MS"])
        if os.environ.get("NORIAI_DRIVER_NO_SHOW_WAIT_S"):
            values["no_show_wait_s"] = int(os.environ["NORIAI_DRIVER_NO_SHOW_WAIT_S"])
        return cls(**values)


class _Connection:
    """One tablet connection: a queue of outgoing messages and the task writing them."""

    def __init__(self, websocket: WebSocket, vehicle_id: str) -> None:
        self.websocket = websocket
        self.vehicle_id = vehicle_id
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.close_code: int | None = None

    def send(self, message: dict[str, Any]) -> None:
        self.queue.put_nowait(message)

    async def write_loop(self) -> None:
        while True:
            message = await self.queue.get()
            if message is None:
                return
            try:
                await self.websocket.send_text(json.dumps(message, ensure_ascii=False))
            except Exception:  # the socket is gone; the receive loop ends the connection
                return

    async def close(self, code: int, reason: str) -> None:
        self.close_code = code
        self.queue.put_nowait(None)
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer, timeout=2)
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=reason)


def _plan_for_log(dispatcher: Dispatcher, vehicle_id: str, bundle: Any) -> dict[str, Any]:
    state = dispatcher.vehicle(vehicle_id)
    point = bundle.node_position(state.node)
    stops = state.plan.stops if state.plan is not None else ()
    return {
        "node": state.node,
        "lat": point.lat,
        "lon": point.lon,
        "onboard": list(state.onboard),
        "stops": [
            {
                "request_id": stop.request_id,
                "kind": stop.kind.value,
                "stop_id": stop.access.stop_id,
                "name": stop.access.name,
                "lat": stop.access.point.lat,
                "lon": stop.access.point.lon,
                "arrival": stop.arrival,
            }
            for stop in stops
        ],
    }


class DriverHub:
    """Outboxes, connections and the bus pump of every vehicle tablet (one per process)."""

    def __init__(self, service: DispatchService, options: HubOptions | None = None) -> None:
        self.service = service
        self.options = options or HubOptions()
        self.channels: dict[str, VehicleChannel] = {}
        self.connections: dict[str, _Connection] = {}
        self.routes: dict[str, dict[str, Any]] = {}
        self.assigned: dict[str, str] = {}
        self.arrivals: dict[tuple[str, str], int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self._navigator = ThreadPoolExecutor(1, thread_name_prefix="noriai-navigation")
        self._logger = ThreadPoolExecutor(1, thread_name_prefix="noriai-event-log")
        self._pending_log: list[DispatchEventRow] = []
        self._dirty: set[str] = set()
        self._flush_lock = asyncio.Lock()
        self._flush_task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self.routes_built = 0

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the bus and learn which vehicle serves which request."""
        self._subscription = self.service.bus.subscribe(maxsize=100_000)

        def assignments() -> dict[str, str]:
            found: dict[str, str] = {}
            for day in self.service.loaded_days():
                for vehicle_id, state in self.service.dispatcher(day).vehicles().items():
                    for stop in state.plan.stops if state.plan else ():
                        found[stop.request_id] = vehicle_id
            return found

        self.assigned = await self.service.call(assignments)
        for row, events in await asyncio.to_thread(load_channels, self.service.engine):
            self.channels[row.vehicle_id] = VehicleChannel(
                row.vehicle_id,
                session_id=row.session_id,
                last_seq=row.last_seq,
                acked_seq=row.acked_seq,
                first_kept_seq=row.first_kept_seq,
                route_version=row.route_version,
                outbox=deque(events),
                persisted_seq=row.last_seq,
                restored=True,
            )
        self._pump_task = asyncio.get_running_loop().create_task(
            self._pump(), name="noriai-driver-pump"
        )

    async def stop(self) -> None:
        """Close every tablet, stop the pump, flush the event log."""
        for connection in list(self.connections.values()):
            await connection.close(1001, "server shutting down")
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
        if self._subscription is not None:
            self._subscription.close()
        await self._flush_log()
        self._navigator.shutdown(wait=False, cancel_futures=True)
        self._logger.shutdown(wait=True)

    def channel(self, vehicle_id: str) -> VehicleChannel:
        """The vehicle's channel (created on first use)."""
        channel = self.channels.get(vehicle_id)
        if channel is None:
            channel = self.channels[vehicle_id] = VehicleChannel(vehicle_id)
        return channel

    def _append(
        self, channel: VehicleChannel, type_: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        message = channel.append(type_, payload)
        self._changed(channel)
        return message

    def _acknowledge(self, channel: VehicleChannel, upto_seq: int) -> None:
        before = channel.acked_seq
        channel.acknowledge(upto_seq)
        if channel.acked_seq != before:
            self._changed(channel)

    def _changed(self, channel: VehicleChannel) -> None:
        self._dirty.add(channel.vehicle_id)
        self._schedule_flush()

    def lock(self, vehicle_id: str) -> asyncio.Lock:
        """Serialises building and appending the vehicle's routes."""
        lock = self._locks.get(vehicle_id)
        if lock is None:
            lock = self._locks[vehicle_id] = asyncio.Lock()
        return lock

    async def read(self, function: Callable[[], T], *, days: Iterable[dt.date] | None = None) -> T:
        """Run a read-only lookup of the Dispatchers, without queueing behind their thread.

        The Dispatcher thread may be busy for seconds with a burst of quotes or bookings; a
        tablet must still get its route within a second. The lookups here only read dicts of
        frozen values (plans, vehicle states, records), which CPython reads atomically, so they
        run right here on the event loop when the Dispatchers of ``days`` (default: today)
        exist; otherwise (one must be created, which writes) they go through ``service.call``.
        """
        needed = {self.service.clock.today()} if days is None else set(days)
        if needed <= set(self.service.loaded_days()):
            return function()
        return await self.service.call(function)

    # --- event log -----------------------------------------------------------------------
    def log_event(
        self,
        day: dt.date,
        time_s: int,
        type_: str,
        payload: dict[str, Any],
        *,
        vehicle_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Queue one event-log row (written within half a second, in order)."""
        self._pending_log.append(
            DispatchEventRow(
                service_day=day,
                time_s=time_s,
                type=type_,
                vehicle_id=vehicle_id,
                request_id=request_id,
                payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
            )
        )
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        """Flush after 0.2 s, and again while changes arrived during the write."""
        while True:
            await asyncio.sleep(0.2)
            await self._flush_log()
            if not self._dirty and not self._pending_log:
                return

    async def flush_log(self) -> None:
        """Write the queued event-log rows now."""
        await self._flush_log()

    async def _flush_log(self) -> None:
        """Write queued event-log rows and outbox changes, in order, on the writer thread."""
        async with self._flush_lock:
            await self._flush_now()

    async def _flush_now(self) -> None:
        rows, self._pending_log = self._pending_log, []
        saves = []
        for vehicle_id in sorted(self._dirty):
            channel = self.channels[vehicle_id]
            saves.append(
                ChannelSave(
                    vehicle_id=vehicle_id,
                    session_id=channel.session_id,
                    last_seq=channel.last_seq,
                    acked_seq=channel.acked_seq,
                    first_kept_seq=channel.first_kept_seq,
                    route_version=channel.route_version,
                    new_messages=tuple(
                        (seq, message)
                        for seq, message in channel.outbox
                        if seq > channel.persisted_seq
                    ),
                )
            )
        self._dirty.clear()
        if not rows and not saves:
            return
        engine = self.service.engine

        def write() -> None:
            write_event_log(engine, rows)
            save_channels(engine, saves)

        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._logger, write)
        except Exception:
            log.exception(
                "could not write %d event-log rows (lost) and %d outboxes (will retry)",
                len(rows),
                len(saves),
            )
            self._dirty.update(save.vehicle_id for save in saves)  # outboxes: retry next time
            return
        for save in saves:
            channel = self.channels[save.vehicle_id]
            channel.persisted_seq = max(channel.persisted_seq, save.last_seq)

    # --- bus pump ------------------------------------------------------------------------
    async def _pump(self) -> None:
        subscription = self._subscription
        while True:
            first = await subscription.queue.get()
            batch = [first]
            while not subscription.queue.empty():
                batch.append(subscription.queue.get_nowait())
            lagged = subscription.lagged
            subscription.lagged = False
            try:
                await self._handle(batch, refresh_all=lagged)
            except Exception:
                log.exception("driver hub could not handle %d events; will go on", len(batch))

    def _driver_day(self, vehicle_id: str) -> dt.date:
        """The service day a tablet follows.

        Yesterday while the vehicle still has work there (trips after midnight); else today
        when it has work today; else tomorrow when its first stop there is due within
        :data:`LOOK_AHEAD_S` (a trip booked late in the evening for just after midnight);
        else today. Read-only (never creates a day): call it inside :meth:`read` or
        ``service.call``.
        """
        clock = self.service.clock
        today = clock.today()
        loaded = self.service.loaded_days()

        def stops_on(day: dt.date) -> tuple[Any, ...] | None:
            if day not in loaded:
                return None
            state = self.service.dispatcher(day).vehicles().get(vehicle_id)
            if state is None:
                return None
            stops = state.plan.stops if state.plan else ()
            return stops if (stops or state.onboard) else None

        if stops_on(today - dt.timedelta(days=1)) is not None:
            return today - dt.timedelta(days=1)
        if stops_on(today) is not None:
            return today
        tomorrow = today + dt.timedelta(days=1)
        ahead = stops_on(tomorrow)
        if ahead and ahead[0].arrival - clock.seconds_now(tomorrow) <= LOOK_AHEAD_S:
            return tomorrow
        return today

    async def _handle(self, batch: Sequence[BusMessage], *, refresh_all: bool) -> None:
        clock = self.service.clock
        plan_changes = {(m.day, str(m.vehicle_id)) for m in batch if m.type == "PlanChanged"}

        def read() -> tuple[dict[tuple[dt.date, str], dict[str, Any]], dict[str, dt.date]]:
            plans = {}
            loaded = set(self.service.loaded_days())
            for day, vehicle_id in plan_changes:
                if day not in loaded:
                    continue
                with contextlib.suppress(DispatchError):
                    plans[(day, vehicle_id)] = _plan_for_log(
                        self.service.dispatcher(day), vehicle_id, self.service.bundle
                    )
            vehicles = {vid for _, vid in plan_changes} | {
                m.vehicle_id for m in batch if m.vehicle_id
            }
            vehicles |= {self.assigned[r] for m in batch if (r := m.request_id) in self.assigned}
            if refresh_all:
                vehicles |= set(self.connections)
            days = {vid: self._driver_day(vid) for vid in vehicles}
            return plans, days

        plans, days = await self.read(read)
        tasks: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        reroute: set[str] = set(self.connections) if refresh_all else set()
        for message in batch:
            event = message.event
            vehicle_id = message.vehicle_id
            if message.type == "PlanChanged" and vehicle_id is not None:
                if days.get(vehicle_id) == message.day:
                    reroute.add(vehicle_id)
            elif message.type == "Assigned" and vehicle_id is not None:
                request_id = str(message.request_id)
                previous = self.assigned.get(request_id)
                self.assigned[request_id] = vehicle_id
                moved_away = previous is not None and previous != vehicle_id
                if moved_away and days.get(str(previous)) == message.day:
                    tasks.setdefault(str(previous), []).append(
                        ("task.cancelled", {"request_id": request_id, "reason": "reassigned"})
                    )
                if days.get(vehicle_id) == message.day:
                    tasks.setdefault(vehicle_id, []).append(
                        ("task.assigned", {"request_id": request_id})
                    )
            elif message.type in {"Cancelled", "NoShow", "Completed"}:
                request_id = str(message.request_id)
                previous = self.assigned.pop(request_id, None)
                if (
                    message.type == "Cancelled"
                    and previous is not None
                    and days.get(previous) == message.day
                ):
                    by = getattr(event, "by", None)
                    tasks.setdefault(previous, []).append(
                        (
                            "task.cancelled",
                            {
                                "request_id": request_id,
                                "reason": "cancelled",
                                "cancelled_by": by.value if isinstance(by, CancelledBy) else by,
                            },
                        )
                    )
        if tasks:
            await self._fill_tasks(tasks, days)
        vehicles = sorted(set(tasks) | reroute)
        if vehicles:
            await self.publish(vehicles, tasks=tasks, reroute=reroute, reason="plan_changed")
        # The event log after the tablets: it is written behind anyway.
        for message in batch:
            if message.type in NOT_LOGGED:
                continue
            data = event_json(message, clock)
            for key in ("type", "service_day", "at"):
                data.pop(key, None)
            if message.type == "PlanChanged":
                data.update(plans.get((message.day, str(message.vehicle_id)), {}))
            self.log_event(
                message.day,
                message.event.time,
                message.type,
                data,
                vehicle_id=message.vehicle_id,
                request_id=message.request_id,
            )

    async def _fill_tasks(
        self, tasks: dict[str, list[tuple[str, dict[str, Any]]]], days: dict[str, dt.date]
    ) -> None:
        """Add the trip's stops and promise to each ``task.assigned`` payload."""
        clock = self.service.clock

        def read() -> None:
            for vehicle_id, items in tasks.items():
                day = days[vehicle_id]
                dispatcher = self.service.dispatcher(day)
                for type_, payload in items:
                    payload["service_day"] = day.isoformat()
                    if type_ != "task.assigned":
                        continue
                    try:
                        booking = dispatcher.booking(payload["request_id"])
                    except DispatchError:
                        continue
                    offer = booking.offer
                    payload.update(
                        passengers=booking.request.passengers,
                        wheelchairs=booking.request.wheelchairs,
                        pickup={
                            "stop_id": offer.pickup.stop_id,
                            "name": offer.pickup.name,
                            "lat": offer.pickup.point.lat,
                            "lon": offer.pickup.point.lon,
                            "window_earliest": clock.to_datetime(
                                day, offer.pickup_earliest
                            ).isoformat(),
                            "window_latest": clock.to_datetime(
                                day, offer.pickup_latest
                            ).isoformat(),
                        },
                        dropoff={
                            "stop_id": offer.dropoff.stop_id,
                            "name": offer.dropoff.name,
                            "lat": offer.dropoff.point.lat,
                            "lon": offer.dropoff.point.lon,
                            "latest_arrival": clock.to_datetime(
                                day, offer.latest_arrival
                            ).isoformat(),
                        },
                    )

        await self.read(read, days=(days[vehicle_id] for vehicle_id in tasks))

    # --- routes --------------------------------------------------------------------------
    async def _route_inputs(self, vehicle_ids: Sequence[str]) -> dict[str, RouteInput]:
        def read() -> dict[str, RouteInput]:
            found = {}
            for vehicle_id in vehicle_ids:
                day = self._driver_day(vehicle_id)
                with contextlib.suppress(DispatchError):
                    state = self.service.dispatcher(day).vehicle(vehicle_id)
                    found[vehicle_id] = RouteInput(
                        service_day=day, state=state, start_node=state.node
                    )
            return found

        return await self.read(read)

    async def _build_routes(
        self, inputs: dict[str, RouteInput], reason: str
    ) -> dict[str, dict[str, Any]]:
        graph, clock, max_legs = (
            self.service.bundle.graph,
            self.service.clock,
            self.options.max_legs,
        )

        def build() -> dict[str, dict[str, Any]]:
            return {
                vehicle_id: route_payload(graph, source, clock, reason=reason, max_legs=max_legs)
                for vehicle_id, source in inputs.items()
            }

        loop = asyncio.get_running_loop()
        routes = await loop.run_in_executor(self._navigator, build)
        self.routes_built += len(routes)
        return routes

    async def publish(
        self,
        vehicle_ids: Sequence[str],
        *,
        tasks: dict[str, list[tuple[str, dict[str, Any]]]] | None = None,
        reroute: set[str] | None = None,
        reason: str,
    ) -> None:
        """Append task events and fresh routes to the vehicles' outboxes and send them.

        One vehicle at a time, tablets that are connected first, each sent as soon as its
        route is built. The vehicle's lock is held while its route is read and built, so a
        tablet resuming meanwhile cannot interleave a stale snapshot.
        """
        tasks = tasks or {}
        reroute = set(vehicle_ids) if reroute is None else reroute
        ordered = sorted(set(vehicle_ids), key=lambda v: (v not in self.connections, v))
        for vehicle_id in ordered:
            async with self.lock(vehicle_id):
                routes: dict[str, dict[str, Any]] = {}
                if vehicle_id in reroute:
                    routes = await self._build_routes(
                        await self._route_inputs([vehicle_id]), reason
                    )
                channel = self.channel(vehicle_id)
                for type_, payload in tasks.get(vehicle_id, []):
                    self._deliver(vehicle_id, self._append(channel, type_, payload))
                route = routes.get(vehicle_id)
                if route is not None:
                    self._remember_route(vehicle_id, route)
                    self._deliver(vehicle_id, self._append(channel, "route.updated", route))

    def _remember_route(self, vehicle_id: str, route: dict[str, Any]) -> None:
        self.routes[vehicle_id] = route
        for stop in route["stops"]:
            for rider in (*stop["board"], *stop["alight"]):
                self.assigned[rider["request_id"]] = vehicle_id

    def _deliver(self, vehicle_id: str, message: dict[str, Any]) -> None:
        connection = self.connections.get(vehicle_id)
        if connection is not None:
            connection.send(message)

    # --- a tablet's connection -----------------------------------------------------------
    async def serve(self, websocket: WebSocket) -> None:
        """Authenticate, resume or snapshot, then answer the tablet until it leaves."""
        opened = await self._authenticate(websocket)
        if opened is None:
            return
        connection, resume_session, resume_seq = opened
        vehicle_id = connection.vehicle_id
        channel = self.channel(vehicle_id)
        async with self.lock(vehicle_id):
            resumed = channel.can_resume(resume_session, resume_seq)
            backlog = []
            if resumed:
                assert resume_seq is not None
                self._acknowledge(channel, resume_seq)
                backlog = channel.events_after(resume_seq)
            if not resumed or channel.restored:
                # A snapshot: no usable resume point, or the first connection after a restart
                # (the outbox was restored, but the plan may have changed while we were down).
                inputs = await self._route_inputs([vehicle_id])
                routes = await self._build_routes(inputs, "snapshot")
                if vehicle_id in routes:
                    self._remember_route(vehicle_id, routes[vehicle_id])
                    backlog.append(self._append(channel, "route.updated", routes[vehicle_id]))
            channel.restored = False
            previous = self.connections.get(vehicle_id)
            self.connections[vehicle_id] = connection
            connection.send(
                envelope(
                    "hello",
                    {
                        "session_id": channel.session_id,
                        "heartbeat_interval_ms": self.options.heartbeat_interval_ms,
                        "vehicle_id": vehicle_id,
                        "resumed": resumed,
                        "last_seq": channel.last_seq,
                        "replayed": len(backlog) if resumed else 0,
                        "no_show_wait_s": self.options.no_show_wait_s,
                    },
                    ack=channel.acked_seq,
                )
            )
            for message in backlog:
                connection.send(message)
        connection.writer = asyncio.get_running_loop().create_task(connection.write_loop())
        if previous is not None:
            await previous.close(CLOSE_REPLACED, "another connection of this vehicle took over")
        self.log_event(
            self.service.clock.today(),
            self.service.clock.seconds_now(self.service.clock.today()),
            "DriverConnected",
            {"resumed": resumed},
            vehicle_id=vehicle_id,
        )
        try:
            await self._receive_loop(connection, channel)
        finally:
            if self.connections.get(vehicle_id) is connection:
                del self.connections[vehicle_id]
            await connection.close(connection.close_code or 1000, "bye")

    async def _authenticate(
        self, websocket: WebSocket
    ) -> tuple[_Connection, str | None, int | None] | None:
        async def refuse(code: int, reason: str, error_code: str) -> None:
            with contextlib.suppress(Exception):
                await websocket.send_text(
                    json.dumps(
                        envelope("error", {"id": None, "code": error_code, "message": reason})
                    )
                )
                await websocket.close(code=code, reason=reason[:120])

        try:
            first = await asyncio.wait_for(websocket.receive(), self.options.auth_timeout_s)
        except TimeoutError:
            await refuse(CLOSE_UNAUTHORIZED, "send auth first", "auth_required")
            return None
        if first["type"] == "websocket.disconnect":
            return None
        text = first.get("text")
        if text is None:
            await refuse(CLOSE_BAD_MESSAGE, "send JSON text frames", "bad_frame")
            return None
        try:
            message = parse_envelope(text)
        except ProtocolError as error:
            await refuse(CLOSE_UNAUTHORIZED, f"first message must be auth: {error}", error.code)
            return None
        if message.type != "auth":
            await refuse(CLOSE_UNAUTHORIZED, "first message must be auth", "auth_required")
            return None
        token = message.payload.get("token")
        vehicle_id = message.payload.get("vehicle_id")
        if not isinstance(token, str) or not isinstance(vehicle_id, str) or len(token) > 200:
            await refuse(CLOSE_UNAUTHORIZED, "auth needs token and vehicle_id", "bad_auth")
            return None

        def lookup() -> Any:
            with Session(self.service.engine) as session:
                return principal_for_token(session, token)

        principal = await asyncio.to_thread(lookup)
        if principal is None:
            await refuse(CLOSE_UNAUTHORIZED, "unknown or revoked token", "unauthorized")
            return None
        if principal.role is not Role.VEHICLE or principal.id != vehicle_id:
            await refuse(CLOSE_FORBIDDEN, "this token belongs to another vehicle", "forbidden")
            return None
        resume = message.payload.get("resume") or {}
        session_id = resume.get("session_id") if isinstance(resume, dict) else None
        last_seq = resume.get("last_seq") if isinstance(resume, dict) else None
        if not isinstance(session_id, str):
            session_id = None
        if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
            last_seq = None
        return _Connection(websocket, vehicle_id), session_id, last_seq

    async def _receive_loop(self, connection: _Connection, channel: VehicleChannel) -> None:
        websocket = connection.websocket
        silence = 3 * self.options.heartbeat_interval_ms / 1000
        while True:
            try:
                frame = await asyncio.wait_for(websocket.receive(), silence)
            except TimeoutError:
                connection.close_code = CLOSE_HEARTBEAT_TIMEOUT
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                connection.close_code = CLOSE_BAD_MESSAGE
                return
            try:
                message = parse_envelope(text)
            except ProtocolError as error:
                connection.send(self._error(channel, error.message_id, error.code, error.message))
                continue
            if connection.close_code is not None:
                return
            if message.ack is not None:
                self._acknowledge(channel, message.ack)
            await self._answer(connection, channel, message)

    def _error(
        self, channel: VehicleChannel, message_id: str | None, code: str, text: str
    ) -> dict[str, Any]:
        return envelope(
            "error", {"id": message_id, "code": code, "message": text}, ack=channel.acked_seq
        )

    async def _answer(
        self, connection: _Connection, channel: VehicleChannel, message: Envelope
    ) -> None:
        if message.type == "auth":
            connection.send(
                self._error(channel, message.id, "already_authenticated", "auth only once")
            )
        elif message.type in {"ack", "heartbeat"}:
            key = "upto_seq" if message.type == "ack" else "last_seq"
            value = message.payload.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                connection.send(
                    self._error(channel, message.id, "bad_field", f"{key} must be an integer >= 0")
                )
                return
            self._acknowledge(channel, value)
            if message.type == "heartbeat":
                connection.send(
                    envelope(
                        "heartbeat_ack",
                        {
                            "last_seq": channel.last_seq,
                            "acked_seq": channel.acked_seq,
                            "route_version": channel.route_version,
                        },
                        ack=channel.acked_seq,
                    )
                )
        elif message.type in COMMAND_TYPES:
            connection.send(await self._command(channel, message))

    # --- commands ------------------------------------------------------------------------
    async def _command(self, channel: VehicleChannel, message: Envelope) -> dict[str, Any]:
        """The answer to a command, applied at most once per command id."""
        stored = channel.reply_for(message.id)
        if stored is not None:
            return stored
        key = (channel.vehicle_id, message.id)
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            try:
                result = await self._apply(channel.vehicle_id, message)
                reply = envelope(
                    "command.result",
                    {"command_id": message.id, "command": message.type, "ok": True, **result},
                    ack=channel.acked_seq,
                )
            except ProtocolError as error:
                reply = self._error(channel, message.id, error.code, error.message)
            except InvalidTransitionError as error:
                reply = self._error(channel, message.id, "invalid_transition", str(error))
            except UnknownRequestError as error:
                reply = self._error(channel, message.id, "unknown_request", str(error))
            except DispatchError as error:
                reply = self._error(channel, message.id, "rejected", str(error))
            channel.remember_reply(message.id, reply)
        except Exception:
            log.exception("command %s of %s failed", message.type, channel.vehicle_id)
            reply = self._error(
                channel, message.id, "internal", "the server could not apply it; retry later"
            )
        finally:
            self._inflight.pop(key, None)
        future.set_result(reply)
        return reply

    async def _apply(self, vehicle_id: str, message: Envelope) -> dict[str, Any]:
        payload = message.payload
        if message.type == "position":
            return await self._position(vehicle_id, payload, message.id)
        if message.type in {"stop.arrived", "stop.departed"}:
            return await self._stop_event(vehicle_id, message.type, payload, message.id)
        request_id = payload.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise ProtocolError("bad_field", "request_id is required", message_id=message.id)
        if message.type == "task.performed":
            action = payload.get("action")
            if action not in (None, "pickup", "dropoff"):
                raise ProtocolError(
                    "bad_field", "action must be pickup or dropoff", message_id=message.id
                )
            return await self._task(vehicle_id, request_id, message.type, action, payload)
        return await self._task(vehicle_id, request_id, message.type, None, payload)

    async def _request_day(self, vehicle_id: str, request_id: str) -> dt.date:
        def find() -> dt.date | None:
            for day in self.service.loaded_days():
                try:
                    record = self.service.dispatcher(day).record(request_id)
                except UnknownRequestError:
                    continue
                if record.vehicle_id not in (None, vehicle_id):
                    raise ProtocolError(
                        "not_your_task", f"request {request_id} is served by another vehicle"
                    )
                return day
            return None

        day = await self.service.call(find)
        if day is None:
            raise ProtocolError("unknown_request", f"no request {request_id}; check the route")
        return day

    async def _task(
        self,
        vehicle_id: str,
        request_id: str,
        type_: str,
        action: str | None,
        payload: dict[str, Any],
    ) -> dict[str, Any]:
        day = await self._request_day(vehicle_id, request_id)
        wait = self.options.no_show_wait_s
        arrivals = self.arrivals
        done: dict[str, Any] = {}

        def change(dispatcher: Dispatcher, now: int) -> list[DispatchEvent]:
            record = dispatcher.record(request_id)
            if record.vehicle_id != vehicle_id:
                raise ProtocolError(
                    "not_your_task", f"request {request_id} is not on this vehicle's route"
                )
            status = record.status
            if type_ == "task.performed":
                kind = "pickup" if status is RequestStatus.ASSIGNED else "dropoff"
                if status not in (RequestStatus.ASSIGNED, RequestStatus.ONBOARD):
                    raise ProtocolError(
                        "invalid_transition", f"request {request_id} is {status.value}"
                    )
                if action is not None and action != kind:
                    raise ProtocolError(
                        "wrong_action",
                        f"request {request_id} is {status.value}: the next task is {kind}",
                    )
                done["action"] = kind
                if kind == "pickup":
                    return dispatcher.on_pickup(request_id, now)
                return dispatcher.on_dropoff(request_id, now)
            if status is not RequestStatus.ASSIGNED:
                raise ProtocolError(
                    "invalid_transition",
                    f"request {request_id} is {status.value}; only a waiting rider can be "
                    "a no-show or a no-pickup",
                )
            if type_ == "task.no_pickup":
                reason = str(payload.get("reason", ""))[:200]
                return dispatcher.cancel(
                    request_id, CancelledBy.PROVIDER, now, reason=f"no pickup: {reason}".strip()
                )
            pickup = next(
                s
                for s in dispatcher.plan(vehicle_id).stops
                if s.request_id == request_id and s.kind is StopKind.PICKUP
            )
            arrived = arrivals.get((vehicle_id, pickup.access.stop_id))
            if arrived is None:
                raise ProtocolError(
                    "not_arrived", "report stop.arrived at the pickup stop first, then wait"
                )
            allowed = max(arrived, pickup.earliest) + wait
            if now < allowed:
                raise ProtocolError(
                    "too_early",
                    f"wait {allowed - now} s more at the stop before reporting a no-show",
                )
            return dispatcher.no_show(request_id, now)

        await self.service.mutate(day, change)
        status = await self.service.call(
            lambda: self.service.dispatcher(day).status(request_id).value
        )
        return {"request_id": request_id, "status": status, **done}

    async def _stop_event(
        self, vehicle_id: str, type_: str, payload: dict[str, Any], message_id: str
    ) -> dict[str, Any]:
        stop_id = payload.get("stop_id")
        if not isinstance(stop_id, str) or not stop_id:
            raise ProtocolError("bad_field", "stop_id is required", message_id=message_id)

        def find() -> tuple[dt.date, int, int]:
            day = self._driver_day(vehicle_id)
            dispatcher = self.service.dispatcher(day)
            now = self.service.clock.seconds_now(day)
            if type_ == "stop.departed":
                # The stop's tasks may be done (and gone from the plan): leave from where
                # the vehicle is.
                return day, dispatcher.vehicle(vehicle_id).node, now
            for stop in dispatcher.plan(vehicle_id).stops:
                if stop.access.stop_id == stop_id:
                    return day, stop.access.node, now
            raise ProtocolError(
                "unknown_stop",
                f"stop {stop_id} is not on this vehicle's route",
                message_id=message_id,
            )

        day, node, now = await self.service.call(find)
        if type_ == "stop.arrived":
            self.arrivals[(vehicle_id, stop_id)] = now
            await self.service.mutate(day, lambda d, at: d.on_position(vehicle_id, node, at))
        else:
            await self.service.mutate(day, lambda d, at: d.on_departure(vehicle_id, at))
        position = self.service.bundle.node_position(node)
        self.log_event(
            day,
            now,
            "StopArrived" if type_ == "stop.arrived" else "StopDeparted",
            {"stop_id": stop_id, "node": node, "lat": position.lat, "lon": position.lon},
            vehicle_id=vehicle_id,
        )
        return {"stop_id": stop_id, "at": self.service.clock.to_datetime(day, now).isoformat()}

    async def _position(
        self, vehicle_id: str, payload: dict[str, Any], message_id: str
    ) -> dict[str, Any]:
        def number(name: str, low: float, high: float, *, required: bool) -> float | None:
            value = payload.get(name)
            if value is None and not required:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ProtocolError("bad_field", f"{name} must be a number", message_id=message_id)
            if not (math.isfinite(value) and low <= value <= high):
                raise ProtocolError(
                    "bad_field", f"{name} must be within {low}..{high}", message_id=message_id
                )
            return float(value)

        lat = number("lat", -90, 90, required=True)
        lon = number("lon", -180, 180, required=True)
        accuracy = number("accuracy_m", 0, 10_000, required=False) or 0.0
        bearing = number("bearing", 0, 360, required=False)
        speed = number("speed_mps", 0, 100, required=False)
        assert lat is not None
        assert lon is not None
        node, snapped_m = self.service.bundle.snap(LatLon(lat, lon))
        if snapped_m > self.options.max_snap_m:
            raise ProtocolError(
                "off_map",
                f"the position is {snapped_m} m from the nearest road of the service area",
                message_id=message_id,
            )
        day = await self.service.call(lambda: self._driver_day(vehicle_id))
        await self.service.mutate(day, lambda d, now: d.on_position(vehicle_id, node, now))
        now = self.service.clock.seconds_now(day)
        self.log_event(
            day,
            now,
            "VehiclePosition",
            {
                "lat": lat,
                "lon": lon,
                "node": node,
                "bearing": bearing,
                "speed_mps": speed,
                "accuracy_m": accuracy,
            },
            vehicle_id=vehicle_id,
        )
        off_route_m = self._off_route_m(vehicle_id, lat, lon)
        rerouted = off_route_m is not None and off_route_m > self.options.off_route_m + min(
            accuracy, 50.0
        )
        if rerouted:
            await self.publish([vehicle_id], reason="off_route")
        return {
            "node": node,
            "snapped_m": snapped_m,
            "off_route_m": None if off_route_m is None else round(off_route_m, 1),
            "rerouted": rerouted,
        }

    def _off_route_m(self, vehicle_id: str, lat: float, lon: float) -> float | None:
        """Metres from the position to the route to the next stop (None: no route)."""
        route = self.routes.get(vehicle_id)
        if not route or not route.get("route"):
            return None
        coordinates = [
            point
            for step in route["steps"]
            if step.get("leg") == 0
            for point in step["geometry"]["coordinates"]
        ]
        if not coordinates:
            return None
        return distance_to_line_m(coordinates, lat, lon)

    # --- for the console and the benchmark -----------------------------------------------
    def status(self) -> dict[str, Any]:
        """Connected vehicles and their seq counters."""
        return {
            vehicle_id: {
                "connected": vehicle_id in self.connections,
                "session_id": channel.session_id,
                "last_seq": channel.last_seq,
                "acked_seq": channel.acked_seq,
                "unacked": len(channel.outbox),
                "persisted_seq": channel.persisted_seq,
                "route_version": channel.route_version,
            }
            for vehicle_id, channel in sorted(self.channels.items())
        }


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the app's lifespan, after ``app.state.service`` exists."""
    hub = DriverHub(app.state.service, HubOptions.from_env())
    app.state.driver_hub = hub
    await hub.start()
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(tags=["driver"], lifespan=_lifespan)


@router.websocket("/v1/drivers/ws")
async def driver_socket(websocket: WebSocket) -> None:
    """The vehicle tablet's resumable event stream (protocol: docs/driver-protocol.md)."""
    hub: DriverHub = websocket.app.state.driver_hub
    await websocket.accept()
    await hub.serve(websocket)
