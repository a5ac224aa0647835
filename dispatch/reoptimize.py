"""Glue between the Dispatcher's plans and the OR-Tools pickup-and-delivery solver.

Three steps, so a server can run the solve off its event loop (or in another process):

1. :func:`build_problem` (pure, reads the dispatcher): every booked, unfinished request becomes a
   :class:`dispatch.pdp.PdpTask` with its promises as hard windows; riders on board are pinned
   to their vehicle (remaining ride folded into the drop-off window); each vehicle starts from
   its position (the locked next stop is its forced first visit); the warm start is the
   current plans.
2. :func:`solve_reoptimization` (pure, picklable input and output) runs :func:`solve_pdp`.
3. :func:`apply_solution` adopts the new plans only if nothing changed since step 1, every
   plan passes :func:`dispatch.schedule.check_plan` (our own checker, not the solver's model),
   no booked request is dropped, locks hold, and the total cost is lower.

Promises the current plans already break are widened to their current lateness (never more)
so the solver can still find a solution that does not make them worse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dispatch.events import DispatchEvent, Reoptimized
from dispatch.model import PlannedStop, StopKind
from dispatch.pdp import DROPOFF, PICKUP, PdpProblem, PdpSolution, PdpTask, PdpVehicle, solve_pdp
from dispatch.schedule import (
    PlanTiming,
    Tolerance,
    check_plan,
    dwell_seconds,
    plan_duration,
    time_plan,
    tolerance_of,
)
from routing.types import NodeId, Seconds

if TYPE_CHECKING:
    from dispatch.dispatcher import Dispatcher

__all__ = [
    "REOPTIMIZE_TIME_CAP_FACTOR",
    "ReoptimizationProblem",
    "ReoptimizationSolution",
    "apply_solution",
    "build_problem",
    "plan_keys",
    "solve_reoptimization",
]

REOPTIMIZE_TIME_CAP_FACTOR = 10
"""With a solution limit, the wall-clock cap is this many times ``time_limit_s``: generous, so
the solution limit ends the search in normal cases (a capped search is timing-dependent and
reported as ``PdpSolution.time_capped``)."""


@dataclass(frozen=True, slots=True)
class ReoptimizationProblem:
    """What the solver needs plus what is needed to map its answer back.

    Attributes
    ----------
    pdp : PdpProblem or None
        The solver instance (None when there is nothing to optimize).
    state_version : int
        The dispatcher's ``state_version`` when built (for diagnostics).
    plan_keys : tuple
        Per vehicle ``(vehicle_id, plan version, locked, retired)`` when built: the answer is
        ignored when any of them moved (a booking, cancellation, pickup, lock ...). Quotes and
        position updates in between do not void it; the new plans are checked from the
        vehicles' positions at adoption time.
    built_at : Seconds
        ``now`` when built.
    nodes : tuple of NodeId
        Road node of each matrix location.
    stops : tuple of tuple of PlannedStop
        Per task index: its (pickup, drop-off) stops; the pickup is None for riders on board.
    vehicle_ids : tuple of str
        Per solver vehicle index.
    current_cost : int
        Driving plus dwelling seconds of the current plans (what a new answer must beat).
    time_limit_s : float
        Solver budget in wall-clock seconds (a cap ``REOPTIMIZE_TIME_CAP_FACTOR`` times as
        long when ``solution_limit`` is set).
    seed : int
        Solver seed.
    solution_limit : int
        Deterministic budget: stop the search after this many solutions (0 = the time limit
        alone). See ``ServiceParams.reoptimize_solution_limit``.
    """

    pdp: PdpProblem | None
    state_version: int
    plan_keys: tuple[tuple[str, int, bool, bool], ...]
    built_at: Seconds
    nodes: tuple[NodeId, ...]
    stops: tuple[tuple[PlannedStop | None, PlannedStop], ...]
    vehicle_ids: tuple[str, ...]
    current_cost: int
    time_limit_s: float
    seed: int
    solution_limit: int = 0


@dataclass(frozen=True, slots=True)
class ReoptimizationSolution:
    """The solver's answer to a :class:`ReoptimizationProblem`.

    ``error`` is the solver's failure message ("" when it ran); a failed solve is never
    adopted, so the current plans stay.
    """

    problem: ReoptimizationProblem
    pdp: PdpSolution | None
    error: str = ""


def build_problem(dispatcher: Dispatcher, now: Seconds) -> ReoptimizationProblem:
    """The re-optimization instance for the dispatcher's current plans (reads, never writes)."""
    params = dispatcher.params
    oracle = dispatcher.oracle
    states = dispatcher.vehicles()
    vehicle_ids = tuple(sorted(states))
    timings = {vid: dispatcher.timing(vid, now) for vid in vehicle_ids}
    current_cost = sum(plan_duration(t) for t in timings.values())
    tolerance = Tolerance()
    for timing in timings.values():
        tolerance = tolerance.merged(tolerance_of(timing))
    nodes: list[NodeId] = []
    location_of: dict[NodeId, int] = {}

    def location(node: NodeId) -> int:
        if node not in location_of:
            location_of[node] = len(nodes)
            nodes.append(node)
        return location_of[node]

    tasks: list[PdpTask] = []
    task_stops: list[tuple[PlannedStop | None, PlannedStop]] = []
    task_of: dict[str, int] = {}
    vehicles: list[PdpVehicle] = []
    warm: list[tuple[tuple[int, str], ...]] = []
    for v_index, vid in enumerate(vehicle_ids):
        timing = timings[vid]
        stops = timing.stops
        pickups = {s.request_id: s for s in stops if s.kind is StopKind.PICKUP}
        for stop in stops:
            if stop.kind is not StopKind.DROPOFF:
                continue
            pickup = pickups.get(stop.request_id)
            dropoff_latest = max(
                stop.latest, tolerance.latest.get((stop.request_id, StopKind.DROPOFF), 0)
            )
            max_ride = stop.max_ride_s if stop.max_ride_s is not None else 10**9
            max_ride = max(max_ride, tolerance.ride.get(stop.request_id, 0))
            if pickup is None:
                if stop.max_ride_s is not None and stop.picked_up_at is not None:
                    dropoff_latest = min(dropoff_latest, stop.picked_up_at + max_ride)
                task = PdpTask(
                    request_id=stop.request_id,
                    pickup_location=location(stop.access.node),
                    dropoff_location=location(stop.access.node),
                    pickup_earliest=0,
                    pickup_latest=0,
                    dropoff_earliest=stop.earliest,
                    dropoff_latest=dropoff_latest,
                    pickup_service_s=0,
                    dropoff_service_s=dwell_seconds(stop.passengers, params),
                    seats=stop.passengers - stop.wheelchairs,
                    wheelchairs=stop.wheelchairs,
                    max_ride_s=max_ride,
                    vehicle=v_index,
                    onboard=True,
                )
            else:
                pickup_latest = max(
                    pickup.latest, tolerance.latest.get((pickup.request_id, StopKind.PICKUP), 0)
                )
                task = PdpTask(
                    request_id=stop.request_id,
                    pickup_location=location(pickup.access.node),
                    dropoff_location=location(stop.access.node),
                    pickup_earliest=pickup.earliest,
                    pickup_latest=pickup_latest,
                    dropoff_earliest=stop.earliest,
                    dropoff_latest=dropoff_latest,
                    pickup_service_s=dwell_seconds(pickup.passengers, params),
                    dropoff_service_s=dwell_seconds(stop.passengers, params),
                    seats=pickup.passengers - pickup.wheelchairs,
                    wheelchairs=pickup.wheelchairs,
                    max_ride_s=max_ride,
                    vehicle=v_index if states[vid].retired else None,
                )
            task_of[stop.request_id] = len(tasks)
            tasks.append(task)
            task_stops.append((pickup, stop))
        route = tuple(
            (task_of[s.request_id], PICKUP if s.kind is StopKind.PICKUP else DROPOFF) for s in stops
        )
        warm.append(route)
        first_visit = route[0] if timing.start.locked and route else None
        vehicles.append(
            PdpVehicle(
                vehicle_id=vid,
                start_location=location(timing.start.node),
                start_time=timing.start.time,
                end_location=location(timing.start.depot),
                end_latest=max(timing.start.shift_end, timing.end_arrival),
                seats=timing.start.seats,
                wheelchairs=timing.start.wheelchair_places,
                first_visit=first_visit,
            )
        )
    if not tasks or not vehicles:
        pdp = None
    else:
        matrix = np.array(
            [[oracle.seconds(a, b) for b in nodes] for a in nodes], dtype=np.int64
        ).reshape(len(nodes), len(nodes))
        pdp = PdpProblem(
            matrix=matrix,
            tasks=tuple(tasks),
            vehicles=tuple(vehicles),
            warm_start=tuple(warm),
            allow_unserved=False,
        )
    return ReoptimizationProblem(
        pdp=pdp,
        state_version=dispatcher.state_version,
        plan_keys=plan_keys(dispatcher),
        built_at=now,
        nodes=tuple(nodes),
        stops=tuple(task_stops),
        vehicle_ids=vehicle_ids,
        current_cost=current_cost,
        time_limit_s=dispatcher.params.reoptimize_time_limit_s,
        seed=dispatcher.params.reoptimize_seed,
        solution_limit=dispatcher.params.reoptimize_solution_limit,
    )


