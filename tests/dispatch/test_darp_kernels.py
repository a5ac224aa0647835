"""Compiled dial-a-ride kernels agree with the pure-Python reference; the compiled search stays
feasible."""

from __future__ import annotations

import itertools
import time
from typing import Any

import numpy as np
import pytest

from dispatch import darp_kernels as kernels
from dispatch.darp_alns import _Model, _to_arrays, _to_routes, alns_improve, regret_insert
from dispatch.darp_check import check_solution
from dispatch.darp_instance import parse_cordeau
from dispatch.darp_lns import _Data, _feasible, _insert, _insertion_candidates

# K=1, n=3, T=100, Q=2, L=5; every node on the x axis at x = its id (drop-offs 4, 5, 6 for
# requests 1, 2, 3), end depot 7 back at x = 0; no service time, windows [0, 100].
THREE = """1 3 100 2 5
0 0 0 0 0 0 100
1 1 0 0 1 0 100
2 2 0 0 1 0 100
3 3 0 0 1 0 100
4 4 0 0 -1 0 100
5 5 0 0 -1 0 100
6 6 0 0 -1 0 100
7 0 0 0 0 0 100
"""


def _args(model: _Model) -> tuple[Any, ...]:
    return (
        model.dist,
        model.early,
        model.late,
        model.service,
        model.load,
        model.n,
        model.capacity,
        model.ride,
        model.duration,
    )


def _orders(n: int) -> list[list[int]]:
    """Every visit order of requests 1..n with each pickup before its drop-off."""
    result = []
    for order in itertools.permutations(range(1, 2 * n + 1)):
        position = {node: k for k, node in enumerate(order)}
        if all(position[r] < position[r + n] for r in range(1, n + 1)):
            result.append(list(order))
    return result


@pytest.mark.timeout(120)
def test_eight_step_kernel_agrees_with_python_on_every_order_of_three_requests() -> None:
    instance = parse_cordeau(THREE, name="three")
    model = _Model(instance)
    data = _Data(instance)
    verdicts = []
    orders = _orders(3)
    assert len(orders) == 90  # 6! / 2^3
    for order in orders:
        path = np.array([0, *order, 7], dtype=np.int64)
        compiled = kernels.eight_step(path, len(path), *_args(model))
        assert compiled == _feasible(data, order), order
        verdicts.append(compiled)
    # 1 4 2 5 3 6 rides 3 each (L = 5): feasible; 1 2 3 4 5 6 carries 3 riders > Q = 2.
    assert kernels.eight_step(np.array([0, 1, 4, 2, 5, 3, 6, 7]), 8, *_args(model))
    assert not kernels.eight_step(np.array([0, 1, 2, 3, 4, 5, 6, 7]), 8, *_args(model))
    assert any(verdicts)
    assert not all(verdicts)


@pytest.mark.timeout(120)
def test_best_insertion_kernel_matches_python_reference_and_hand_arithmetic() -> None:
    instance = parse_cordeau(THREE, name="three")
    model = _Model(instance)
    data = _Data(instance)
    route = [1, 4, 2, 5]  # 0 -> 1 -> 4 -> 2 -> 5 -> 0: 1 + 3 + 2 + 3 + 5 = 14
    path = np.array([0, *route, 7], dtype=np.int64)
    arguments = (path, len(path), 3, *_args(model), np.inf)  # bound inf: any cost
    delta, a, b = kernels.best_insertion(*arguments)
    # Picking 3 up on a leg that passes x = 3 costs 0 (1 -> 4, 4 -> 2 or 2 -> 5); the drop-off
    # at x = 6 costs at least 2 (5 -> 6 -> 0 minus 5 -> 0 = 1 + 6 - 5, or 2 -> 6 -> 5 minus
    # 2 -> 5 = 4 + 1 - 3). Pickup on 1 -> 4 rides at least 3 -> 4 -> 2 -> 6 = 7 > L = 5, so
    # the first place in path order costing 2 is pickup after node 4 (a = 2), drop-off after
    # node 2 (b = 3): 1 4 3 2 6 5, rider 3 rides 3 -> 2 -> 6 = 5 = L.
    assert delta == pytest.approx(2.0)
    assert (a, b) == (2, 3)
    assert _insert(route, 3, 3, a, b) == [1, 4, 3, 2, 6, 5]
    # Python reference: the cheapest screened candidate that the eight-step schedule accepts.
    deltas, firsts, seconds = _insertion_candidates(data, route, 3)
    reference = next(
        (float(d), int(x), int(y))
        for d, x, y in sorted(zip(deltas, firsts, seconds, strict=True))
        if _feasible(data, _insert(route, 3, 3, int(x), int(y)))
    )
    assert reference[0] == pytest.approx(delta)
    assert reference[1:] == (a, b)


@pytest.mark.timeout(120)
def test_regret_insertion_builds_routes_the_checker_accepts() -> None:
    # Two vehicles instead of one: same nodes, K = 2.
    instance = parse_cordeau("2" + THREE[1:], name="three-k2")
    model = _Model(instance)
    paths, lengths = _to_arrays(model, [[], []])
    missing = regret_insert(model, paths, lengths, [1, 2, 3], k=2)
    routes = _to_routes(paths, lengths)
    verdict = check_solution(instance, routes)
    assert missing == []
    assert verdict.feasible, verdict.violations
    assert verdict.served == 3
    # Optimum 14 = one route 1 2 4 3 5 6 (0-1-2-4-3-5-6-0 = 1+1+2+1+2+1+6; rider 2 rides
    # 2 + 1 + 2 = L exactly; 1 2 3 ... would carry 3 > Q riders). Upper bound: two routes
    # 0-1-4-0 (8) and 0-2-3-5-6-0 (12) = 20, and regret never does worse than that here.
    assert 14.0 - 1e-9 <= verdict.cost <= 20.0 + 1e-9


@pytest.mark.timeout(120)
def test_compiled_search_puts_a_missing_request_back_and_stays_feasible() -> None:
    instance = parse_cordeau(THREE, name="three")
    # Warm the kernels so the short deadline goes to the search, not to compiling.
    model = _Model(instance)
    paths, lengths = _to_arrays(model, [[1, 4]])
    regret_insert(model, paths, lengths, [2], k=2)
    kernels.path_cost(paths[0], int(lengths[0]), model.dist)
    kernels.removal_gains(paths, lengths, model.n, model.dist)
    kernels.remove_requests(paths, lengths, np.zeros(8, dtype=np.bool_))
    routes = alns_improve(
        instance, ((1, 4, 2, 5),), deadline=time.perf_counter() + 0.5, rng=np.random.default_rng(3)
    )
    verdict = check_solution(instance, routes)
    assert verdict.feasible, verdict.violations
    assert verdict.served == 3
    # Start 1 4 2 5 + request 3 missing; the optimum is 14 (see the regret test).
    assert verdict.cost == pytest.approx(14.0)
