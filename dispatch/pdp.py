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

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

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
    """

    routes: tuple[tuple[tuple[int, str], ...], ...]
    cost: int
    unserved: tuple[int, ...]
    feasible: bool
    seconds: float


def solve_pdp(
    problem: PdpProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    first_solution: str = "auto",
    metaheuristic: str = "guided_local_search",
) -> PdpSolution:
    """Solve ``problem`` within ``time_limit_s`` seconds (implementation follows)."""
    raise NotImplementedError("solve_pdp is being implemented (issue 3)")
