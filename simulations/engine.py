"""The discrete-event engine: drives one :class:`dispatch.dispatcher.Dispatcher` through a day.

Events sit in a heap ordered by ``(time, priority, sequence)``; ``sequence`` is a running number,
so events at the same time and priority run in the order they were scheduled and every run
resolves ties identically. Priorities at equal times: vehicles first (arrivals, position
reports, end of dwell), then riders (cancellations, arriving at stops), then new requests, then
``Dispatcher.tick``.

Vehicles drive the fastest path (:func:`routing.paths.shortest_path`) to the next stop of their
current plan, node by node. A driving vehicle reports its position
(``Dispatcher.on_position``) at the first node reached after every ``position_interval_s``
seconds and on arrival; when its plan's next stop changes while it drives, it turns at the next
node. At a stop it waits for the pickup window and the rider (who walks there and is ready at
the start of the promised window), boards or drops riders off with the configured dwell
(``dwell_stop_s`` per visit plus ``dwell_per_rider_s`` per rider) and calls ``on_pickup`` /
``on_dropoff``. A no-show is reported ``no_show_wait_s`` after the window opens. An idle vehicle
parks where it is; after the day every vehicle drives back to its depot.

Riders choose the best offer and book it, unless they decline (seeded); a seeded share cancels
before the pickup, another does not show up. All randomness comes from
``numpy.random.default_rng([seed, RIDER_STREAM])``, drawn in request order before the run.

A failed event is never dropped silently: the exception is written to the log as an ``error``
record and counted in the KPIs.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dispatch.dispatcher import Dispatcher
from dispatch.errors import OfferError
from dispatch.events import DispatchEvent, Offered, PlanChanged
from dispatch.model import CancelledBy, Offer, OfferKind, StopKind, Vehicle
from dispatch.params import ServiceParams
from dispatch.pdp import PdpSolution
from dispatch.reoptimize import (
    ReoptimizationProblem,
    ReoptimizationSolution,
    solve_reoptimization,
)
from dispatch.schedule import dwell_seconds
from routing.graph import RoadGraph
from routing.oracle import TravelTimeOracle
from routing.paths import shortest_path
from routing.types import NodeId, Seconds
from simulations.demand import DemandRequest
from simulations.eventlog import EventLog
from simulations.scenario import RiderSpec

__all__ = [
    "RIDER_STREAM",
    "EngineSettings",
    "Simulation",
    "solution_from_record",
    "solution_record",
]

RIDER_STREAM = 2
"""Second word of the rider-behaviour generator's seed."""

PRIORITY_VEHICLE = 0
PRIORITY_RIDER = 1
PRIORITY_REQUEST = 2
PRIORITY_TICK = 3

