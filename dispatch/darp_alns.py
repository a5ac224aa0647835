"""Adaptive large-neighbourhood search for static dial-a-ride on compiled kernels.

The same ruin-and-recreate idea as :mod:`dispatch.darp_lns`, with route evaluation compiled by
numba (:mod:`dispatch.darp_kernels`), so it runs some thousands of iterations a minute instead
of tens. Operators, chosen with adaptive weights (Ropke & Pisinger 2006):

* removal: related (Shaw: close in space and time to a random request), random, worst (largest
  detour saved, randomised), a stretch of one route;
* insertion: greedy cheapest insertion in random order (with or without noise on the costs),
  regret-2 and regret-3.

Acceptance is simulated annealing with an exponentially falling temperature; the search returns
to the best solution when it has not improved for a while. Every changed route is certified by
the eight-step scheduling procedure, so every accepted solution is feasible.

Pure: randomness comes from the ``numpy.random.Generator`` passed in; time from a deadline the
caller gives as a ``time.perf_counter()`` value.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt

from dispatch import darp_kernels as kernels
from dispatch.darp_instance import DarpInstance
from dispatch.darp_lns import _Data, _schedulable

__all__ = ["alns_improve", "regret_insert"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_REMOVALS = ("related", "random", "worst", "route")
_INSERTIONS = ("greedy", "greedy_noise", "regret2", "regret3")
_SEGMENT = 100
"""Iterations between adaptive weight updates."""
_REACTION = 0.2
"""Share of a weight replaced by the last segment's average score."""
_SCORE_BEST, _SCORE_BETTER, _SCORE_ACCEPTED = 33.0, 9.0, 13.0


class _Model:
    """Instance arrays in the kernels' layout."""

    def __init__(self, instance: DarpInstance) -> None:
        self.data = _Data(instance)
        data = self.data
        self.n = data.n
        self.end = data.end
        self.dist: FloatArray = np.ascontiguousarray(data.distance_np, dtype=np.float64)
        self.early: FloatArray = np.asarray(data.earliest_np, dtype=np.float64)
        self.late: FloatArray = np.asarray(data.latest_np, dtype=np.float64)
        self.service: FloatArray = np.asarray(data.service_np, dtype=np.float64)
        self.load: IntArray = np.asarray(data.load_np, dtype=np.int64)
        self.capacity = int(data.capacity)
        self.ride = float(data.max_ride)
        self.duration = float(data.max_duration)

    def table(
        self, paths: IntArray, lengths: IntArray, routes: IntArray, requests: IntArray
    ) -> tuple[FloatArray, IntArray, IntArray]:
        """Best insertion of each request into each listed route (see kernels)."""
        result: tuple[FloatArray, IntArray, IntArray] = kernels.insertion_table(
            paths,
            lengths,
            routes,
            requests,
            self.dist,
            self.early,
            self.late,
            self.service,
            self.load,
            self.n,
            self.capacity,
            self.ride,
            self.duration,
        )
        return result

    def cost(self, paths: IntArray, lengths: IntArray, v: int) -> float:
        """Length of route ``v``."""
        return float(kernels.path_cost(paths[v], int(lengths[v]), self.dist))


def _empty_route(lengths: IntArray) -> int:
    """Index of the first empty route, or -1."""
    empty = np.flatnonzero(lengths == 2)
    return int(empty[0]) if len(empty) else -1


def greedy_insert(
    model: _Model,
    paths: IntArray,
    lengths: IntArray,
    order: list[int],
    *,
    noise: float,
    rng: np.random.Generator,
) -> list[int]:
    """Insert ``order`` one by one at the cheapest feasible place (in place); the misfits.

    ``noise`` > 0 perturbs each route's cost by up to ``noise`` (distance units) either way.
    """
    routes = np.arange(len(lengths), dtype=np.int64)
    missing: list[int] = []
    for request in order:
        deltas, firsts, seconds = model.table(
            paths, lengths, routes, np.array([request], dtype=np.int64)
        )
        row = deltas[0]
        if noise > 0:
            row = row + noise * rng.uniform(-1.0, 1.0, len(row))
        v = int(np.argmin(row))
        if not math.isfinite(deltas[0, v]):
            missing.append(request)
            continue
        kernels.insert_request(
            paths, lengths, v, request, model.n, int(firsts[0, v]), int(seconds[0, v])
        )
    return missing


