"""solve_pdp on a hand-made line: locations 0..5 on a road, 60 s between neighbours.

Travel from location a to b takes 60 * |a - b| seconds; routes start and end at location 0
unless a test says otherwise. Costs are total travel seconds, so each expected cost below is
a sum of such legs written out in the comment.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.pdp import PdpProblem, PdpSolution, PdpTask, PdpVehicle, solve_pdp

LINE = np.array([[60 * abs(a - b) for b in range(6)] for a in range(6)], dtype=np.int64)
DAY = 10_000


def task(
    pickup: int,
    dropoff: int,
    *,
    pickup_window: tuple[int, int] = (0, DAY),
    dropoff_window: tuple[int, int] = (0, DAY),
    service: int = 0,
    max_ride: int = DAY,
    seats: int = 1,
    wheelchairs: int = 0,
    vehicle: int | None = None,
    onboard: bool = False,
) -> PdpTask:
    return PdpTask(
        request_id=f"{pickup}->{dropoff}",
        pickup_location=pickup,
        dropoff_location=dropoff,
        pickup_earliest=pickup_window[0],
        pickup_latest=pickup_window[1],
        dropoff_earliest=dropoff_window[0],
        dropoff_latest=dropoff_window[1],
        pickup_service_s=service,
        dropoff_service_s=service,
        seats=seats,
        wheelchairs=wheelchairs,
        max_ride_s=max_ride,
        vehicle=vehicle,
        onboard=onboard,
    )


def bus(
    *,
    start: int = 0,
    seats: int = 4,
    wheelchairs: int = 1,
    first_visit: tuple[int, str] | None = None,
) -> PdpVehicle:
    return PdpVehicle(
        vehicle_id=f"bus@{start}",
        start_location=start,
        start_time=0,
        end_location=start,
        end_latest=DAY,
        seats=seats,
        wheelchairs=wheelchairs,
        first_visit=first_visit,
    )


def solve(problem: PdpProblem) -> PdpSolution:
    return solve_pdp(problem, time_limit_s=1.0)


@pytest.mark.timeout(60)
def test_one_seat_carries_overlapping_riders_one_after_the_other() -> None:
    tasks = (task(1, 3), task(2, 4))
    # Two seats: 0 -> 1 -> 2 -> 3 -> 4 -> 0 = 60 + 60 + 60 + 60 + 240 = 480.
    two = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(seats=2),)))
    assert two.feasible
    assert two.cost == 480
    # One seat: 0 -> 1 -> 3 -> 2 -> 4 -> 0 = 60 + 120 + 60 + 120 + 240 = 600.
    one = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(seats=1),)))
    assert one.feasible
    assert one.cost == 600
    assert one.routes[0] == ((0, "pickup"), (0, "dropoff"), (1, "pickup"), (1, "dropoff"))


@pytest.mark.timeout(60)
def test_wheelchair_place_is_a_capacity_of_its_own() -> None:
    # Both riders use a wheelchair, the bus has one place: same order as one seat, cost 600.
    tasks = (task(1, 3, wheelchairs=1), task(2, 4, wheelchairs=1))
    solution = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(wheelchairs=1),)))
    assert solution.feasible
    assert solution.cost == 600


@pytest.mark.timeout(60)
def test_time_windows_decide_the_order() -> None:
    # A (1 -> 2) may only be picked up in [600, 700]; B (3 -> 4) by 300. Serve B first:
    # 0 -> 3 (180, B at 180) -> 4 (240) -> 1 (420, wait until 600) -> 2 -> 0:
    # 180 + 60 + 180 + 60 + 120 = 600.
    tasks = (task(1, 2, pickup_window=(600, 700)), task(3, 4, pickup_window=(0, 300)))
    solution = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),)))
    assert solution.feasible
    assert solution.cost == 600
    assert solution.routes[0] == ((1, "pickup"), (1, "dropoff"), (0, "pickup"), (0, "dropoff"))


@pytest.mark.timeout(60)
def test_max_ride_forbids_pooling_with_stops_on_the_way() -> None:
    # A rides 1 -> 4 (180 s direct), at most 180 s; B rides 2 -> 3; every stop dwells 30 s.
    # Pooled 0-1-2-3-4-0 would cost 480 but A would ride 60+30+60+30+60 = 240 > 180.
    # The best unpooled tour is 0 -> 1 -> 4 -> 2 -> 3 -> 0 = 60 + 180 + 120 + 60 + 180 = 600.
    limited = (task(1, 4, service=30, max_ride=180), task(2, 3, service=30))
    solution = solve(PdpProblem(matrix=LINE, tasks=limited, vehicles=(bus(),)))
    assert solution.feasible
    assert solution.cost == 600
    free = (task(1, 4, service=30), task(2, 3, service=30))
    assert solve(PdpProblem(matrix=LINE, tasks=free, vehicles=(bus(),))).cost == 480


@pytest.mark.timeout(60)
def test_onboard_rider_is_dropped_by_its_vehicle_and_holds_its_seat() -> None:
    # Rider 0 is on board bus 0 (1 seat) going to 4; rider 1 waits at 1 for 2.
    # The seat is taken until 4: 0 -> 4 -> 1 -> 2 -> 0 = 240 + 180 + 60 + 120 = 600.
    tasks = (task(0, 4, vehicle=0, onboard=True), task(1, 2))
    solution = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(seats=1), bus(start=5))))
    assert solution.feasible
    assert solution.routes[0][0] == (0, "dropoff")
    assert (0, "pickup") not in solution.routes[0] + solution.routes[1]
    if (1, "pickup") in solution.routes[0]:
        assert solution.routes[0] == ((0, "dropoff"), (1, "pickup"), (1, "dropoff"))


@pytest.mark.timeout(60)
def test_locked_first_visit_is_served_first() -> None:
    # Unlocked, A (1 -> 2) comes first; the bus is already driving to B's pickup at 4.
    tasks = (task(1, 2), task(4, 5))
    free = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),)))
    assert free.routes[0][0] == (0, "pickup")
    locked = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(first_visit=(1, "pickup")),)))
    assert locked.feasible
    assert locked.routes[0][0] == (1, "pickup")


@pytest.mark.timeout(60)
def test_pinned_task_goes_to_its_vehicle_even_when_another_is_closer() -> None:
    # Bus 1 waits at 5 beside the task 4 -> 5, but the task is pinned to bus 0 at 0.
    tasks = (task(4, 5, vehicle=0),)
    solution = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(), bus(start=5))))
    assert solution.routes[0] == ((0, "pickup"), (0, "dropoff"))
    assert solution.routes[1] == ()


@pytest.mark.timeout(60)
def test_warm_start_is_used_when_feasible_and_ignored_otherwise() -> None:
    tasks = (task(1, 3), task(2, 4))
    good = ((((0, "pickup"), (1, "pickup"), (0, "dropoff"), (1, "dropoff"))),)
    bad = ((((0, "dropoff"), (0, "pickup"), (1, "pickup"), (1, "dropoff"))),)  # drop first
    used = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),), warm_start=good))
    assert used.warm_start_used
    assert used.feasible
    assert used.cost == 480
    ignored = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),), warm_start=bad))
    assert not ignored.warm_start_used
    assert ignored.feasible
    assert ignored.cost == 480


@pytest.mark.timeout(60)
def test_unreachable_task_is_infeasible_unless_it_may_be_left_out() -> None:
    # Location 5 is 300 s away; its pickup must start by 100.
    tasks = (task(1, 2), task(5, 4, pickup_window=(0, 100)))
    strict = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),)))
    assert not strict.feasible
    assert strict.routes == ((),)
    lenient = solve(PdpProblem(matrix=LINE, tasks=tasks, vehicles=(bus(),), allow_unserved=True))
    assert lenient.feasible
    assert lenient.unserved == (1,)
    assert lenient.routes[0] == ((0, "pickup"), (0, "dropoff"))


def test_onboard_task_without_vehicle_is_refused() -> None:
    with pytest.raises(ValueError, match="onboard"):
        solve(PdpProblem(matrix=LINE, tasks=(task(0, 4, onboard=True),), vehicles=(bus(),)))


@st.composite
def small_problems(draw: st.DrawFn) -> PdpProblem:
    """2 buses, 1-4 tasks on the line, windows wide or tight, 1-2 seats each."""
    n_tasks = draw(st.integers(1, 4))
    tasks = []
    for _ in range(n_tasks):
        pickup = draw(st.integers(0, 5))
        dropoff = (pickup + draw(st.integers(1, 5))) % 6  # never the pickup location
        opens = draw(st.integers(0, 600))
        tasks.append(
            task(
                pickup,
                dropoff,
                pickup_window=(opens, opens + draw(st.sampled_from([60, 300, DAY]))),
                seats=draw(st.integers(1, 2)),
                service=draw(st.sampled_from([0, 30])),
            )
        )
    buses = (bus(seats=draw(st.integers(1, 3))), bus(start=5, seats=draw(st.integers(1, 3))))
    return PdpProblem(matrix=LINE, tasks=tuple(tasks), vehicles=buses, allow_unserved=True)


@pytest.mark.timeout(120)
@settings(max_examples=12, deadline=None)
@given(problem=small_problems())
def test_every_route_keeps_order_capacity_and_windows(problem: PdpProblem) -> None:
    solution = solve_pdp(problem, time_limit_s=0.5, metaheuristic="greedy_descent")
    assert solution.feasible
    served = sorted(t for route in solution.routes for t, kind in route if kind == "pickup")
    assert served == sorted(set(range(len(problem.tasks))) - set(solution.unserved))
    for v, route in enumerate(solution.routes):
        vehicle = problem.vehicles[v]
        # Earliest schedule with waiting: each visit starts at max(arrival, window start).
        clock, place, load, picked = vehicle.start_time, vehicle.start_location, 0, set()
        for t, kind in route:
            job = problem.tasks[t]
            where = job.pickup_location if kind == "pickup" else job.dropoff_location
            earliest = job.pickup_earliest if kind == "pickup" else job.dropoff_earliest
            latest = job.pickup_latest if kind == "pickup" else job.dropoff_latest
            clock = max(clock + int(LINE[place, where]), earliest)
            assert clock <= latest
            clock += job.pickup_service_s if kind == "pickup" else job.dropoff_service_s
            place = where
            if kind == "pickup":
                picked.add(t)
                load += job.seats
            else:
                assert t in picked  # pickup before drop-off, same vehicle
                load -= job.seats
            assert load <= vehicle.seats
        assert clock + int(LINE[place, vehicle.end_location]) <= vehicle.end_latest


def grid_problem() -> PdpProblem:
    """Eight riders on a 4 x 4 grid (60 s per block, Manhattan), two buses from corner 0."""
    cells = [(r, c) for r in range(4) for c in range(4)]
    matrix = np.array(
        [[60 * (abs(a[0] - b[0]) + abs(a[1] - b[1])) for b in cells] for a in cells],
        dtype=np.int64,
    )
    pairs = ((1, 14), (2, 11), (4, 15), (7, 8), (5, 10), (13, 3), (9, 6), (12, 2))
    tasks = tuple(task(p, d) for p, d in pairs)
    return PdpProblem(matrix=matrix, tasks=tasks, vehicles=(bus(seats=3), bus(seats=3)))


@pytest.mark.timeout(60)
def test_a_solution_limit_gives_the_same_routes_every_time() -> None:
    problem = grid_problem()
    # A generous wall-clock cap: the solution limit, not the clock, ends these searches.
    first = solve_pdp(problem, time_limit_s=20.0, solution_limit=20)
    second = solve_pdp(problem, time_limit_s=20.0, solution_limit=20)
    assert first.feasible
    assert not first.time_capped
    assert second.routes == first.routes
    assert second.cost == first.cost
    # Every rider is carried: 8 pickups and 8 drop-offs over the two routes.
    assert sum(len(route) for route in first.routes) == 16


def test_a_solution_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="solution_limit"):
        solve_pdp(grid_problem(), time_limit_s=1.0, solution_limit=0)
