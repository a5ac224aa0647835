"""Ruin-and-recreate improvement for static dial-a-ride solutions (after OR-Tools).

OR-Tools' guided local search stalls on the larger Cordeau instances: with tight windows and
ride times almost every single move is infeasible. This large-neighbourhood search removes a
handful of related requests and re-inserts them greedily (cheapest feasible position, in random
order), accepting by simulated annealing. It works on the unrounded instance (travel time =
Euclidean distance) and certifies every changed route with Cordeau and Laporte's eight-step
scheduling procedure (forward time slack), which only ever answers "feasible" with a schedule
that meets every rule, so it never makes a solution infeasible.

Pure: randomness comes from the ``numpy.random.Generator`` passed in; time from a deadline the
caller gives as a ``time.perf_counter()`` value.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import numpy.typing as npt

from dispatch.darp_instance import DarpInstance

__all__ = ["improve_routes"]

Route = list[int]
_RouteInfo = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]


class _Data:
    """Instance arrays indexed by node id (0 start depot, 1..n pickups, n+1..2n drop-offs)."""

    def __init__(self, instance: DarpInstance) -> None:
        self.n = instance.requests
        self.end = 2 * self.n + 1
        xy = np.array([(node.x, node.y) for node in instance.nodes], dtype=np.float64)
        self.distance_np: npt.NDArray[np.float64] = np.sqrt(
            ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        )
        self.distance: list[list[float]] = self.distance_np.tolist()
        self.earliest = [node.tw_start for node in instance.nodes]
        self.latest = [node.tw_end for node in instance.nodes]
        self.service = [node.service for node in instance.nodes]
        self.load = [node.load for node in instance.nodes]
        self.capacity = instance.capacity
        self.max_ride = instance.max_ride_time
        self.max_duration = instance.max_route_duration
        self.earliest_np = np.array(self.earliest)
        self.latest_np = np.array(self.latest)
        self.service_np = np.array(self.service)
        self.load_np = np.array(self.load)
        self._route_info: dict[tuple[int, ...], _RouteInfo] = {}
        self.candidates: dict[
            tuple[tuple[int, ...], int],
            tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]],
        ] = {}

    def route_info(self, route: Route) -> _RouteInfo:
        """Per-route arrays for insertion tests, cached by the route's node sequence.

        ``path`` = depot, route, end depot; ``begin`` earliest and ``latest`` latest service
        starts (windows only); ``load_after[k]`` load leaving position k; ``chain[k]`` service
        start offset of position k from position 1 without waiting; the index pairs a < b.
        """
        key = tuple(route)
        info = self._route_info.get(key)
        if info is not None:
            return info
        if len(self._route_info) > 20000:
            self._route_info.clear()
        dm, e, lat, s, q = (
            self.distance_np,
            self.earliest_np,
            self.latest_np,
            self.service_np,
            self.load_np,
        )
        path = np.array([0, *route, self.end])
        m = len(route)
        steps = s[path[:-1]] + dm[path[:-1], path[1:]]
        begin = np.empty(m + 2)
        begin[0] = e[0]
        for k in range(1, m + 2):
            begin[k] = max(e[path[k]], begin[k - 1] + steps[k - 1])
        latest = np.empty(m + 2)
        latest[m + 1] = lat[path[m + 1]]
        for k in range(m, -1, -1):
            latest[k] = min(lat[path[k]], latest[k + 1] - steps[k])
        load_after = np.cumsum(q[path])[: m + 1]
        chain = np.zeros(m + 2)
        chain[2:] = np.cumsum(steps[1:])
        a_index, b_index = np.triu_indices(m + 1, k=1)
        info = (path, begin, latest, load_after, chain, a_index, b_index)
        self._route_info[key] = info
        return info


def _route_cost(data: _Data, route: Route) -> float:
    if not route:
        return 0.0
    d = data.distance
    total = d[0][route[0]] + d[route[-1]][data.end]
    for a, b in itertools.pairwise(route):
        total += d[a][b]
    return total


def _feasible(data: _Data, route: Route) -> bool:
    """Eight-step scheduling (Cordeau & Laporte 2003): True only with a valid schedule."""
    n, d = data.n, data.distance
    e, lat, s, q = data.earliest, data.latest, data.service, data.load
    path = [0, *route, data.end]
    m = len(path)
    arrival = [0.0] * m
    begin = [0.0] * m
    wait = [0.0] * m
    begin[0] = e[0]
    load = 0
    for k in range(1, m):
        node, previous = path[k], path[k - 1]
        arrival[k] = begin[k - 1] + s[previous] + d[previous][node]
        begin[k] = arrival[k] if arrival[k] > e[node] else e[node]
        wait[k] = begin[k] - arrival[k]
        if begin[k] > lat[node]:
            return False
        load += q[node]
        if load > data.capacity:
            return False
    position = {node: k for k, node in enumerate(path)}

    def rides_ok() -> bool:
        for k in range(1, m - 1):
            node = path[k]
            if node <= n and begin[position[node + n]] - begin[k] - s[node] > data.max_ride:
                return False
        return True

    def duration_ok() -> bool:
        return begin[m - 1] - (begin[0] + s[0]) <= data.max_duration

    if rides_ok() and duration_ok():
        return True

    def forward_slack(i: int) -> float:
        best = math.inf
        waited = 0.0
        for j in range(i, m):
            if j > i:
                waited += wait[j]
            node = path[j]
            room = lat[node] - begin[j]
            if node > n and node != data.end:
                origin = position[node - n]
                if origin < i:
                    ride = begin[j] - begin[origin] - s[node - n]
                    room = min(room, data.max_ride - ride)
            value = waited + (room if room > 0 else 0.0)
            if value < best:
                best = value
        return best

    def propagate(start: int) -> None:
        for k in range(start + 1, m):
            node, previous = path[k], path[k - 1]
            arrival[k] = begin[k - 1] + s[previous] + d[previous][node]
            begin[k] = arrival[k] if arrival[k] > e[node] else e[node]
            wait[k] = begin[k] - arrival[k]

    # Step 5: delay the depot departure as far as helps.
    delay = min(forward_slack(0), sum(wait[1:]))
    begin[0] = e[0] + delay
    propagate(0)
    if rides_ok() and duration_ok():
        return all(begin[k] <= lat[path[k]] for k in range(1, m))
    # Step 7: delay each pickup by its forward slack (bounded by the later waiting).
    for k in range(1, m - 1):
        if path[k] <= n:
            later_wait = sum(wait[k + 1 :])
            if later_wait <= 0:
                continue
            slack = min(forward_slack(k), later_wait)
            if slack > 0:
                wait[k] += slack
                begin[k] = arrival[k] + wait[k]
                propagate(k)
    for k in range(1, m):
        if begin[k] > lat[path[k]]:
            return False
    return rides_ok() and duration_ok()


def _schedulable(data: _Data, route: Route) -> bool:
    """Exact: does ``route`` have a schedule meeting windows, T, L and Q?

    Every timing rule is a difference constraint ``B_j - B_i <= c`` on the service starts;
    a schedule exists exactly when their graph has no negative cycle (Bellman-Ford). Slower than
    the eight-step procedure, which may reject a feasible route; used on the starting routes.
    """
    load = 0
    for node in route:
        load += data.load[node]
        if load > data.capacity or load < 0:
            return False
    n, d = data.n, data.distance
    path = [0, *route, data.end]
    size = len(path)
    zero = size
    edges: list[tuple[int, int, float]] = [(0, size - 1, data.max_duration)]
    position = {node: k for k, node in enumerate(path)}
    for k, node in enumerate(path):
        edges.append((zero, k, data.latest[node]))
        edges.append((k, zero, -data.earliest[node]))
        if k + 1 < size:
            edges.append((k + 1, k, -(data.service[node] + d[node][path[k + 1]])))
        if 1 <= node <= n:
            if position.get(node + n, -1) < k:
                return False
            edges.append((k, position[node + n], data.max_ride + data.service[node]))
    distance = [math.inf] * (size + 1)
    distance[zero] = 0.0
    for _ in range(size + 1):
        changed = False
        for u, v, w in edges:
            if distance[u] + w < distance[v] - 1e-9:
                distance[v] = distance[u] + w
                changed = True
        if not changed:
            return True
    return False


def _insertion_candidates(
    data: _Data, route: Route, request: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cost increase of inserting ``request`` after path positions (a, b), windows pre-checked.

    Path positions: 0 is the start depot, k the route's k-th node (1-based). The pickup goes
    after position a, the drop-off after position b >= a (b == a: right after the pickup).
    Returns (deltas, a, b) of the pairs that pass necessary window and capacity tests.
    """
    n, dm = data.n, data.distance_np
    p, dnode = request, request + n
    path, begin, latest, load_after, chain, a_index, b_index = data.route_info(route)
    m = len(route)
    e, lat, s, q = data.earliest_np, data.latest_np, data.service_np, data.load_np
    here, nxt = path[: m + 1], path[1 : m + 2]
    base = dm[here, nxt]
    # Pickup after position a.
    arrive_p = begin[: m + 1] + s[here] + dm[here, p]
    begin_p = np.maximum(arrive_p, e[p])
    ok_p = (begin_p <= lat[p]) & (load_after + q[p] <= data.capacity)
    push_p = begin_p + s[p] + dm[p, nxt] <= latest[1 : m + 2]
    delta_p = dm[here, p] + dm[p, nxt] - base
    # Drop-off after position b (> a), from the unchanged earliest times (a lower bound).
    arrive_d = begin[: m + 1] + s[here] + dm[here, dnode]
    begin_d = np.maximum(arrive_d, e[dnode])
    ok_d = (begin_d <= lat[dnode]) & (begin_d + s[dnode] + dm[dnode, nxt] <= latest[1 : m + 2])
    delta_d = dm[here, dnode] + dm[dnode, nxt] - base
    # Capacity between a and b: max load on positions a..b-1 plus the request's load.
    over = load_after + q[p] > data.capacity
    blocked = np.zeros((m + 1, m + 1), dtype=bool)
    if over.any():
        cumulative = np.cumsum(over)
        # any over in [a, b]  <=>  cumulative[b] - cumulative[a-1] > 0
        before = np.concatenate(([0], cumulative))
        blocked_pairs = (cumulative[b_index] - before[a_index]) > 0
        blocked[a_index, b_index] = blocked_pairs
    # Ride of the new request, waiting left out: a lower bound that must not exceed L.
    ride = (
        dm[p, nxt][a_index]
        + chain[b_index]
        - chain[a_index + 1]
        + s[path[b_index]]
        + dm[path[b_index], dnode]
    )
    pair_ok = (
        ok_p[a_index]
        & push_p[a_index]
        & ok_d[b_index]
        & ~blocked[a_index, b_index]
        & (ride <= data.max_ride)
    )
    pair_delta = delta_p[a_index] + delta_d[b_index]
    # Adjacent: pickup then drop-off right after position a.
    begin_pd = np.maximum(begin_p + s[p] + dm[p, dnode], e[dnode])
    adjacent_ok = (
        ok_p
        & (begin_pd <= lat[dnode])
        & (begin_pd + s[dnode] + dm[dnode, nxt] <= latest[1 : m + 2])
    )
    adjacent_delta = dm[here, p] + dm[p, dnode] + dm[dnode, nxt] - base
    positions = np.arange(m + 1)
    deltas = np.concatenate((pair_delta[pair_ok], adjacent_delta[adjacent_ok]))
    first = np.concatenate((a_index[pair_ok], positions[adjacent_ok]))
    second = np.concatenate((b_index[pair_ok], positions[adjacent_ok]))
    return deltas, first, second