def plan_keys(dispatcher: Dispatcher) -> tuple[tuple[str, int, bool, bool], ...]:
    """``(vehicle_id, plan version, locked, retired)`` of every vehicle, sorted by id."""
    keys = []
    for vid, state in sorted(dispatcher.vehicles().items()):
        plan = dispatcher.plan(vid)
        keys.append((vid, plan.version, plan.locked, state.retired))
    return tuple(keys)


def solve_reoptimization(problem: ReoptimizationProblem) -> ReoptimizationSolution:
    """Run the solver on ``problem`` (pure; safe to call in another thread or process)."""
    if problem.pdp is None:
        return ReoptimizationSolution(problem=problem, pdp=None)
    time_limit_s = problem.time_limit_s
    solution_limit = None
    if problem.solution_limit > 0:
        # The solution limit is the budget; the time limit only a generous safety cap.
        time_limit_s *= REOPTIMIZE_TIME_CAP_FACTOR
        solution_limit = problem.solution_limit
    try:
        solution = solve_pdp(
            problem.pdp, time_limit_s=time_limit_s, seed=problem.seed, solution_limit=solution_limit
        )
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        # A solver failure must not stop dispatching: the current plans stay valid.
        return ReoptimizationSolution(
            problem=problem, pdp=None, error=f"{type(error).__name__}: {error}"
        )
    return ReoptimizationSolution(problem=problem, pdp=solution)


