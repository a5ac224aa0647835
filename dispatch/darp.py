"""Static dial-a-ride (Cordeau 2006 format) on the :mod:`dispatch.pdp` model.

Pure: :func:`parse_cordeau` takes the file's text; reading files is the caller's business.

Instance format (first line ``K n T Q L``, then ``id x y service load tw_start tw_end``): node 0
is the start depot, ``1..n`` pickups, ``n+1..2n`` the matching drop-offs (request i is
``i -> n+i``), ``2n+1`` the end depot (the start depot when the file stops at 2n). Travel time
equals Euclidean distance, not rounded; ride time is drop-off service start minus pickup
departure.

The solver model is integer: coordinates and times are scaled by :data:`SCALE` and rounded so
that a model-feasible route is truly feasible (travel times up, window ends and limits down,
window starts up). The cost reported is recomputed with unrounded distances.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from dispatch.darp_alns import alns_improve
from dispatch.darp_instance import (
    DarpFormatError,
    DarpInstance,
    DarpNode,
    euclidean_cost,
    parse_cordeau,
)
from dispatch.darp_lns import improve_routes
from dispatch.pdp import PdpProblem, PdpTask, PdpVehicle, solve_pdp

__all__ = [
    "SCALE",
    "DarpFormatError",
    "DarpInstance",
    "DarpNode",
    "DarpResult",
    "euclidean_cost",
    "parse_cordeau",
    "solve_darp",
    "to_pdp_problem",
]

SCALE = 1000
"""Model time units per instance time unit (1 instance minute = 1000 model units)."""


@dataclass(frozen=True, slots=True)
class DarpResult:
    """A dial-a-ride solution.

    Attributes
    ----------
    instance : str
        Instance name.
    routes : tuple
        Per vehicle, node ids in visit order, depots left out (empty for unused vehicles).
    cost : float
        Total unrounded Euclidean distance of the routes (depot legs included).
    unserved : tuple of int
        Request numbers (1..n) not served.
    found : bool
        False when the solver found no solution at all.
    seconds : float
        Wall-clock time of the solve.
    """

    instance: str
    routes: tuple[tuple[int, ...], ...]
    cost: float
    unserved: tuple[int, ...]
    found: bool
    seconds: float

    @property
    def vehicles_used(self) -> int:
        """Number of non-empty routes."""
        return sum(1 for route in self.routes if route)


def to_pdp_problem(instance: DarpInstance, *, allow_unserved: bool = False) -> PdpProblem:
    """The instance as a :class:`PdpProblem` in model units (``SCALE`` per instance unit).

    Locations are node ids. Rounding is conservative: travel up, window starts up, window ends,
    ride limit and route duration down, service times up.
    """
    n = instance.requests
    coordinates = np.array([(node.x, node.y) for node in instance.nodes], dtype=np.float64)
    delta = coordinates[:, None, :] - coordinates[None, :, :]
    distance = np.sqrt((delta**2).sum(axis=2))
    # 1e-9 guards against a float product landing a hair above a whole number.
    matrix = np.ceil(distance * SCALE - 1e-9).astype(np.int64)
    matrix[matrix < 0] = 0

    def up(value: float) -> int:
        return math.ceil(value * SCALE - 1e-9)

    def down(value: float) -> int:
        return math.floor(value * SCALE + 1e-9)

    tasks = []
    for i in range(1, n + 1):
        pickup, dropoff = instance.nodes[i], instance.nodes[n + i]
        tasks.append(
            PdpTask(
                request_id=str(i),
                pickup_location=i,
                dropoff_location=n + i,
                pickup_earliest=up(pickup.tw_start),
                pickup_latest=down(pickup.tw_end),
                dropoff_earliest=up(dropoff.tw_start),
                dropoff_latest=down(dropoff.tw_end),
                pickup_service_s=up(pickup.service),
                dropoff_service_s=up(dropoff.service),
                seats=pickup.load,
                wheelchairs=0,
                max_ride_s=down(instance.max_ride_time),
            )
        )
    start, end = instance.nodes[0], instance.nodes[2 * n + 1]
    max_duration = down(instance.max_route_duration)
    # The depot windows often imply T already; a redundant span limit only slows the search.
    implied = down(end.tw_end) - up(start.tw_start) <= max_duration
    vehicles = tuple(
        PdpVehicle(
            vehicle_id=str(k),
            start_location=0,
            start_time=up(start.tw_start),
            end_location=2 * n + 1,
            end_latest=down(end.tw_end),
            seats=instance.capacity,
            wheelchairs=0,
            max_duration_s=None if implied else max_duration,
        )
        for k in range(instance.vehicles)
    )
    return PdpProblem(
        matrix=matrix,
        tasks=tuple(tasks),
        vehicles=vehicles,
        allow_unserved=allow_unserved,
        unserved_penalty=100 * int(matrix.max() + 1) * 2,
    )


ORTOOLS_SHARE = 0.5
"""Share of a limit below :data:`ALNS_MIN_S` given to OR-Tools on the whole instance (at most
:data:`ORTOOLS_MAX_S`); the rest goes to the ruin-and-recreate search of
:mod:`dispatch.darp_lns`, which keeps improving where OR-Tools' guided local search stalls."""

