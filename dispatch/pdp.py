"""Pickup-and-delivery problem with time windows, ride times and two capacities (OR-Tools).

One model serves two callers: the Dispatcher's live re-optimization (riders already on board,
vehicles mid-route with a locked next stop, a warm start from the current plans) and the static
Cordeau dial-a-ride mode (:mod:`dispatch.darp`).

Everything is integer: times in seconds, locations are row/column indices into ``matrix``.
A *visit* is ``(task_index, kind)`` with ``kind`` ``"pickup"`` or ``"dropoff"``; task_index
indexes ``PdpProblem.tasks``.

Time conventions (the Cordeau dial-a-ride definitions):

* a visit's *service start* must lie in its window ``[earliest, latest]``; the vehicle may wait
  before it; it leaves ``service_s`` seconds later;
* *ride time* = drop-off service start - pickup departure (pickup service start + pickup
  service), at most ``max_ride_s``;
* a vehicle is available at ``start_location`` from ``start_time`` and must be back at
  ``end_location`` by ``end_latest``; optionally its route (end minus depot departure) lasts at
  most ``max_duration_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

__all__ = [
    "DROPOFF",
    "PICKUP",
    "PdpProblem",
    "PdpSolution",
    "PdpTask",
    "PdpVehicle",
    "Visit",
    "VisitKind",
    "solve_pdp",
]

VisitKind = Literal["pickup", "dropoff"]
PICKUP: VisitKind = "pickup"
DROPOFF: VisitKind = "dropoff"
Visit = tuple[int, str]
"""``(task_index, "pickup" | "dropoff")``."""


@dataclass(frozen=True, slots=True)
class PdpTask:
    """One rider group to carry from a pickup location to a drop-off location.

    Attributes
    ----------
    request_id : str
        The caller's id, carried through untouched.
    pickup_location, dropoff_location : int
        Indices into ``PdpProblem.matrix``.
    pickup_earliest, pickup_latest : int
        Window for the pickup's service start, seconds (same clock as the vehicles).
    dropoff_earliest, dropoff_latest : int
        Window for the drop-off's service start, seconds.
    pickup_service_s, dropoff_service_s : int
        Dwell time at the pickup / drop-off, seconds.
    seats, wheelchairs : int
        Places taken from pickup to drop-off (>= 0).
    max_ride_s : int
        Longest ride: drop-off service start - (pickup service start + pickup service), seconds.
    vehicle : int or None
        Pinned vehicle index into ``PdpProblem.vehicles``; None lets the solver choose.
    onboard : bool
        The rider is already on board ``vehicle`` (required then): only the drop-off remains; its
        seats/wheelchairs count as load from the vehicle's start. The pickup fields and
        ``max_ride_s`` are then ignored (the caller folds the remaining ride into the drop-off
        window).
    """

    request_id: str
    pickup_location: int
    dropoff_location: int
    pickup_earliest: int
    pickup_latest: int
    dropoff_earliest: int
    dropoff_latest: int
    pickup_service_s: int
    dropoff_service_s: int
    seats: int
    wheelchairs: int
    max_ride_s: int
    vehicle: int | None = None
    onboard: bool = False


@dataclass(frozen=True, slots=True)
class PdpVehicle:
    """One vehicle's availability.

    Attributes
    ----------
    vehicle_id : str
        The caller's id, carried through untouched.
    start_location : int
        Where the vehicle is (or will be free), index into ``PdpProblem.matrix``.
    start_time : int
        When it can leave ``start_location``, seconds. It may leave later.
    end_location : int
        Where the route must end (the depot), index into ``PdpProblem.matrix``.
    end_latest : int
        Latest arrival at ``end_location`` (shift end), seconds.
    seats, wheelchairs : int
        Capacities.
    first_visit : (int, str) or None
        Locked next visit ``(task_index, "pickup" | "dropoff")``: the vehicle is already driving
        there, so it must come first on this vehicle's route. None = free.
    max_duration_s : int or None
        Longest route, end arrival minus departure from ``start_location`` (the dial-a-ride
        limit T), seconds; None = only the windows limit it.
    """

    vehicle_id: str
    start_location: int
    start_time: int
    end_location: int
    end_latest: int
    seats: int
    wheelchairs: int
    first_visit: tuple[int, str] | None = None
    max_duration_s: int | None = None


@dataclass(frozen=True, slots=True)
class PdpProblem:
    """A complete pickup-and-delivery instance.

    Attributes
    ----------
    matrix : numpy.ndarray
        Integer ``L x L`` travel seconds, ``matrix[a, b]`` from location a to location b.
    tasks : tuple of PdpTask
        The tasks; their positions are the task indices used by visits.
    vehicles : tuple of PdpVehicle
        The fleet; positions are vehicle indices.
    warm_start : tuple or None
        Per vehicle (same order as ``vehicles``), the current visit order (no depots). Used as
        the first solution when it is feasible; ignored otherwise.
    allow_unserved : bool
        False: every task must be served (no solution = ``feasible=False``). True: a task may be
        left out at ``unserved_penalty`` cost each (onboard and pinned-first tasks never).
    unserved_penalty : int
        Cost of leaving one task out, in the same unit as travel seconds.
    """

    matrix: npt.NDArray[np.int64]
    tasks: tuple[PdpTask, ...]
    vehicles: tuple[PdpVehicle, ...]
    warm_start: tuple[tuple[tuple[int, str], ...], ...] | None = None
    allow_unserved: bool = False
    unserved_penalty: int = 10**7


@dataclass(frozen=True, slots=True)
class PdpSolution:
    """The solver's answer.

    Attributes
    ----------
    routes : tuple
        Per vehicle (same order as ``PdpProblem.vehicles``), visits in order, depots left out.
    cost : int
        Total travel seconds over all routes (penalties not included).
    unserved : tuple of int
        Task indices left out (only when ``allow_unserved``).
    feasible : bool
        False when no solution satisfying every hard constraint was found (routes are then empty).
    seconds : float
        Wall-clock time spent.
    warm_start_used : bool
        True when ``PdpProblem.warm_start`` was feasible and the search started from it.
    time_capped : bool
        True when a ``solution_limit`` was given but the wall-clock ``time_limit_s`` ended the
        search first: the answer then depends on machine speed and load, so it may differ
        between runs. Always False without a solution limit (the time limit is the budget).
    """

    routes: tuple[tuple[tuple[int, str], ...], ...]
    cost: int
    unserved: tuple[int, ...]
    feasible: bool
    seconds: float
    warm_start_used: bool = False
    time_capped: bool = False


_STRATEGY = routing_enums_pb2.FirstSolutionStrategy
_FIRST_SOLUTION = {
    "auto": _STRATEGY.LOCAL_CHEAPEST_INSERTION,
    "local_cheapest_insertion": _STRATEGY.LOCAL_CHEAPEST_INSERTION,
    "parallel_cheapest_insertion": _STRATEGY.PARALLEL_CHEAPEST_INSERTION,
    "sequential_cheapest_insertion": _STRATEGY.SEQUENTIAL_CHEAPEST_INSERTION,
    "local_cheapest_cost_insertion": _STRATEGY.LOCAL_CHEAPEST_COST_INSERTION,
    "path_cheapest_arc": _STRATEGY.PATH_CHEAPEST_ARC,
    "automatic": _STRATEGY.AUTOMATIC,
}
_METAHEURISTIC = {
    "guided_local_search": routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH,
    "simulated_annealing": routing_enums_pb2.LocalSearchMetaheuristic.SIMULATED_ANNEALING,
    "tabu_search": routing_enums_pb2.LocalSearchMetaheuristic.TABU_SEARCH,
    "greedy_descent": routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT,
    "automatic": routing_enums_pb2.LocalSearchMetaheuristic.AUTOMATIC,
}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Node numbering of the OR-Tools model.

    Nodes ``0 .. V-1`` are the vehicles' starts, ``V .. 2V-1`` their ends, then one node per
    remaining visit (pickups of onboard tasks do not exist). ``visit_of_node[k]`` is the visit
    of node k (None for starts and ends); ``node_of_visit`` the inverse.
    """

    locations: tuple[int, ...]
    service_s: tuple[int, ...]
    visit_of_node: tuple[tuple[int, str] | None, ...]
    node_of_visit: dict[tuple[int, str], int]