def apply_solution(
    dispatcher: Dispatcher, solution: ReoptimizationSolution, now: Seconds
) -> list[DispatchEvent]:
    """Adopt the solution's plans when consistent, feasible by our checker and cheaper.

    Returns ``Reoptimized`` (adopted or not, with the reason), and when adopted ``Assigned``
    for each request that changed vehicle and ``PlanChanged`` for each changed plan.
    """
    problem = solution.problem
    cost_before = problem.current_cost

    def refuse(reason: str, cost_after: int = 0) -> list[DispatchEvent]:
        return [
            Reoptimized(
                time=now,
                adopted=False,
                cost_before=cost_before,
                cost_after=cost_after,
                reason=reason,
            )
        ]

    if solution.error:
        return refuse(f"solver failed: {solution.error}")
    if problem.pdp is None or solution.pdp is None:
        return refuse("nothing to optimize")
    if plan_keys(dispatcher) != problem.plan_keys:
        return refuse("plans changed while solving")
    pdp = solution.pdp
    if not pdp.feasible:
        return refuse("solver found no feasible solution")
    if pdp.unserved:
        return refuse("solver left booked requests out")
    served = [visit for route in pdp.routes for visit in route]
    expected = sum(1 if p is None else 2 for p, _ in problem.stops)
    if len(served) != expected or len(set(served)) != expected:
        return refuse("solver routes do not visit every stop exactly once")
    new_timings: dict[str, PlanTiming] = {}
    cost_after = 0
    tolerance = Tolerance()
    for vid in problem.vehicle_ids:
        tolerance = tolerance.merged(tolerance_of(dispatcher.timing(vid, now)))
    for v_index, vid in enumerate(problem.vehicle_ids):
        current = dispatcher.timing(vid, now)
        stops: list[PlannedStop] = []
        for task_index, kind in pdp.routes[v_index]:
            pickup, dropoff = problem.stops[task_index]
            stop = pickup if kind == PICKUP else dropoff
            if stop is None:
                return refuse("solver visited the pickup of a rider on board")
            stops.append(stop)
        if current.start.locked and (
            not stops
            or (stops[0].request_id, stops[0].kind)
            != (current.stops[0].request_id, current.stops[0].kind)
        ):
            return refuse(f"solver moved the locked next stop of {vid}")
        if dispatcher.vehicle(vid).retired:
            before = {s.request_id for s in current.stops}
            if any(s.request_id not in before for s in stops):
                return refuse(f"solution gives new work to the retired vehicle {vid}")
        timing = time_plan(stops, current.start, dispatcher.oracle, dispatcher.params)
        # Promises may not get worse than they already are anywhere in the fleet.
        reason = check_plan(timing, tolerance)
        if reason is not None:
            return refuse(f"solution breaks a rule on {vid}: {reason}")
        if not dispatcher.params.pooling:
            load = [timing.load_seats[p] + timing.load_wheelchairs[p] for p in range(timing.n)]
            pickup_positions = [p for p, s in enumerate(timing.stops) if s.kind is StopKind.PICKUP]
            if any(load[p] for p in pickup_positions):
                return refuse(f"solution pools riders on {vid} with pooling off")
        new_timings[vid] = timing
        cost_after += plan_duration(timing)
    if cost_after >= cost_before:
        return refuse("not cheaper", cost_after)
    events: list[DispatchEvent] = [
        Reoptimized(
            time=now, adopted=True, cost_before=cost_before, cost_after=cost_after, reason=""
        )
    ]
    events.extend(dispatcher.adopt_plans({vid: t.stops for vid, t in new_timings.items()}, now))
    return events
