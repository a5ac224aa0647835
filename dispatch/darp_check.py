"""Independent feasibility checker for dial-a-ride solutions (Cordeau 2006 rules).

It shares nothing with the solver's model (no import of :mod:`dispatch.pdp`): it recomputes
everything from the instance with unrounded Euclidean distances.

Rules checked, with ``eps`` tolerance on every limit:

* every request served exactly once, by one route, pickup ``i`` before drop-off ``n+i``;
* load never above the capacity Q (and never below 0);
* each visit's service start ``B`` lies in its window (the vehicle may wait before it);
* route duration (arrival at the end depot minus departure from the start depot) at most T;
* ride time of each request (drop-off ``B`` minus pickup ``B`` + pickup service) at most L;
* at most K non-empty routes.

Scheduling. Given a route's order, the times ``B_k`` are free except for travel
(``B_{k+1} >= B_k + s_k + t_{k,k+1}``) and the limits above; every one of these constraints has
the form ``B_j - B_i <= c``. A schedule exists exactly when the graph of these difference
constraints has no negative cycle (Bellman-Ford), which decides feasibility exactly; the
shortest-path distances give the schedule (the latest feasible times). This replaces Cordeau and
Laporte's eight-step forward-time-slack procedure, which is a heuristic for the same question.
Violations are reported in stages so that each names its cause: windows alone (earliest times),
then windows + duration, then windows + duration + ride times (the requests whose ride
constraint lies on the negative cycle are named).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from dispatch.darp_instance import DarpInstance

__all__ = ["EPSILON", "CheckResult", "Violation", "check_solution", "route_schedule"]

EPSILON = 1e-6
"""Tolerance (instance time units) on windows, ride time and duration limits."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule.

    Attributes
    ----------
    kind : str
        ``"unknown_node"``, ``"duplicate"``, ``"unserved"``, ``"split"`` (pickup and drop-off on
        different routes), ``"order"`` (drop-off before pickup), ``"capacity"``,
        ``"time_window"``, ``"route_duration"``, ``"ride_time"``, ``"too_many_routes"``.
    route : int or None
        Route index (position in the routes list), when the rule belongs to one route.
    node : int or None
        Node id concerned (a request's pickup id for request rules).
    message : str
        What is wrong, with the numbers.
    """

    kind: str
    route: int | None
    node: int | None
    message: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The checker's verdict.

    Attributes
    ----------
    feasible : bool
        True when there is no violation.
    cost : float
        Total unrounded Euclidean distance of the non-empty routes, depot legs included.
    served : int
        Requests whose pickup and drop-off are both on one route in the right order.
    violations : tuple of Violation
        Every violation found (empty when feasible).
    schedules : tuple
        Per route, the service start times ``(depot departure, B of each node..., depot
        arrival)`` of a feasible schedule, or ``()`` when the route has none.
    """

    feasible: bool
    cost: float
    served: int
    violations: tuple[Violation, ...]
    schedules: tuple[tuple[float, ...], ...]


def _distance(instance: DarpInstance, a: int, b: int) -> float:
    first, second = instance.nodes[a], instance.nodes[b]
    return math.hypot(first.x - second.x, first.y - second.y)


def _bellman_ford(
    n_vars: int, edges: list[tuple[int, int, float, str, int]], source: int
) -> tuple[list[float] | None, list[tuple[int, int, float, str, int]]]:
    """Shortest distances from ``source``; or None and the edges of a negative cycle.

    Edge ``(u, v, w, label, node)`` is the constraint ``x_v - x_u <= w``.
    """
    inf = math.inf
    distance = [inf] * n_vars
    distance[source] = 0.0
    parent: list[tuple[int, int, float, str, int] | None] = [None] * n_vars
    changed_var = -1
    for _ in range(n_vars):
        changed_var = -1
        for edge in edges:
            u, v, w, _, _ = edge
            if distance[u] + w < distance[v] - 1e-9:
                distance[v] = distance[u] + w
                parent[v] = edge
                changed_var = v
        if changed_var < 0:
            return distance, []
    # Still relaxing after n_vars rounds: walk back n_vars parents to land on the cycle.
    var = changed_var
    for _ in range(n_vars):
        step = parent[var]
        assert step is not None
        var = step[0]
    cycle = []
    current = var
    while True:
        step = parent[current]
        assert step is not None
        cycle.append(step)
        current = step[0]
        if current == var:
            break
    return None, cycle


def route_schedule(
    instance: DarpInstance,
    route: tuple[int, ...],
    *,
    ride_limits: bool = True,
    duration_limit: bool = True,
    eps: float = EPSILON,
) -> tuple[list[float] | None, list[tuple[int, int, float, str, int]]]:
    """Feasible service start times for ``route`` (node ids, depots left out), or a conflict.

    Returns ``(times, [])`` with ``times`` = depot departure, each node's B, depot arrival; or
    ``(None, cycle)`` with the labelled constraints ``(u, v, bound, label, node)`` of a negative
    cycle: labels ``"travel"``, ``"earliest"``, ``"latest"``, ``"duration"``, ``"ride"``.
    Ride limits are only added for requests whose pickup precedes the drop-off on the route.
    """
    n = instance.requests
    path = (0, *route, 2 * n + 1)
    size = len(path)
    zero = size  # the reference variable x_zero = 0
    edges: list[tuple[int, int, float, str, int]] = []
    for k, node_id in enumerate(path):
        node = instance.nodes[node_id]
        edges.append((zero, k, node.tw_end + eps, "latest", node_id))
        edges.append((k, zero, -node.tw_start, "earliest", node_id))
        if k + 1 < size:
            gap = node.service + _distance(instance, node_id, path[k + 1])
            edges.append((k + 1, k, -gap, "travel", node_id))
    if duration_limit:
        edges.append((0, size - 1, instance.max_route_duration + eps, "duration", 0))
    if ride_limits:
        position = {node_id: k for k, node_id in enumerate(path)}
        for k, node_id in enumerate(path):
            if 1 <= node_id <= n and (n + node_id) in position and position[n + node_id] > k:
                limit = instance.max_ride_time + instance.nodes[node_id].service + eps
                edges.append((k, position[n + node_id], limit, "ride", node_id))
    distances, cycle = _bellman_ford(size + 1, edges, zero)
    if distances is None:
        return None, cycle
    return distances[:size], []


def check_solution(
    instance: DarpInstance, routes: list[list[int]] | tuple[tuple[int, ...], ...]
) -> CheckResult:
    """Check ``routes`` (per vehicle, node ids in visit order, depots left out) on ``instance``.

    Returns
    -------
    CheckResult
        The verdict, the unrounded cost and every violation found.
    """
    n = instance.requests
    violations: list[Violation] = []
    where: dict[int, list[tuple[int, int]]] = {}
    clean_routes: list[tuple[int, ...]] = []
    for r, route in enumerate(routes):
        clean: list[int] = []
        for k, node_id in enumerate(route):
            if not 1 <= node_id <= 2 * n:
                violations.append(
                    Violation("unknown_node", r, node_id, f"route {r}: node {node_id} is no visit")
                )
                continue
            where.setdefault(node_id, []).append((r, k))
            clean.append(node_id)
        clean_routes.append(tuple(clean))
    used = sum(1 for route in clean_routes if route)
    if used > instance.vehicles:
        violations.append(
            Violation(
                "too_many_routes", None, None, f"{used} routes used, {instance.vehicles} vehicles"
            )
        )
    served = 0
    bad_routes: set[int] = set()
    for request in range(1, n + 1):
        pickups, dropoffs = where.get(request, []), where.get(n + request, [])
        if len(pickups) > 1 or len(dropoffs) > 1:
            violations.append(
                Violation(
                    "duplicate",
                    None,
                    request,
                    f"request {request}: pickup visited {len(pickups)}x, drop-off {len(dropoffs)}x",
                )
            )
            bad_routes.update(r for r, _ in pickups + dropoffs)
            continue
        if not pickups and not dropoffs:
            violations.append(Violation("unserved", None, request, f"request {request} unserved"))
            continue
        if not pickups or not dropoffs or pickups[0][0] != dropoffs[0][0]:
            violations.append(
                Violation(
                    "split",
                    None,
                    request,
                    f"request {request}: pickup and drop-off not on one route",
                )
            )
            bad_routes.update(r for r, _ in pickups + dropoffs)
            continue
        (route_index, pickup_at), (_, dropoff_at) = pickups[0], dropoffs[0]
        if dropoff_at < pickup_at:
            violations.append(
                Violation(
                    "order",
                    route_index,
                    request,
                    f"route {route_index}: drop-off {n + request} before pickup {request}",
                )
            )
            bad_routes.add(route_index)
            continue
        served += 1

    schedules: list[tuple[float, ...]] = []
    cost = 0.0
    for r, route in enumerate(clean_routes):
        if not route:
            schedules.append(())
            continue
        path = (0, *route, 2 * n + 1)
        cost += sum(_distance(instance, a, b) for a, b in itertools.pairwise(path))
        violations.extend(_capacity_violations(instance, r, route))
        times = _time_violations(instance, r, route, violations)
        schedules.append(tuple(times) if times is not None else ())
    return CheckResult(
        feasible=not violations,
        cost=cost,
        served=served,
        violations=tuple(violations),
        schedules=tuple(schedules),
    )


def _capacity_violations(instance: DarpInstance, r: int, route: tuple[int, ...]) -> list[Violation]:
    found = []
    load = 0
    for node_id in route:
        load += instance.nodes[node_id].load
        if load > instance.capacity or load < 0:
            found.append(
                Violation(
                    "capacity",
                    r,
                    node_id,
                    f"route {r}: load {load} after node {node_id}, capacity {instance.capacity}",
                )
            )
    return found


def _time_violations(
    instance: DarpInstance, r: int, route: tuple[int, ...], violations: list[Violation]
) -> list[float] | None:
    """Append time violations of one route in stages; return a feasible schedule or None."""
    n = instance.requests
    path = (0, *route, 2 * n + 1)
    # Stage 1: windows alone. Earliest service starts are lower bounds of every schedule, so a
    # node whose earliest start is past its window end is late in every schedule.
    time_now = instance.nodes[0].tw_start
    late = False
    for k, node_id in enumerate(path):
        node = instance.nodes[node_id]
        if k > 0:
            previous = path[k - 1]
            arrival = time_now + instance.nodes[previous].service
            arrival += _distance(instance, previous, node_id)
            time_now = max(arrival, node.tw_start)
        if time_now > node.tw_end + EPSILON:
            late = True
            violations.append(
                Violation(
                    "time_window",
                    r,
                    node_id,
                    f"route {r}: node {node_id} served at {time_now:.3f} at the earliest,"
                    f" window ends {node.tw_end:g}",
                )
            )
    if late:
        return None
    # Stage 2: windows + route duration.
    times, _ = route_schedule(instance, route, ride_limits=False)
    if times is None:
        violations.append(
            Violation(
                "route_duration",
                r,
                None,
                f"route {r}: no schedule within the windows lasts at most"
                f" T={instance.max_route_duration:g}",
            )
        )
        return None
    # Stage 3: + ride times; name the requests whose ride limit is on the conflict cycle.
    times, cycle = route_schedule(instance, route)
    if times is None:
        for request in sorted({node for _, _, _, label, node in cycle if label == "ride"}):
            violations.append(
                Violation(
                    "ride_time",
                    r,
                    request,
                    f"route {r}: request {request} cannot ride at most"
                    f" L={instance.max_ride_time:g} within the windows and T",
                )
            )
        return None
    return times