def regret_insert(
    model: _Model, paths: IntArray, lengths: IntArray, requests: list[int], *, k: int
) -> list[int]:
    """Regret-k insertion (in place): repeatedly insert the request whose k best routes differ
    most from its best one (requests with fewer than k feasible routes first); the misfits.
    """
    if not requests:
        return []
    remaining = np.array(requests, dtype=np.int64)
    routes = np.arange(len(lengths), dtype=np.int64)
    deltas, firsts, seconds = model.table(paths, lengths, routes, remaining)
    missing: list[int] = []
    while len(remaining):
        ordered = np.sort(deltas, axis=1)
        best = ordered[:, 0]
        hopeless = ~np.isfinite(best)
        if hopeless.all():
            missing.extend(int(r) for r in remaining)
            break
        depth = min(k, ordered.shape[1])
        regret = np.zeros(len(remaining))
        with np.errstate(invalid="ignore"):
            for j in range(1, depth):
                regret += ordered[:, j] - best
        # inf regret (fewer than k feasible routes) first, then the larger regret, then the
        # cheaper insertion; requests that fit nowhere wait.
        regret[hopeless] = -np.inf
        candidates = np.flatnonzero(regret == regret.max())
        pick = int(candidates[np.argmin(best[candidates])])
        v = int(np.argmin(deltas[pick]))
        request = int(remaining[pick])
        kernels.insert_request(
            paths, lengths, v, request, model.n, int(firsts[pick, v]), int(seconds[pick, v])
        )
        keep = np.ones(len(remaining), dtype=bool)
        keep[pick] = False
        remaining = remaining[keep]
        deltas, firsts, seconds = deltas[keep], firsts[keep], seconds[keep]
        if not len(remaining):
            break
        # Only route v changed; an empty route may now be the one to evaluate.
        columns = [v]
        empty = _empty_route(lengths)
        if empty >= 0 and empty != v:
            columns.append(empty)
        fresh, fresh_a, fresh_b = model.table(
            paths, lengths, np.array(columns, dtype=np.int64), remaining
        )
        for c, column in enumerate(columns):
            deltas[:, column] = fresh[:, c]
            firsts[:, column] = fresh_a[:, c]
            seconds[:, column] = fresh_b[:, c]
    return missing


def _served_requests(paths: IntArray, lengths: IntArray, n: int) -> IntArray:
    nodes = np.concatenate([paths[v, 1 : lengths[v] - 1] for v in range(len(lengths))])
    return nodes[nodes <= n]


def _remove(
    kind: str,
    model: _Model,
    paths: IntArray,
    lengths: IntArray,
    count: int,
    rng: np.random.Generator,
) -> list[int]:
    n = model.n
    served = _served_requests(paths, lengths, n)
    if len(served) == 0:
        return []
    count = min(count, len(served))
    if kind == "random":
        return [int(r) for r in rng.choice(served, size=count, replace=False)]
    if kind == "worst":
        gains = kernels.removal_gains(paths, lengths, n, model.dist)[served]
        order = served[np.argsort(-gains)]
        chosen: list[int] = []
        pool = list(order)
        while len(chosen) < count and pool:
            index = int(len(pool) * rng.random() ** 4)
            chosen.append(int(pool.pop(index)))
        return chosen
    if kind == "route":
        used = np.flatnonzero(lengths > 2)
        v = int(used[rng.integers(len(used))])
        route = paths[v, 1 : lengths[v] - 1]
        requests = [int(node) for node in route if node <= n]
        start = int(rng.integers(max(1, len(requests) - count + 1)))
        return requests[start : start + count]
    # related (Shaw)
    seed = int(rng.choice(served))
    dm, early, late = model.dist, model.early, model.late
    relatedness = (
        dm[seed, served]
        + dm[seed + n, served + n]
        + 0.2 * np.abs(early[served] - early[seed])
        + 0.2 * np.abs(late[served + n] - late[seed + n])
    )
    order = served[np.argsort(relatedness + rng.random(len(served)) * 2.0)]
    return [int(r) for r in order[:count]]


def _to_arrays(model: _Model, routes: list[list[int]]) -> tuple[IntArray, IntArray]:
    paths = np.zeros((len(routes), 2 * model.n + 2), dtype=np.int64)
    lengths = np.zeros(len(routes), dtype=np.int64)
    for v, route in enumerate(routes):
        path = [0, *route, model.end]
        paths[v, : len(path)] = path
        lengths[v] = len(path)
    return paths, lengths


def _to_routes(paths: IntArray, lengths: IntArray) -> tuple[tuple[int, ...], ...]:
    return tuple(
        tuple(int(node) for node in paths[v, 1 : lengths[v] - 1]) for v in range(len(lengths))
    )