def _layout(problem: PdpProblem, *, seed: int) -> _Layout:
    locations: list[int] = []
    service: list[int] = []
    visits: list[tuple[int, str] | None] = []
    for vehicle in problem.vehicles:
        locations.append(vehicle.start_location)
        service.append(0)
        visits.append(None)
    for vehicle in problem.vehicles:
        locations.append(vehicle.end_location)
        service.append(0)
        visits.append(None)
    node_of_visit: dict[tuple[int, str], int] = {}
    order = range(len(problem.tasks))
    if seed:
        order = np.random.default_rng(seed).permutation(len(problem.tasks)).tolist()
    for index in order:
        task = problem.tasks[index]
        if not task.onboard:
            node_of_visit[(index, PICKUP)] = len(locations)
            locations.append(task.pickup_location)
            service.append(task.pickup_service_s)
            visits.append((index, PICKUP))
        node_of_visit[(index, DROPOFF)] = len(locations)
        locations.append(task.dropoff_location)
        service.append(task.dropoff_service_s)
        visits.append((index, DROPOFF))
    return _Layout(tuple(locations), tuple(service), tuple(visits), node_of_visit)


def _check_problem(problem: PdpProblem) -> None:
    n_vehicles = len(problem.vehicles)
    if n_vehicles == 0:
        raise ValueError("PdpProblem needs at least one vehicle")
    for index, task in enumerate(problem.tasks):
        if task.onboard and task.vehicle is None:
            raise ValueError(f"task {index} ({task.request_id}) is onboard but names no vehicle")
        if task.vehicle is not None and not 0 <= task.vehicle < n_vehicles:
            raise ValueError(f"task {index} ({task.request_id}) names vehicle {task.vehicle}")


