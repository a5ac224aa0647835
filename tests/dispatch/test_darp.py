"""Static dial-a-ride mode: conservative integer model, solving a real Cordeau instance."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from dispatch.darp import SCALE, parse_cordeau, solve_darp, to_pdp_problem
from dispatch.darp_check import check_solution
from dispatch.darp_lns import improve_routes
from dispatch.pdp import solve_pdp

# K=1 vehicle, n=2 requests, T=100, Q=2, L=10; nodes on the x axis (see test_darp_check.py).
TINY = """1 2 100 2 10
0 0 0 0 0 0 100
1 1 0 1 1 0 100
2 2.5 0 1 1 0 100
3 3 0 1 -1 0 100
4 4 0 1 -1 0 100
5 0 0 0 0 0 100
"""


def test_integer_model_rounds_travel_up_and_limits_down() -> None:
    instance = parse_cordeau(TINY, name="tiny")
    problem = to_pdp_problem(instance)
    # Node 1 (x = 1) to node 2 (x = 2.5): 1.5 units = 1500 model units exactly.
    assert problem.matrix[1, 2] == 1500
    coordinates = [(node.x, node.y) for node in instance.nodes]
    for a, first in enumerate(coordinates):
        for b, second in enumerate(coordinates):
            assert problem.matrix[a, b] >= math.dist(first, second) * SCALE - 1e-6
    assert problem.tasks[0].max_ride_s == 10 * SCALE
    assert problem.tasks[1].pickup_location == 2
    assert problem.tasks[1].dropoff_location == 4
    assert problem.vehicles[0].end_location == 5


@pytest.mark.timeout(60)
def test_tiny_instance_is_solved_to_the_obvious_route() -> None:
    # Pool both riders: 0 -> 1 -> 2 -> 3 -> 4 -> 0 = 1 + 1.5 + 0.5 + 1 + 4 = 8.
    instance = parse_cordeau(TINY, name="tiny")
    result = solve_darp(instance, time_limit_s=1.0)
    verdict = check_solution(instance, result.routes)
    assert verdict.feasible, verdict.violations
    assert result.cost == pytest.approx(8.0)
    assert result.unserved == ()


@pytest.mark.timeout(120)
def test_a2_16_is_solved_feasibly_by_the_independent_checker(shared_data: Path) -> None:
    path = shared_data / "darp" / "cordeau2006" / "instances" / "a2-16.txt"
    instance = parse_cordeau(path.read_text(), name="a2-16")
    result = solve_darp(instance, time_limit_s=3.0)
    verdict = check_solution(instance, result.routes)
    assert verdict.feasible, verdict.violations[:5]
    assert verdict.served == 16
    assert verdict.cost == pytest.approx(result.cost)
    # Best known (optimal) cost 294.25; any feasible answer is at least that.
    assert verdict.cost >= 294.24


@pytest.mark.timeout(60)
def test_ruin_and_recreate_inserts_a_missing_request_and_stays_feasible() -> None:
    # Start with request 2 left out; the search must put it back and never break a rule.
    instance = parse_cordeau(TINY, name="tiny")
    routes = improve_routes(
        instance, ((1, 3),), deadline=time.perf_counter() + 0.5, rng=np.random.default_rng(1)
    )
    verdict = check_solution(instance, routes)
    assert verdict.feasible, verdict.violations
    assert verdict.served == 2


@pytest.mark.timeout(120)
def test_ortools_routes_keep_ride_times_on_a8_64(shared_data: Path) -> None:
    # Regression: with only OR-Tools' pickup-to-delivery limit (no hard constraint), local
    # cheapest insertion returned a8-64 routes whose riders 6 and 17 rode longer than L = 30.
    path = shared_data / "darp" / "cordeau2006" / "instances" / "a8-64.txt"
    instance = parse_cordeau(path.read_text(), name="a8-64")
    n = instance.requests
    solution = solve_pdp(
        to_pdp_problem(instance, allow_unserved=True),
        time_limit_s=2.0,
        first_solution="local_cheapest_insertion",
    )
    routes = tuple(
        tuple(t + 1 if kind == "pickup" else t + 1 + n for t, kind in route)
        for route in solution.routes
    )
    verdict = check_solution(instance, routes)
    assert not [v for v in verdict.violations if v.kind != "unserved"]
