"""Compiled (numba) kernels for the dial-a-ride search: route scheduling and insertion.

The pure-Python reference versions live in :mod:`dispatch.darp_lns` (``_feasible`` and
``_insertion_candidates``); these kernels compute the same answers some 50 times faster, which
is what lets the ruin-and-recreate search run thousands of iterations a minute.

Layout: node ids as in :mod:`dispatch.darp_instance` (0 start depot, ``1..n`` pickups,
``n+1..2n`` drop-offs, ``2n+1`` end depot). A *path* is an ``int64`` array holding the start
depot, the route's nodes and the end depot; only its first ``m`` entries count. A set of routes
is a 2-D ``paths`` array (one path per row) with ``lengths`` (``m`` of each row, at least 2).
Times equal unrounded Euclidean distances (instance minutes).

Pure: no clock, files or randomness. Compiled on first use (no on-disk cache: dispatch writes
no files), which costs a few seconds once per process.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "best_insertion",
    "eight_step",
    "insert_request",
    "insertion_table",
    "path_cost",
    "removal_gains",
    "remove_requests",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@njit(cache=False)
def path_cost(path: IntArray, m: int, dist: FloatArray) -> float:
    """Length of the first ``m`` nodes of ``path`` (0 for a depot-to-depot path)."""
    if m <= 2:
        return 0.0
    total = 0.0
    for k in range(m - 1):
        total += dist[path[k], path[k + 1]]
    return total


@njit(cache=False)
def _rides_ok(
    path: IntArray, m: int, begin: FloatArray, pos: IntArray, s: FloatArray, n: int, ride: float
) -> bool:
    for k in range(1, m - 1):
        node = path[k]
        if node <= n and begin[pos[node + n]] - begin[k] - s[node] > ride:
            return False
    return True


@njit(cache=False)
def _forward_slack(
    i: int,
    path: IntArray,
    m: int,
    begin: FloatArray,
    wait: FloatArray,
    pos: IntArray,
    late: FloatArray,
    s: FloatArray,
    n: int,
    end: int,
    ride: float,
) -> float:
    best = math.inf
    waited = 0.0
    for j in range(i, m):
        if j > i:
            waited += wait[j]
        node = path[j]
        room = late[node] - begin[j]
        if node > n and node != end:
            origin = pos[node - n]
            if origin < i:
                rode = begin[j] - begin[origin] - s[node - n]
                room = min(room, ride - rode)
        value = waited + (room if room > 0 else 0.0)
        if value < best:
            best = value
    return best


@njit(cache=False)
def _propagate(
    start: int,
    path: IntArray,
    m: int,
    arrival: FloatArray,
    begin: FloatArray,
    wait: FloatArray,
    dist: FloatArray,
    early: FloatArray,
    s: FloatArray,
) -> None:
    for k in range(start + 1, m):
        node, previous = path[k], path[k - 1]
        arrival[k] = begin[k - 1] + s[previous] + dist[previous, node]
        begin[k] = arrival[k] if arrival[k] > early[node] else early[node]
        wait[k] = begin[k] - arrival[k]


@njit(cache=False)
def eight_step(
    path: IntArray,
    m: int,
    dist: FloatArray,
    early: FloatArray,
    late: FloatArray,
    s: FloatArray,
    q: IntArray,
    n: int,
    capacity: int,
    ride: float,
    duration: float,
) -> bool:
    """Cordeau-Laporte eight-step scheduling of ``path[:m]``: True only with a valid schedule.

    Same steps as ``dispatch.darp_lns._feasible`` (windows, capacity ``Q``, ride time ``L``,
    route duration ``T``); it may reject a route that has a schedule, never the reverse.
    """
    end = 2 * n + 1
    arrival = np.zeros(m)
    begin = np.zeros(m)
    wait = np.zeros(m)
    pos = np.full(2 * n + 2, -1, dtype=np.int64)
    begin[0] = early[0]
    pos[path[0]] = 0
    load = 0
    for k in range(1, m):
        node, previous = path[k], path[k - 1]
        pos[node] = k
        arrival[k] = begin[k - 1] + s[previous] + dist[previous, node]
        begin[k] = arrival[k] if arrival[k] > early[node] else early[node]
        wait[k] = begin[k] - arrival[k]
        if begin[k] > late[node]:
            return False
        load += q[node]
        if load > capacity:
            return False
    if _rides_ok(path, m, begin, pos, s, n, ride) and begin[m - 1] - (begin[0] + s[0]) <= duration:
        return True
    # Step 5: delay the depot departure as far as helps.
    total_wait = 0.0
    for k in range(1, m):
        total_wait += wait[k]
    delay = min(_forward_slack(0, path, m, begin, wait, pos, late, s, n, end, ride), total_wait)
    begin[0] = early[0] + delay
    _propagate(0, path, m, arrival, begin, wait, dist, early, s)
    if _rides_ok(path, m, begin, pos, s, n, ride) and begin[m - 1] - (begin[0] + s[0]) <= duration:
        for k in range(1, m):  # noqa: SIM110 (numba compiles loops, not generators)
            if begin[k] > late[path[k]]:
                return False
        return True
    # Step 7: delay each pickup by its forward slack (bounded by the later waiting).
    for k in range(1, m - 1):
        if path[k] <= n:
            later_wait = 0.0
            for j in range(k + 1, m):
                later_wait += wait[j]
            if later_wait <= 0:
                continue
            slack = min(
                _forward_slack(k, path, m, begin, wait, pos, late, s, n, end, ride), later_wait
            )
            if slack > 0:
                wait[k] += slack
                begin[k] = arrival[k] + wait[k]
                _propagate(k, path, m, arrival, begin, wait, dist, early, s)
    for k in range(1, m):
        if begin[k] > late[path[k]]:
            return False
    return (
        _rides_ok(path, m, begin, pos, s, n, ride) and begin[m - 1] - (begin[0] + s[0]) <= duration
    )


@njit(cache=False)
def _build(path: IntArray, m: int, r: int, n: int, a: int, b: int, out: IntArray) -> int:
    """Write ``path`` with pickup ``r`` after position a and drop-off after b >= a into out."""
    size = 0
    for k in range(a + 1):
        out[size] = path[k]
        size += 1
    out[size] = r
    size += 1
    for k in range(a + 1, b + 1):
        out[size] = path[k]
        size += 1
    out[size] = r + n
    size += 1
    for k in range(b + 1, m):
        out[size] = path[k]
        size += 1
    return size


@njit(cache=False)
def best_insertion(
    path: IntArray,
    m: int,
    r: int,
    dist: FloatArray,
    early: FloatArray,
    late: FloatArray,
    s: FloatArray,
    q: IntArray,
    n: int,
    capacity: int,
    ride: float,
    duration: float,
    bound: float,
) -> tuple[float, int, int]:
    """Cheapest feasible insertion of request ``r`` into ``path[:m]``.

    Returns ``(delta, a, b)``: the distance added, the pickup placed after path position ``a``
    and the drop-off after position ``b >= a`` of the original path (``b == a``: right after
    the pickup). ``(inf, -1, -1)`` when no position passes the eight-step schedule or none is
    cheaper than ``bound``. Positions are screened by necessary window, capacity and ride-time
    tests, then certified cheapest first (same screen as ``darp_lns._insertion_candidates``).
    """
    p, d = r, r + n
    last = m - 1  # index of the end depot; insert after positions 0..last-1
    begin = np.empty(m)
    latest = np.empty(m)
    load_after = np.empty(m, dtype=np.int64)
    chain = np.zeros(m)
    begin[0] = early[path[0]]
    for k in range(1, m):
        step = s[path[k - 1]] + dist[path[k - 1], path[k]]
        value = begin[k - 1] + step
        begin[k] = value if value > early[path[k]] else early[path[k]]
        if k >= 2:
            chain[k] = chain[k - 1] + step
    latest[last] = late[path[last]]
    for k in range(last - 1, -1, -1):
        value = latest[k + 1] - s[path[k]] - dist[path[k], path[k + 1]]
        latest[k] = value if value < late[path[k]] else late[path[k]]
    load = 0
    for k in range(m):
        load += q[path[k]]
        load_after[k] = load
    slots = last  # positions 0..last-1
    count = 0
    deltas = np.empty(slots * (slots + 1) // 2)
    firsts = np.empty(slots * (slots + 1) // 2, dtype=np.int64)
    seconds = np.empty(slots * (slots + 1) // 2, dtype=np.int64)
    # Drop-off screens per position b (independent of a).
    ok_d = np.zeros(slots, dtype=np.bool_)
    delta_d = np.empty(slots)
    for b in range(slots):
        here, nxt = path[b], path[b + 1]
        value = begin[b] + s[here] + dist[here, d]
        begin_d = value if value > early[d] else early[d]
        ok_d[b] = begin_d <= late[d] and begin_d + s[d] + dist[d, nxt] <= latest[b + 1]
        delta_d[b] = dist[here, d] + dist[d, nxt] - dist[here, nxt]
    for a in range(slots):
        here, nxt = path[a], path[a + 1]
        if load_after[a] + q[p] > capacity:
            continue
        value = begin[a] + s[here] + dist[here, p]
        begin_p = value if value > early[p] else early[p]
        if begin_p > late[p]:
            continue
        delta_p = dist[here, p] + dist[p, nxt] - dist[here, nxt]
        # Adjacent: pickup then drop-off right after position a.
        value = begin_p + s[p] + dist[p, d]
        begin_pd = value if value > early[d] else early[d]
        if begin_pd <= late[d] and begin_pd + s[d] + dist[d, nxt] <= latest[a + 1]:
            delta = dist[here, p] + dist[p, d] + dist[d, nxt] - dist[here, nxt]
            if delta < bound:
                deltas[count] = delta
                firsts[count] = a
                seconds[count] = a
                count += 1
        if begin_p + s[p] + dist[p, nxt] > latest[a + 1]:
            continue
        for b in range(a + 1, slots):
            if load_after[b] + q[p] > capacity:
                break  # the load between pickup and drop-off only grows with b
            if not ok_d[b]:
                continue
            rode = dist[p, nxt] + chain[b] - chain[a + 1] + s[path[b]] + dist[path[b], d]
            if rode > ride:
                break  # the lower bound only grows with b
            delta = delta_p + delta_d[b]
            if delta < bound:
                deltas[count] = delta
                firsts[count] = a
                seconds[count] = b
                count += 1
    if count == 0:
        return math.inf, -1, -1
    trial = np.empty(m + 2, dtype=np.int64)
    for _ in range(count):
        # Cheapest untried candidate (usually one of the first few certifies).
        index = 0
        for c in range(1, count):
            if deltas[c] < deltas[index]:
                index = c
        if deltas[index] == math.inf:
            break
        delta = deltas[index]
        deltas[index] = math.inf
        size = _build(path, m, r, n, firsts[index], seconds[index], trial)
        if eight_step(trial, size, dist, early, late, s, q, n, capacity, ride, duration):
            return delta, firsts[index], seconds[index]
    return math.inf, -1, -1


@njit(cache=False)
def insertion_table(
    paths: IntArray,
    lengths: IntArray,
    routes: IntArray,
    requests: IntArray,
    dist: FloatArray,
    early: FloatArray,
    late: FloatArray,
    s: FloatArray,
    q: IntArray,
    n: int,
    capacity: int,
    ride: float,
    duration: float,
) -> tuple[FloatArray, IntArray, IntArray]:
    """Best insertion of each request into each of the listed routes.

    Returns ``(delta, a, b)`` arrays of shape ``(len(requests), len(routes))`` as in
    :func:`best_insertion`. Only the first empty route listed is evaluated (all empty routes
    are alike); the others get ``inf``.
    """
    rows, cols = len(requests), len(routes)
    deltas = np.full((rows, cols), math.inf)
    firsts = np.full((rows, cols), -1, dtype=np.int64)
    seconds = np.full((rows, cols), -1, dtype=np.int64)
    empty_done = False
    for c in range(cols):
        v = routes[c]
        m = lengths[v]
        if m == 2:
            if empty_done:
                continue
            empty_done = True
        for i in range(rows):
            delta, a, b = best_insertion(
                paths[v], m, requests[i], dist, early, late, s, q, n, capacity, ride, duration,
                math.inf,
            )  # fmt: skip
            deltas[i, c] = delta
            firsts[i, c] = a
            seconds[i, c] = b
    return deltas, firsts, seconds


@njit(cache=False)
def insert_request(
    paths: IntArray, lengths: IntArray, v: int, r: int, n: int, a: int, b: int
) -> None:
    """Insert request ``r`` into row ``v`` in place (pickup after a, drop-off after b)."""
    m = lengths[v]
    trial = np.empty(m + 2, dtype=np.int64)
    size = _build(paths[v], m, r, n, a, b, trial)
    paths[v, :size] = trial[:size]
    lengths[v] = size


@njit(cache=False)
def remove_requests(paths: IntArray, lengths: IntArray, gone: npt.NDArray[np.bool_]) -> None:
    """Drop in place every node whose ``gone[node]`` is True (depots are never gone)."""
    for v in range(paths.shape[0]):
        size = 0
        for k in range(lengths[v]):
            node = paths[v, k]
            if not gone[node]:
                paths[v, size] = node
                size += 1
        lengths[v] = size


@njit(cache=False)
def removal_gains(paths: IntArray, lengths: IntArray, n: int, dist: FloatArray) -> FloatArray:
    """Distance saved by removing each request alone (index = request id; 0 when unserved)."""
    gains = np.zeros(n + 1)
    for v in range(paths.shape[0]):
        m = lengths[v]
        path = paths[v]
        for k in range(1, m - 1):
            node = path[k]
            prev_node, next_node = path[k - 1], path[k + 1]
            saved = dist[prev_node, node] + dist[node, next_node] - dist[prev_node, next_node]
            request = node if node <= n else node - n
            gains[request] += saved
    return gains