def _insert(route: Route, request: int, n: int, a: int, b: int) -> Route:
    """New route with the pickup after path position a and the drop-off after position b."""
    new = [*route[:a], request]
    if b == a:
        new.append(request + n)
        new.extend(route[a:])
    else:
        new.extend(route[a:b])
        new.append(request + n)
        new.extend(route[b:])
    return new


def _best_insertion(
    data: _Data, routes: list[Route], request: int, *, blink: float, rng: np.random.Generator
) -> tuple[float, int, Route] | None:
    """Cheapest feasible insertion of ``request`` over all routes, or None."""
    options: list[tuple[float, int, int, int]] = []
    tried_empty = False
    for v, route in enumerate(routes):
        if not route:
            if tried_empty:
                continue
            tried_empty = True
        key = (tuple(route), request)
        cached = data.candidates.get(key)
        if cached is None:
            if len(data.candidates) > 50000:
                data.candidates.clear()
            cached = _insertion_candidates(data, route, request)
            data.candidates[key] = cached
        deltas, first, second = cached
        for delta, a, b in zip(deltas.tolist(), first.tolist(), second.tolist(), strict=True):
            options.append((delta, v, a, b))
    options.sort()
    for delta, v, a, b in options:
        if blink and rng.random() < blink:
            continue
        candidate = _insert(routes[v], request, data.n, a, b)
        if _feasible(data, candidate):
            return delta, v, candidate
    return None