def _search_parameters(
    *,
    time_limit_s: float,
    first_solution: str,
    metaheuristic: str,
    solution_limit: int | None = None,
) -> pywrapcp.RoutingSearchParameters:
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    if first_solution not in _FIRST_SOLUTION:
        raise ValueError(f"first_solution {first_solution!r}: use one of {sorted(_FIRST_SOLUTION)}")
    if metaheuristic not in _METAHEURISTIC:
        raise ValueError(f"metaheuristic {metaheuristic!r}: use one of {sorted(_METAHEURISTIC)}")
    parameters.first_solution_strategy = _FIRST_SOLUTION[first_solution]
    parameters.local_search_metaheuristic = _METAHEURISTIC[metaheuristic]
    parameters.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        if solution_limit < 1:
            raise ValueError(f"solution_limit {solution_limit}: use an integer >= 1 or None")
        parameters.solution_limit = solution_limit
    return parameters


def _pin(routing: pywrapcp.RoutingModel, index: int, vehicle: int) -> None:
    """Allow only ``vehicle`` at ``index`` (-1 stays allowed: unperformed, if optional).

    ``SetAllowedVehiclesForIndex`` would be the natural call, but its Python binding in
    OR-Tools 9.15 rejects every list (absl::Span typemap), so the vehicle variable is
    restricted directly.
    """
    routing.VehicleVar(index).SetValues([-1, vehicle])