ORTOOLS_MAX_S = 20.0
"""Longest OR-Tools phase, seconds."""

ALNS_MIN_S = 30.0
"""From this time limit on, the compiled adaptive search (:mod:`dispatch.darp_alns`) replaces
the pure-Python one; compiling its kernels takes some 10 s once per process, too much below."""

ALNS_ORTOOLS_SHARE = 0.15
"""Share of the time limit given to OR-Tools before the compiled search."""

FIRST_SOLUTIONS = ("parallel_cheapest_insertion", "local_cheapest_insertion")
"""OR-Tools first-solution strategies, each given an equal share of the OR-Tools phase.
(Sequential and local-cost cheapest insertion were tried too; the compiled search made them
unnecessary.)"""


def solve_darp(
    instance: DarpInstance, *, time_limit_s: float, seed: int = 0, plain: bool = False
) -> DarpResult:
    """Solve a dial-a-ride instance.

    Parameters
    ----------
    instance : DarpInstance
        Parsed instance.
    time_limit_s : float
        Search budget, seconds.
    seed : int
        Search variation.
    plain : bool
        True: the textbook OR-Tools model (see docs/darp.md): same constraints, requests may be
        rejected at a penalty, parallel cheapest insertion, guided local search, no tuning.

    Otherwise OR-Tools runs first (:data:`ORTOOLS_SHARE` of the limit, or
    :data:`ALNS_ORTOOLS_SHARE` from :data:`ALNS_MIN_S` on), then the rest of the limit goes to
    the pure-Python ruin-and-recreate (below :data:`ALNS_MIN_S`) or the compiled adaptive LNS.
    """
    started = time.perf_counter()
    n = instance.requests
    if plain:
        problem = to_pdp_problem(instance, allow_unserved=True)
        solution = solve_pdp(
            problem,
            time_limit_s=time_limit_s,
            seed=seed,
            first_solution="parallel_cheapest_insertion",
            metaheuristic="guided_local_search",
            ride_limit="constraint",
        )
    else:
        # Rejection penalties make the first solution robust; the penalty exceeds any route, so
        # every request that fits is served, and the search below keeps inserting the rest.
        problem = to_pdp_problem(instance, allow_unserved=True)
        deadline = started + time_limit_s
        compiled = time_limit_s >= ALNS_MIN_S
        share = ALNS_ORTOOLS_SHARE if compiled else ORTOOLS_SHARE
        phase = min(time_limit_s * share, ORTOOLS_MAX_S)
        # Guided local search barely leaves the basin of its first solution here, so several
        # first-solution strategies each get a share and the best answer goes on.
        strategies = FIRST_SOLUTIONS
        solution = min(
            (
                solve_pdp(
                    problem,
                    time_limit_s=phase / len(strategies),
                    seed=seed,
                    first_solution=strategy,
                    ride_limit="dimension",
                )
                for strategy in strategies
            ),
            key=lambda answer: (not answer.feasible, len(answer.unserved), answer.cost),
        )
    routes = tuple(
        tuple((visit[0] + 1) if visit[1] == "pickup" else (visit[0] + 1 + n) for visit in route)
        for route in solution.routes
    )
    if not plain and solution.feasible:
        improve = alns_improve if compiled else improve_routes
        routes = improve(instance, routes, deadline=deadline, rng=np.random.default_rng(seed))
    served = {node for route in routes for node in route if node <= n}
    unserved = tuple(i for i in range(1, n + 1) if i not in served)
    return DarpResult(
        instance=instance.name,
        routes=routes,
        cost=euclidean_cost(instance, routes),
        unserved=unserved,
        found=solution.feasible,
        seconds=time.perf_counter() - started,
    )