def _related_removal(
    data: _Data, routes: list[Route], count: int, rng: np.random.Generator
) -> list[int]:
    """Requests close to a random seed request in space and time (Shaw removal)."""
    n = data.n
    served = [node for route in routes for node in route if node <= n]
    seed = int(rng.choice(served))
    dm = data.distance_np
    requests = np.array(served)
    relatedness = (
        dm[seed, requests]
        + dm[seed + n, requests + n]
        + 0.2 * np.abs(data.earliest_np[requests] - data.earliest_np[seed])
        + 0.2 * np.abs(data.latest_np[requests + n] - data.latest_np[seed + n])
    )
    order = requests[np.argsort(relatedness + rng.random(len(requests)) * 2.0)]
    return [int(r) for r in order[:count]]


def _route_removal(
    data: _Data, routes: list[Route], count: int, rng: np.random.Generator
) -> list[int]:
    """A consecutive stretch of requests from one random route."""
    used = [route for route in routes if route]
    route = used[int(rng.integers(len(used)))]
    requests = [node for node in route if node <= data.n]
    start = int(rng.integers(max(1, len(requests) - count + 1)))
    return requests[start : start + count]


def improve_routes(
    instance: DarpInstance,
    routes: tuple[tuple[int, ...], ...],
    *,
    deadline: float,
    rng: np.random.Generator,
    temperature_factor: float = 0.05,
    max_removed: int = 15,
    sort_insertions: bool = False,
) -> tuple[tuple[int, ...], ...]:
    """Improve feasible ``routes`` (node ids, depots left out) until ``deadline``.

    Requests missing from ``routes`` are inserted as soon as a feasible place is found (an
    unserved request costs more than any route). Returns routes at least as good: fewer
    unserved requests, or as many and no more distance. Every changed route is certified
    feasible by the eight-step schedule.
    """
    data = _Data(instance)
    n = data.n
    penalty = 10.0 * float(data.distance_np.max() + 1.0) * 2
    # A route that has no valid schedule gives its requests back to be re-inserted.
    current = [list(route) if _schedulable(data, list(route)) else [] for route in routes]
    costs = [_route_cost(data, route) for route in current]
    served = {node for route in current for node in route if node <= n}
    current_missing = [r for r in range(1, n + 1) if r not in served]
    current_value = sum(costs) + penalty * len(current_missing)
    best = [list(route) for route in current]
    best_value = current_value
    started = time.perf_counter()
    total = max(deadline - started, 1e-9)
    initial_temperature = temperature_factor * sum(costs) / max(1, n)
    max_remove = max(2, min(max_removed, n // 4))
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        progress = (now - started) / total
        temperature = initial_temperature * (1.0 - progress) + 1e-9
        count = int(rng.integers(2, max_remove + 1))
        if not any(current):
            removed: list[int] = []
        elif rng.random() < 0.7:
            removed = _related_removal(data, current, count, rng)
        else:
            removed = _route_removal(data, current, count, rng)
        gone = set(removed) | {r + n for r in removed}
        trial = [[node for node in route if node not in gone] for route in current]
        trial_costs = costs.copy()
        for v, route in enumerate(trial):
            if len(route) != len(current[v]):
                trial_costs[v] = _route_cost(data, route)
        order = list(removed)
        rng.shuffle(order)
        if sort_insertions:
            choice = rng.random()
            if choice < 0.33:
                order.sort(key=lambda r: data.latest[r + n] - data.earliest[r])
            elif choice < 0.66:
                order.sort(key=lambda r: -data.distance[0][r])
        order = current_missing + order
        missing = []
        for request in order:
            found = _best_insertion(data, trial, request, blink=0.01, rng=rng)
            if found is None:
                missing.append(request)
                continue
            _, v, new_route = found
            trial[v] = new_route
            trial_costs[v] = _route_cost(data, new_route)
        trial_value = sum(trial_costs) + penalty * len(missing)
        if trial_value < current_value - 1e-9 or rng.random() < math.exp(
            -(trial_value - current_value) / temperature
        ):
            current, costs, current_value, current_missing = (
                trial,
                trial_costs,
                trial_value,
                missing,
            )
            if current_value < best_value - 1e-9:
                best = [list(route) for route in current]
                best_value = current_value
    return tuple(tuple(route) for route in best)
