"""Cordeau (2006) dial-a-ride instances: the data type and a parser from text (pure, no files).

Format (first line ``K n T Q L``, then ``id x y service load tw_start tw_end``): node 0 is the
start depot, ``1..n`` pickups, ``n+1..2n`` the matching drop-offs (request i is ``i -> n+i``),
``2n+1`` the end depot (the start depot again when the file stops at node 2n). Travel time equals
the unrounded Euclidean distance.

This module does not know the solver: the independent checker (:mod:`dispatch.darp_check`)
uses it too.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from dispatch.errors import DispatchError

__all__ = ["DarpFormatError", "DarpInstance", "DarpNode", "euclidean_cost", "parse_cordeau"]


class DarpFormatError(DispatchError):
    """The text is not a Cordeau dial-a-ride instance; check the file (first line K n T Q L)."""


@dataclass(frozen=True, slots=True)
class DarpNode:
    """One line of a Cordeau file: position, service time, load (+ pickup, - drop-off), window."""

    node_id: int
    x: float
    y: float
    service: float
    load: int
    tw_start: float
    tw_end: float


@dataclass(frozen=True, slots=True)
class DarpInstance:
    """A Cordeau dial-a-ride instance.

    Attributes
    ----------
    name : str
        Instance name, e.g. ``"a2-16"``.
    vehicles, requests : int
        K and n.
    max_route_duration, capacity, max_ride_time : float
        T, Q and L.
    nodes : tuple of DarpNode
        ``2n + 2`` nodes, indexed by node id (``nodes[2n+1]`` is the end depot).
    """

    name: str
    vehicles: int
    requests: int
    max_route_duration: float
    capacity: int
    max_ride_time: float
    nodes: tuple[DarpNode, ...]

    def distance(self, a: int, b: int) -> float:
        """Unrounded Euclidean distance (= travel time) between node ids a and b."""
        return math.hypot(self.nodes[a].x - self.nodes[b].x, self.nodes[a].y - self.nodes[b].y)


def _number(token: str, *, line: int, name: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise DarpFormatError(f"{name}: line {line}: {token!r} is not a number") from None


def parse_cordeau(text: str, *, name: str) -> DarpInstance:
    """Parse a Cordeau (2006) dial-a-ride instance from its text.

    Parameters
    ----------
    text : str
        File contents.
    name : str
        Instance name used in messages and results.

    Raises
    ------
    DarpFormatError
        When the header or a node line is malformed, or nodes are missing.
    """
    lines = [line.split() for line in text.splitlines()]
    numbered = [(i + 1, parts) for i, parts in enumerate(lines) if parts]
    if not numbered or len(numbered[0][1]) < 5:
        raise DarpFormatError(f"{name}: the first line must be 'K n T Q L'")
    header_line, header = numbered[0]
    k, n, t, q, ride = (_number(tok, line=header_line, name=name) for tok in header[:5])
    if k < 1 or n < 1 or k != int(k) or n != int(n) or q != int(q):
        raise DarpFormatError(f"{name}: header K={k} n={n} Q={q}: K, n, Q must be whole >= 1")
    n_requests = int(n)
    nodes: list[DarpNode] = []
    for line_number, parts in numbered[1:]:
        if len(parts) < 7:
            raise DarpFormatError(
                f"{name}: line {line_number}: need 'id x y service load tw_start tw_end'"
            )
        values = [_number(tok, line=line_number, name=name) for tok in parts[:7]]
        node_id = int(values[0])
        if node_id != len(nodes):
            raise DarpFormatError(f"{name}: line {line_number}: node {node_id} out of order")
        nodes.append(
            DarpNode(node_id, values[1], values[2], values[3], int(values[4]), values[5], values[6])
        )
        if len(nodes) == 2 * n_requests + 2:
            break
    if len(nodes) == 2 * n_requests + 1:
        depot = nodes[0]
        nodes.append(
            DarpNode(
                2 * n_requests + 1, depot.x, depot.y, depot.service, 0, depot.tw_start, depot.tw_end
            )
        )
    if len(nodes) != 2 * n_requests + 2:
        raise DarpFormatError(
            f"{name}: {len(nodes)} node lines for n={n_requests}; expected {2 * n_requests + 1}"
            f" or {2 * n_requests + 2}"
        )
    return DarpInstance(
        name=name,
        vehicles=int(k),
        requests=n_requests,
        max_route_duration=t,
        capacity=int(q),
        max_ride_time=ride,
        nodes=tuple(nodes),
    )


def euclidean_cost(instance: DarpInstance, routes: tuple[tuple[int, ...], ...]) -> float:
    """Total unrounded distance of ``routes`` (node ids, depots left out; empty = unused)."""
    end_depot = 2 * instance.requests + 1
    total = 0.0
    for route in routes:
        if not route:
            continue
        path = (0, *route, end_depot)
        total += sum(instance.distance(a, b) for a, b in itertools.pairwise(path))
    return total