def solve_pdp(
    problem: PdpProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    first_solution: str = "auto",
    metaheuristic: str = "guided_local_search",
    ride_limit: str = "dimension",
    solution_limit: int | None = None,
) -> PdpSolution:
    """Solve ``problem`` with OR-Tools within about ``time_limit_s`` seconds.

    Without ``solution_limit`` the wall clock ends the search, so the answer depends on the
    machine's speed and load. With it the search ends after that many solutions: the same
    problem, parameters and seed then give the same answer on every run (the routing search is
    single-threaded). ``time_limit_s`` stays a safety cap; give it room (e.g. ten times the
    usual solve time), because a search the cap ends is again timing-dependent
    (``PdpSolution.time_capped`` reports it).

    Parameters
    ----------
    problem : PdpProblem
        The instance (integer seconds, location indices into ``problem.matrix``).
    time_limit_s : float
        Wall-clock budget of the search, seconds (model building comes on top).
    seed : int
        0 numbers the model's nodes in task order; another value shuffles that order, which
        varies the search. Results repeat for a seed when ``solution_limit`` ends the search.
    first_solution : str
        ``"auto"`` (local cheapest insertion), or an OR-Tools first-solution strategy name in
        lower case, e.g. ``"path_cheapest_arc"``. A feasible ``problem.warm_start`` wins.
    metaheuristic : str
        ``"guided_local_search"`` (default), ``"simulated_annealing"``, ``"tabu_search"``,
        ``"greedy_descent"`` or ``"automatic"``.
    ride_limit : str
        How the maximum ride time is modelled. Always the hard ``solver.Add(cumul(drop) -
        cumul(pick) <= limit)``, checked when a solution is committed. ``"dimension"``
        (default) adds OR-Tools' pickup-to-delivery limit on the time dimension, which its
        local-search filters check on every move (alone it is not enforced strictly).
        ``"constraint"``: the hard constraint only (textbook; the plain baseline).
    solution_limit : int or None
        Stop after this many solutions (OR-Tools ``solution_limit``: the first solution and
        every accepted local-search move count), a deterministic budget; None = the time
        limit alone.

    Returns
    -------
    PdpSolution
        ``feasible=False`` with empty routes when no solution meeting every hard constraint was
        found in time.
    """
    started = time.perf_counter()
    _check_problem(problem)
    if ride_limit not in ("dimension", "constraint"):
        raise ValueError(f"ride_limit {ride_limit!r}: use 'dimension' or 'constraint'")
    layout = _layout(problem, seed=seed)
    n_vehicles = len(problem.vehicles)
    n_nodes = len(layout.locations)
    starts = list(range(n_vehicles))
    ends = list(range(n_vehicles, 2 * n_vehicles))
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_vehicles, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    locations = np.asarray(layout.locations, dtype=np.int64)
    matrix = np.asarray(problem.matrix, dtype=np.int64)
    travel = matrix[np.ix_(locations, locations)]
    service = np.asarray(layout.service_s, dtype=np.int64)
    transit = travel + service[:, None]
    cost_callback = routing.RegisterTransitMatrix(travel.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_callback)
    time_callback = routing.RegisterTransitMatrix(transit.tolist())

    horizon = max(
        [v.end_latest for v in problem.vehicles]
        + [t.dropoff_latest for t in problem.tasks]
        + [t.pickup_latest for t in problem.tasks]
    )
    horizon = max(horizon, 0) + 1
    routing.AddDimension(time_callback, horizon, horizon, False, "time")
    time_dimension = routing.GetDimensionOrDie("time")

    def index_of(visit: tuple[int, str]) -> int:
        return int(manager.NodeToIndex(layout.node_of_visit[visit]))

    for v, vehicle in enumerate(problem.vehicles):
        start = routing.Start(v)
        end = routing.End(v)
        time_dimension.CumulVar(start).SetRange(vehicle.start_time, vehicle.end_latest)
        time_dimension.CumulVar(end).SetRange(vehicle.start_time, vehicle.end_latest)
        if vehicle.max_duration_s is not None:
            time_dimension.SetSpanUpperBoundForVehicle(vehicle.max_duration_s, v)

    # Capacities: seats and wheelchair places; onboard riders are load at the start.
    for name, task_amount, vehicle_capacity in (
        ("seats", [t.seats for t in problem.tasks], [v.seats for v in problem.vehicles]),
        (
            "wheelchairs",
            [t.wheelchairs for t in problem.tasks],
            [v.wheelchairs for v in problem.vehicles],
        ),
    ):
        demand = [0] * n_nodes
        initial = [0] * n_vehicles
        for node, visit in enumerate(layout.visit_of_node):
            if visit is None:
                continue
            task = problem.tasks[visit[0]]
            amount = task_amount[visit[0]]
            demand[node] = amount if visit[1] == PICKUP else -amount
            if task.onboard and task.vehicle is not None:
                initial[task.vehicle] += amount
        callback = routing.RegisterUnaryTransitVector(demand)
        routing.AddDimensionWithVehicleCapacity(callback, 0, vehicle_capacity, False, name)
        dimension = routing.GetDimensionOrDie(name)
        for v in range(n_vehicles):
            dimension.CumulVar(routing.Start(v)).SetValue(initial[v])

    locked = {vehicle.first_visit for vehicle in problem.vehicles if vehicle.first_visit}
    keep_alive: list[Callable[[int, int, int], int]] = []
    pair_index = 0
    for index, task in enumerate(problem.tasks):
        drop = index_of((index, DROPOFF))
        time_dimension.CumulVar(drop).SetRange(task.dropoff_earliest, task.dropoff_latest)
        if task.vehicle is not None:
            _pin(routing, drop, task.vehicle)
        if task.onboard:
            continue
        pick = index_of((index, PICKUP))
        time_dimension.CumulVar(pick).SetRange(task.pickup_earliest, task.pickup_latest)
        if task.vehicle is not None:
            _pin(routing, pick, task.vehicle)
        routing.AddPickupAndDelivery(pick, drop)
        solver.Add(routing.VehicleVar(pick) == routing.VehicleVar(drop))
        solver.Add(time_dimension.CumulVar(pick) <= time_dimension.CumulVar(drop))
        limit = task.max_ride_s + task.pickup_service_s
        # The hard constraint always; OR-Tools does not enforce the pickup-to-delivery limit
        # in the final assignment (it only guides the search filters: routes breaking it by a
        # few seconds came out), so it is added on top in "dimension" mode.
        solver.Add(time_dimension.CumulVar(drop) - time_dimension.CumulVar(pick) <= limit)
        if ride_limit == "dimension":

            def limit_function(_pickup: int, _delivery: int, limit: int = limit) -> int:
                return limit

            keep_alive.append(limit_function)  # OR-Tools calls back into Python during search
            time_dimension.SetPickupToDeliveryLimitFunctionForPair(limit_function, pair_index)
        pair_index += 1
        if problem.allow_unserved and (index, PICKUP) not in locked and task.vehicle is None:
            routing.AddDisjunction([pick], problem.unserved_penalty)
            routing.AddDisjunction([drop], 0)

    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.first_visit is not None:
            routing.NextVar(routing.Start(v)).SetValue(index_of(vehicle.first_visit))

    parameters = _search_parameters(
        time_limit_s=time_limit_s,
        first_solution=first_solution,
        metaheuristic=metaheuristic,
        solution_limit=solution_limit,
    )
    routing.CloseModelWithParameters(parameters)
    search_started = time.perf_counter()
    assignment = None
    warm_start_used = False
    if problem.warm_start is not None and len(problem.warm_start) == n_vehicles:
        hint = [[index_of(visit) for visit in route] for route in problem.warm_start]
        initial_assignment = routing.ReadAssignmentFromRoutes(hint, True)
        if initial_assignment is not None:
            warm_start_used = True
            assignment = routing.SolveFromAssignmentWithParameters(initial_assignment, parameters)
    if assignment is None and parameters.use_iterated_local_search:
        assignment = routing.SolveWithIteratedLocalSearch(parameters)
    elif assignment is None:
        assignment = routing.SolveWithParameters(parameters)
    finished = time.perf_counter()
    seconds = finished - started
    # The search ran into the wall-clock cap (the solution limit did not end it): timing-
    # dependent. A small margin, as OR-Tools checks its clock only now and then.
    time_capped = solution_limit is not None and finished - search_started >= 0.98 * time_limit_s
    del keep_alive
    if assignment is None:
        return PdpSolution(
            routes=tuple(() for _ in problem.vehicles),
            cost=0,
            unserved=tuple(range(len(problem.tasks))),
            feasible=False,
            seconds=seconds,
            warm_start_used=warm_start_used,
            time_capped=time_capped,
        )
    routes: list[tuple[tuple[int, str], ...]] = []
    cost = 0
    served: set[int] = set()
    for v in range(n_vehicles):
        index = routing.Start(v)
        route: list[tuple[int, str]] = []
        while not routing.IsEnd(index):
            following = assignment.Value(routing.NextVar(index))
            cost += int(travel[manager.IndexToNode(index), manager.IndexToNode(following)])
            index = following
            visit = layout.visit_of_node[manager.IndexToNode(index)]
            if visit is not None:
                route.append(visit)
                served.add(visit[0])
        routes.append(tuple(route))
    unserved = tuple(i for i in range(len(problem.tasks)) if i not in served)
    return PdpSolution(
        routes=tuple(routes),
        cost=cost,
        unserved=unserved,
        feasible=True,
        seconds=seconds,
        warm_start_used=warm_start_used,
        time_capped=time_capped,
    )