EXTRA_HOURS_S = 6 * 3600
"""Ticks stop this long after the last shift ends even if a vehicle still seems busy."""


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the engine behaves (from the scenario).

    Attributes
    ----------
    seed : int
        Seed of the rider-behaviour draws.
    riders : RiderSpec
        No-show, cancellation and decline rates; no-show wait.
    params : ServiceParams
        The service rules the Dispatcher uses (dwell times are taken from here).
    tick_interval_s : Seconds
        ``Dispatcher.tick`` period.
    position_interval_s : Seconds
        Position report period of a driving vehicle.
    reoptimize_interval_s : Seconds
        Re-optimization period (0: never). The engine runs it like the live service does:
        ``reoptimization_problem`` -> ``solve_reoptimization`` -> ``apply_reoptimization``, at
        the first tick at least this long after the previous run (the Dispatcher itself gets
        ``reoptimize_interval_s = 0``, so ``tick`` only expires offers).
    recorded_solutions : mapping, optional
        Replay: solver answers recorded in an event log (``reoptimize`` records by time). When
        given, these are adopted instead of solving again, so a replay reproduces a day even
        when its solver ran against a wall-clock limit (``reoptimize_solution_limit = 0``, or a
        search the time cap ended: ``time_capped`` records).
    """

    seed: int
    riders: RiderSpec
    params: ServiceParams
    tick_interval_s: Seconds = 60
    position_interval_s: Seconds = 60
    reoptimize_interval_s: Seconds = 0
    recorded_solutions: Mapping[int, Mapping[str, Any]] | None = None


@dataclass(slots=True)
class _Rider:
    demand: DemandRequest
    decline_draw: float
    cancel_draw: float
    cancel_time_draw: float
    no_show_draw: float
    offer: Offer | None = None
    ready_t: Seconds = 0
    no_show: bool = False
    picked_up: bool = False
    done: bool = False


@dataclass(slots=True)
class _VehicleRun:
    """The engine's view of a vehicle.

    ``state``: ``idle`` (parked, empty plan), ``holding`` (parked until it must leave for the
    next stop), ``driving``, ``stop`` (at a stop deciding),
    ``waiting`` (at a stop, for a window or a rider) or ``service`` (dwelling).
    While driving, ``path_nodes[i]`` is reached at ``path_start_t + cum_s[i]`` after
    ``cum_m[i]`` metres; ``reported`` is the last index written to the log and reported to the
    Dispatcher, ``next_index`` the index of the next scheduled position report.
    """

    vehicle: Vehicle
    node: NodeId
    state: str = "idle"
    token: int = 0
    target: NodeId = -1
    path_nodes: tuple[int, ...] = ()
    cum_s: list[int] = field(default_factory=list)
    cum_m: list[int] = field(default_factory=list)
    path_start_t: Seconds = 0
    reported: int = 0
    next_index: int = 0
    load: int = 0
    serving: tuple[str, str] = ("", "")
    wait_since: Seconds = 0
    waiting_for: tuple[str, str] = ("", "")
    free_t: Seconds = 0


def solution_record(solution: ReoptimizationSolution) -> dict[str, Any]:
    """A solver answer as log fields (without its wall time, which differs between runs)."""
    pdp = solution.pdp
    record: dict[str, Any] = {
        "error": solution.error,
        "solved": pdp is not None,
        "routes": [] if pdp is None else [[list(visit) for visit in route] for route in pdp.routes],
        "cost": None if pdp is None else pdp.cost,
        "unserved": [] if pdp is None else list(pdp.unserved),
        "feasible": None if pdp is None else pdp.feasible,
    }
    if pdp is not None and pdp.time_capped:
        # The wall-clock cap, not the solution limit, ended the search: this answer depends on
        # machine speed, so a run with the same seed may differ from here (written only then,
        # so logs of runs without a cap keep their form).
        record["time_capped"] = True
    return record


def solution_from_record(
    problem: ReoptimizationProblem, record: Mapping[str, Any]
) -> ReoptimizationSolution:
    """The answer a ``reoptimize`` record holds, for the same problem rebuilt in a replay."""
    if not record.get("solved"):
        return ReoptimizationSolution(problem=problem, pdp=None, error=str(record.get("error", "")))
    pdp = PdpSolution(
        routes=tuple(
            tuple((int(task), str(kind)) for task, kind in route) for route in record["routes"]
        ),
        cost=int(record["cost"]),
        unserved=tuple(int(task) for task in record["unserved"]),
        feasible=bool(record["feasible"]),
        seconds=0.0,
        time_capped=bool(record.get("time_capped", False)),
    )
    return ReoptimizationSolution(problem=problem, pdp=pdp, error=str(record.get("error", "")))


def _event_record(event: DispatchEvent) -> dict[str, Any]:
    data = asdict(event)
    data.pop("time", None)
    return {"event": type(event).__name__, **data}


class Simulation:
    """One simulated service day.

    Parameters
    ----------
    dispatcher : Dispatcher
        The live dispatch code, already holding the fleet.
    graph : RoadGraph
        Road graph the vehicles drive on.
    oracle : TravelTimeOracle
        For the direct driving time of each booked trip (detour factor).
    vehicles : sequence of Vehicle
        The fleet (each starts idle at its depot).
    demand : sequence of DemandRequest
        Requests in submission order.
    settings : EngineSettings
        Seed, rider behaviour, service rules, tick and position periods.
    log : EventLog
        Records are appended here.
    progress : callable, optional
        ``progress(requests_submitted, requests_total)`` after each request.
    """

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        graph: RoadGraph,
        oracle: TravelTimeOracle,
        vehicles: Sequence[Vehicle],
        demand: Sequence[DemandRequest],
        settings: EngineSettings,
        log: EventLog,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.graph = graph
        self.oracle = oracle
        self.settings = settings
        self.log = log
        self.progress = progress
        self.demand = list(demand)
        draws = np.random.default_rng([settings.seed, RIDER_STREAM]).random((len(self.demand), 4))
        self.riders: dict[str, _Rider] = {}
        for index, item in enumerate(self.demand):
            row = draws[index]
            self.riders[item.request.id] = _Rider(
                demand=item,
                decline_draw=float(row[0]),
                cancel_draw=float(row[1]),
                cancel_time_draw=float(row[2]),
                no_show_draw=float(row[3]),
            )
        self.vehicles = {
            v.id: _VehicleRun(vehicle=v, node=v.depot, free_t=v.shift_start) for v in vehicles
        }
        self._heap: list[tuple[int, int, int, str, tuple[Any, ...]]] = []
        self._sequence = 0
        self._pending_other = 0
        self._submitted = 0
        self._last_reoptimized: Seconds | None = None
        self.last_shift_end = max((v.shift_end for v in vehicles), default=0)
        self.handlers: dict[str, Callable[..., None]] = {
            "request": self._on_request,
            "cancel": self._on_cancel,
            "rider_at_stop": self._on_rider_at_stop,
            "tick": self._on_tick,
            "checkpoint": self._on_checkpoint,
            "at_stop": self._on_at_stop,
            "service_done": self._on_service_done,
            "wake": self._on_wake,
        }

    # --- the heap ------------------------------------------------------------------------
    def _schedule(self, t: Seconds, priority: int, kind: str, *args: Any) -> None:
        self._sequence += 1
        if kind != "tick":
            self._pending_other += 1
        heapq.heappush(self._heap, (int(t), priority, self._sequence, kind, args))

    def run(self) -> EventLog:
        """Run the day to the end; returns the log (also ``self.log``)."""
        if self.demand:
            start = min(
                self.demand[0].request_time,
                min((v.vehicle.shift_start for v in self.vehicles.values()), default=0),
            )
        else:
            start = min((v.vehicle.shift_start for v in self.vehicles.values()), default=0)
        self.last_request_t = self.demand[-1].request_time if self.demand else start
        for index, item in enumerate(self.demand):
            self._schedule(item.request_time, PRIORITY_REQUEST, "request", index)
        self._schedule(start, PRIORITY_TICK, "tick")
        now = start
        while self._heap:
            now, _priority, _sequence, kind, args = heapq.heappop(self._heap)
            if kind != "tick":
                self._pending_other -= 1
            try:
                self.handlers[kind](now, *args)
            except Exception as error:  # a failed event is logged, never dropped
                self.log.add(
                    now,
                    "error",
                    event=kind,
                    args=[str(a) for a in args],
                    message=f"{type(error).__name__}: {error}",
                )
                if kind in ("checkpoint", "at_stop", "service_done", "wake") and args:
                    self._park(self.vehicles[args[0]], now)
        self._return_to_depots(now)
        return self.log

    # --- dispatcher events ---------------------------------------------------------------
    def _absorb(self, events: Sequence[DispatchEvent], now: Seconds) -> None:
        changed: list[str] = []
        for event in events:
            if isinstance(event, Offered):
                continue
            self.log.add(now, "dispatch", **_event_record(event))
            if isinstance(event, PlanChanged) and event.vehicle_id not in changed:
                changed.append(event.vehicle_id)
        for vehicle_id in changed:
            run = self.vehicles.get(vehicle_id)
            if run is not None:
                self._react(run, now)

    def _react(self, run: _VehicleRun, now: Seconds) -> None:
        """Make the vehicle follow its (possibly changed) plan; a no-op when it already does."""
        stops = self.dispatcher.plan(run.vehicle.id).stops
        first = stops[0] if stops else None
        if run.state == "holding":
            run.token += 1
            self._schedule(now, PRIORITY_VEHICLE, "wake", run.vehicle.id, run.token)
        elif run.state == "idle":
            if first is not None:
                run.token += 1
                self._schedule(now, PRIORITY_VEHICLE, "wake", run.vehicle.id, run.token)
        elif run.state == "driving":
            if first is None or first.access.node != run.target:
                # Turn at the next node reached at or after now.
                offset = now - run.path_start_t
                k = bisect.bisect_left(run.cum_s, offset, lo=run.reported + 1)
                k = min(k, len(run.path_nodes) - 1)
                if k < run.next_index:
                    run.token += 1
                    run.next_index = k
                    self._schedule(
                        run.path_start_t + run.cum_s[k],
                        PRIORITY_VEHICLE,
                        "checkpoint",
                        run.vehicle.id,
                        run.token,
                        k,
                    )
        elif run.state == "waiting" and (
            first is None or (first.request_id, str(first.kind)) != run.waiting_for
        ):
            run.token += 1
            self._schedule(now, PRIORITY_VEHICLE, "at_stop", run.vehicle.id, run.token)

    # --- riders --------------------------------------------------------------------------
    def _on_request(self, now: Seconds, index: int) -> None:
        item = self.demand[index]
        request = item.request
        rider = self.riders[request.id]
        self._submitted += 1
        if self.progress is not None:
            self.progress(self._submitted, len(self.demand))
        self.log.add(
            now,
            "request",
            id=request.id,
            passengers=request.passengers,
            wheelchairs=request.wheelchairs,
            arrive_by=request.arrive_by,
            depart_at=request.depart_at,
            door_to_door=request.door_to_door,
        )
        result = self.dispatcher.quote(request, now)
        self._absorb(result.events, now)
        if not result.offers:
            reason = result.rejection.value if result.rejection is not None else "unknown"
            self.log.add(now, "rejected", id=request.id, reason=reason)
            rider.done = True
            return
        best = next((o for o in result.offers if o.kind == OfferKind.BEST), result.offers[0])
        self.log.add(
            now,
            "offered",
            id=request.id,
            offers=len(result.offers),
            offer_id=best.id,
            vehicle=best.vehicle_id,
            pickup_stop=best.pickup.stop_id,
            dropoff_stop=best.dropoff.stop_id,
            pickup_walk_m=best.pickup.walk_m,
            dropoff_walk_m=best.dropoff.walk_m,
            pickup_earliest=best.pickup_earliest,
            pickup_latest=best.pickup_latest,
            latest_arrival=best.latest_arrival,
            expected_pickup=best.expected_pickup,
            expected_arrival=best.expected_arrival,
        )
        riders = self.settings.riders
        if rider.decline_draw < riders.decline_rate:
            self.log.add(now, "declined", id=request.id)
            rider.done = True
            return
        try:
            events = self.dispatcher.book(best.id, now)
        except OfferError as error:
            self.log.add(now, "book_failed", id=request.id, reason=error.reason)
            rider.done = True
            return
        rider.offer = best
        rider.ready_t = max(best.pickup_earliest, now + best.pickup.walk_s)
        self.log.add(
            now,
            "booked",
            id=request.id,
            vehicle=best.vehicle_id,
            direct_s=self.oracle.seconds(best.pickup.node, best.dropoff.node),
            direct_m=self.oracle.metres(best.pickup.node, best.dropoff.node),
            ready_t=rider.ready_t,
        )
        self._absorb(events, now)
        if rider.cancel_draw < riders.cancel_rate:
            latest = max(now, rider.ready_t - 60)
            cancel_t = now + int(rider.cancel_time_draw * (latest - now))
            self._schedule(cancel_t, PRIORITY_RIDER, "cancel", request.id)
        elif rider.no_show_draw < riders.no_show_rate:
            rider.no_show = True
        else:
            self._schedule(rider.ready_t, PRIORITY_RIDER, "rider_at_stop", request.id)

    def _on_rider_at_stop(self, now: Seconds, request_id: str) -> None:
        rider = self.riders[request_id]
        if rider.done or rider.picked_up or rider.offer is None:
            return
        self.log.add(
            now,
            "rider_at_stop",
            id=request_id,
            stop=rider.offer.pickup.stop_id,
            walk_m=rider.offer.pickup.walk_m,
            walk_s=rider.offer.pickup.walk_s,
        )

    def _on_cancel(self, now: Seconds, request_id: str) -> None:
        rider = self.riders[request_id]
        if rider.done or rider.picked_up:
            return
        events = self.dispatcher.cancel(
            request_id, CancelledBy.RIDER, now, reason="rider changed plans"
        )
        rider.done = True
        self.log.add(now, "cancel", id=request_id)
        self._absorb(events, now)

    def _on_tick(self, now: Seconds) -> None:
        # Schedule the next tick first, so a failing tick (logged by run) does not end the day.
        busy = any(run.state != "idle" for run in self.vehicles.values())
        horizon = (
            self.last_request_t + self.settings.params.offer_ttl_s + self.settings.tick_interval_s
        )
        if now >= self.last_shift_end + EXTRA_HOURS_S:
            if busy or self._pending_other:
                self.log.add(
                    now,
                    "error",
                    event="tick",
                    args=[],
                    message="stopped ticking 6 h after the last shift with work left",
                )
        elif self._pending_other or busy or now < horizon:
            self._schedule(now + self.settings.tick_interval_s, PRIORITY_TICK, "tick")
        self._absorb(self.dispatcher.tick(now), now)
        interval = self.settings.reoptimize_interval_s
        if interval > 0 and (
            self._last_reoptimized is None or now - self._last_reoptimized >= interval
        ):
            self._last_reoptimized = now
            self._reoptimize(now)

    def _reoptimize(self, now: Seconds) -> None:
        """Build, solve (or take the recorded answer), log and apply one re-optimization."""
        problem = self.dispatcher.reoptimization_problem(now)
        recorded = (
            self.settings.recorded_solutions.get(now)
            if self.settings.recorded_solutions is not None
            else None
        )
        if self.settings.recorded_solutions is not None:
            if recorded is None:
                raise KeyError(f"the recorded log has no re-optimization at {now}")
            solution = solution_from_record(problem, recorded)
        else:
            solution = solve_reoptimization(problem)
        self.log.add(now, "reoptimize", **solution_record(solution))
        self._absorb(self.dispatcher.apply_reoptimization(solution, now), now)

    # --- vehicles ------------------------------------------------------------------------
    def _current(self, vehicle_id: str, token: int) -> _VehicleRun | None:
        run = self.vehicles[vehicle_id]
        return run if run.token == token else None

    def _park(self, run: _VehicleRun, now: Seconds) -> None:
        if run.state == "waiting":
            self.log.add(now, "wait", vehicle=run.vehicle.id, t0=run.wait_since, t1=now)
        run.state = "idle"
        run.token += 1
        run.free_t = now

    def _on_wake(self, now: Seconds, vehicle_id: str, token: int) -> None:
        run = self._current(vehicle_id, token)
        if run is None or run.state not in ("idle", "holding"):
            return
        self._follow_plan(run, now)

    def _follow_plan(self, run: _VehicleRun, now: Seconds) -> None:
        """At ``run.node`` and free at ``now``: serve the next stop here or drive to it."""
        stops = self.dispatcher.plan(run.vehicle.id).stops
        if not stops:
            self._park(run, now)
            return
        target = stops[0].access.node
        if target == run.node:
            run.state = "stop"
            self._serve(run, now)
            return
        path = shortest_path(self.graph, run.node, target)
        # Leave no earlier than needed to arrive when the stop's window opens (and not before
        # the shift starts): the vehicle holds where it is, free for new work, until then.
        leave = max(now, stops[0].earliest - path.seconds, run.vehicle.shift_start)
        if leave > now:
            run.state = "holding"
            run.token += 1
            self._schedule(leave, PRIORITY_VEHICLE, "wake", run.vehicle.id, run.token)
            return
        seconds = self.graph.edge_travel_time_s
        metres = self.graph.edge_length_m
        cum_s = [0]
        cum_m = [0]
        for edge in path.edges:
            cum_s.append(cum_s[-1] + int(seconds[edge]))
            cum_m.append(cum_m[-1] + int(metres[edge]))
        run.state = "driving"
        run.target = target
        run.path_nodes = path.nodes
        run.cum_s = cum_s
        run.cum_m = cum_m
        run.path_start_t = now
        run.reported = 0
        self._schedule_next_report(run)

    def _schedule_next_report(self, run: _VehicleRun) -> None:
        base = run.cum_s[run.reported]
        k = bisect.bisect_left(
            run.cum_s, base + self.settings.position_interval_s, lo=run.reported + 1
        )
        k = min(k, len(run.path_nodes) - 1)
        run.token += 1
        run.next_index = k
        self._schedule(
            run.path_start_t + run.cum_s[k],
            PRIORITY_VEHICLE,
            "checkpoint",
            run.vehicle.id,
            run.token,
            k,
        )

    def _on_checkpoint(self, now: Seconds, vehicle_id: str, token: int, index: int) -> None:
        run = self._current(vehicle_id, token)
        if run is None or run.state != "driving":
            return
        start = run.reported
        self.log.add(
            now,
            "drive",
            vehicle=vehicle_id,
            t0=run.path_start_t + run.cum_s[start],
            t1=now,
            m=run.cum_m[index] - run.cum_m[start],
            load=run.load,
            to=run.path_nodes[index],
        )
        run.node = run.path_nodes[index]
        run.reported = index
        run.next_index = len(run.path_nodes)  # nothing scheduled until decided below
        # A PlanChanged for this vehicle may schedule a report at the next node here; whatever
        # is decided below replaces it (a new token makes it stale).
        self._absorb(self.dispatcher.on_position(vehicle_id, run.node, now), now)
        stops = self.dispatcher.plan(vehicle_id).stops
        if not stops:
            self._park(run, now)
        elif stops[0].access.node != run.target:
            self._follow_plan(run, now)
        elif index == len(run.path_nodes) - 1:
            run.state = "stop"
            self._serve(run, now)
        else:
            self._schedule_next_report(run)

    def _wait(
        self, run: _VehicleRun, now: Seconds, until: Seconds, waiting_for: tuple[str, str]
    ) -> None:
        if run.state != "waiting":
            run.wait_since = now
        run.state = "waiting"
        run.waiting_for = waiting_for
        run.token += 1
        self._schedule(until, PRIORITY_VEHICLE, "at_stop", run.vehicle.id, run.token)

    def _on_at_stop(self, now: Seconds, vehicle_id: str, token: int) -> None:
        run = self._current(vehicle_id, token)
        if run is None:
            return
        self._serve(run, now)

    def _on_service_done(self, now: Seconds, vehicle_id: str, token: int) -> None:
        run = self._current(vehicle_id, token)
        if run is None:
            return
        request_id, kind = run.serving
        run.serving = ("", "")
        run.state = "stop"
        if kind == StopKind.PICKUP:
            events = self.dispatcher.on_pickup(request_id, now)
        else:
            events = self.dispatcher.on_dropoff(request_id, now)
        self._absorb(events, now)
        self._serve(run, now)

    def _serve(self, run: _VehicleRun, now: Seconds) -> None:
        """At a stop: wait, board, drop off or report a no-show for the plan's next stop."""
        vehicle_id = run.vehicle.id
        stops = self.dispatcher.plan(vehicle_id).stops
        first = stops[0] if stops else None
        if first is None or first.access.node != run.node:
            if run.state == "waiting":
                self.log.add(now, "wait", vehicle=vehicle_id, t0=run.wait_since, t1=now)
            run.state = "stop"
            self._follow_plan(run, now)
            return
        rider = self.riders.get(first.request_id)
        if rider is None:
            raise KeyError(f"plan of {vehicle_id} names unknown request {first.request_id!r}")
        key = (first.request_id, str(first.kind))
        request = rider.demand.request
        if now < first.earliest:
            # The stop's window has not opened: park here, free for other work, until it does.
            self._end_wait(run, now)
            run.state = "holding"
            run.token += 1
            self._schedule(first.earliest, PRIORITY_VEHICLE, "wake", vehicle_id, run.token)
            return
        if first.kind == StopKind.PICKUP:
            ready = max(first.earliest, rider.ready_t)
            if rider.no_show:
                due = ready + self.settings.riders.no_show_wait_s
                if now < due:
                    self._wait(run, now, due, key)
                    return
                self._end_wait(run, now)
                events = self.dispatcher.no_show(first.request_id, now)
                rider.done = True
                self.log.add(now, "no_show", id=first.request_id, vehicle=vehicle_id)
                self._absorb(events, now)
                run.token += 1
                self._schedule(now, PRIORITY_VEHICLE, "at_stop", vehicle_id, run.token)
                run.state = "stop"
                return
            if now < ready:
                self._wait(run, now, ready, key)
                return
            self._end_wait(run, now)
            rider.picked_up = True
            run.load += request.passengers
            self.log.add(
                now,
                "pickup",
                id=first.request_id,
                vehicle=vehicle_id,
                node=run.node,
                ready_t=ready,
                leave_t=now + dwell_seconds(request.passengers, self.settings.params),
            )
        else:
            self._end_wait(run, now)
            rider.done = True
            run.load -= request.passengers
            self.log.add(now, "dropoff", id=first.request_id, vehicle=vehicle_id, node=run.node)
        # Riders board or alight during the dwell; the Dispatcher hears of it when the vehicle
        # may leave (on_pickup / on_dropoff at the end of the dwell).
        dwell = dwell_seconds(request.passengers, self.settings.params)
        run.state = "service"
        run.serving = key
        run.token += 1
        self.log.add(now, "service", vehicle=vehicle_id, t0=now, t1=now + dwell)
        self._schedule(now + dwell, PRIORITY_VEHICLE, "service_done", vehicle_id, run.token)

    def _end_wait(self, run: _VehicleRun, now: Seconds) -> None:
        if run.state == "waiting":
            self.log.add(now, "wait", vehicle=run.vehicle.id, t0=run.wait_since, t1=now)
            run.state = "stop"

    def _return_to_depots(self, now: Seconds) -> None:
        for vehicle_id in sorted(self.vehicles):
            run = self.vehicles[vehicle_id]
            if run.node == run.vehicle.depot:
                continue
            path = shortest_path(self.graph, run.node, run.vehicle.depot)
            t0 = max(run.free_t, 0)
            self.log.add(
                t0 + path.seconds,
                "drive",
                vehicle=vehicle_id,
                t0=t0,
                t1=t0 + path.seconds,
                m=path.metres,
                load=0,
                to=run.vehicle.depot,
                to_depot=True,
            )
            run.node = run.vehicle.depot