def alns_improve(
    instance: DarpInstance,
    routes: tuple[tuple[int, ...], ...],
    *,
    deadline: float,
    rng: np.random.Generator,
    temperature_factor: float = 2.0,
    min_removed_share: float = 0.05,
    max_removed_share: float = 0.3,
    max_removed: int = 30,
    restart_after: int = 3000,
    stats: dict[str, float] | None = None,
) -> tuple[tuple[int, ...], ...]:
    """Improve ``routes`` (node ids, depots left out) until ``deadline`` (perf_counter value).

    Requests missing from ``routes`` are inserted as soon as a feasible place is found. Returns
    routes at least as good: fewer unserved requests, or as many and no more distance. Each
    iteration removes between ``min_removed_share`` and ``max_removed_share`` of the requests
    (at most ``max_removed``, at least 2). The annealing temperature falls exponentially from
    ``temperature_factor`` x the mean distance per request to a hundredth of that (2.0 was
    best of 0.05, 0.3, 1, 2 and 4 on a8-64, a7-84, a8-96 at 60 s). ``stats``, when given,
    receives ``iterations``, ``accepted``, ``improved`` (new best found) and the final operator
    weights.
    """
    model = _Model(instance)
    data, n = model.data, model.n
    penalty = 10.0 * float(model.dist.max() + 1.0) * 2
    start_routes = [list(route) if _schedulable(data, list(route)) else [] for route in routes]
    paths, lengths = _to_arrays(model, start_routes)
    costs = np.array([model.cost(paths, lengths, v) for v in range(len(lengths))])
    served = set(_served_requests(paths, lengths, n).tolist())
    missing = [r for r in range(1, n + 1) if r not in served]
    value = float(costs.sum()) + penalty * len(missing)
    best_paths, best_lengths, best_value = paths.copy(), lengths.copy(), value
    started = time.perf_counter()
    total = max(deadline - started, 1e-9)
    start_temperature = temperature_factor * float(costs.sum()) / max(1, n)
    end_temperature = start_temperature / 100.0
    low = max(2, round(min_removed_share * n))
    high = max(low, min(max_removed, round(max_removed_share * n)))
    weights_r = np.ones(len(_REMOVALS))
    weights_i = np.ones(len(_INSERTIONS))
    scores_r, uses_r = np.zeros(len(_REMOVALS)), np.zeros(len(_REMOVALS))
    scores_i, uses_i = np.zeros(len(_INSERTIONS)), np.zeros(len(_INSERTIONS))
    noise = 0.025 * float(model.dist.max())
    iteration, since_best, accepted, improved = 0, 0, 0, 0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        iteration += 1
        since_best += 1
        progress = (now - started) / total
        temperature = start_temperature * (end_temperature / start_temperature) ** progress
        r_op = int(rng.choice(len(_REMOVALS), p=weights_r / weights_r.sum()))
        i_op = int(rng.choice(len(_INSERTIONS), p=weights_i / weights_i.sum()))
        count = int(rng.integers(low, high + 1))
        removed = _remove(_REMOVALS[r_op], model, paths, lengths, count, rng)
        trial_paths, trial_lengths = paths.copy(), lengths.copy()
        gone = np.zeros(2 * n + 2, dtype=np.bool_)
        for r in removed:
            gone[r] = gone[r + n] = True
        kernels.remove_requests(trial_paths, trial_lengths, gone)
        order = list(removed)
        rng.shuffle(order)
        order = missing + order
        kind = _INSERTIONS[i_op]
        if kind == "greedy":
            trial_missing = greedy_insert(
                model, trial_paths, trial_lengths, order, noise=0, rng=rng
            )
        elif kind == "greedy_noise":
            trial_missing = greedy_insert(
                model, trial_paths, trial_lengths, order, noise=noise, rng=rng
            )
        else:
            trial_missing = regret_insert(
                model, trial_paths, trial_lengths, order, k=2 if kind == "regret2" else 3
            )
        trial_costs = np.array(
            [model.cost(trial_paths, trial_lengths, v) for v in range(len(trial_lengths))]
        )
        trial_value = float(trial_costs.sum()) + penalty * len(trial_missing)
        score = 0.0
        if trial_value < value - 1e-9 or rng.random() < math.exp(
            -(trial_value - value) / temperature
        ):
            score = _SCORE_BETTER if trial_value < value - 1e-9 else _SCORE_ACCEPTED
            accepted += 1
            paths, lengths, value, missing = trial_paths, trial_lengths, trial_value, trial_missing
            if value < best_value - 1e-9:
                best_paths, best_lengths, best_value = paths.copy(), lengths.copy(), value
                score = _SCORE_BEST
                since_best = 0
                improved += 1
        scores_r[r_op] += score
        uses_r[r_op] += 1
        scores_i[i_op] += score
        uses_i[i_op] += 1
        if iteration % _SEGMENT == 0:
            for weights, scores, uses in (
                (weights_r, scores_r, uses_r),
                (weights_i, scores_i, uses_i),
            ):
                used = uses > 0
                weights[used] = (1 - _REACTION) * weights[used] + _REACTION * (
                    scores[used] / uses[used]
                )
                np.maximum(weights, 0.5, out=weights)
                scores[:] = 0
                uses[:] = 0
        if since_best >= restart_after:
            paths, lengths, value = best_paths.copy(), best_lengths.copy(), best_value
            served = set(_served_requests(paths, lengths, n).tolist())
            missing = [r for r in range(1, n + 1) if r not in served]
            since_best = 0
    if stats is not None:
        stats.update(iterations=iteration, accepted=accepted, improved=improved)
        stats.update(
            {f"weight_{name}": float(w) for name, w in zip(_REMOVALS, weights_r, strict=True)}
        )
        stats.update(
            {f"weight_{name}": float(w) for name, w in zip(_INSERTIONS, weights_i, strict=True)}
        )
    return _to_routes(best_paths, best_lengths)
