"""Small hand-checkable fakes for dispatch tests: a matrix oracle and a line-shaped area.

The line: stops ``0 .. n-1`` one kilometre apart on a straight road, node id = stop index,
60 s of driving per kilometre. A rider's point is ``LatLon(0.0, x)`` where ``x`` is the
position along the line in kilometres (a fake convention: only these fakes read it), so a rider
at ``x = 2.1`` is 100 m from stop 2 and walks 100 s at 1 m/s.
"""

from __future__ import annotations

from collections.abc import Sequence

from dispatch.model import Access, Vehicle
from routing.types import LatLon, Metres, NodeId, Seconds

__all__ = ["LineArea", "MatrixOracle", "line_oracle", "point", "three_vehicles"]


class MatrixOracle:
    """A travel-time oracle over an explicit seconds (and metres) matrix; node = row index."""

    def __init__(
        self, seconds: Sequence[Sequence[int]], metres: Sequence[Sequence[int]] | None = None
    ) -> None:
        self._seconds = [list(row) for row in seconds]
        self._metres = [list(row) for row in (metres if metres is not None else seconds)]
        self.calls = 0

    def seconds(self, origin: NodeId, destination: NodeId) -> Seconds:
        self.calls += 1
        return self._seconds[origin][destination]

    def metres(self, origin: NodeId, destination: NodeId) -> Metres:
        return self._metres[origin][destination]

    @property
    def size(self) -> int:
        return len(self._seconds)


def line_oracle(n: int, *, seconds_per_km: int = 60) -> MatrixOracle:
    """``n`` stops one km apart: ``seconds(a, b) = seconds_per_km * |a - b|``."""
    return MatrixOracle(
        [[seconds_per_km * abs(a - b) for b in range(n)] for a in range(n)],
        [[1000 * abs(a - b) for b in range(n)] for a in range(n)],
    )


def point(x_km: float) -> LatLon:
    """The rider point ``x_km`` kilometres along the line."""
    return LatLon(0.0, x_km)


class LineArea:
    """Virtual stops every kilometre on the line; the area is ``-0.5 .. n-0.5`` km."""

    def __init__(self, n: int, *, walk_speed_mps: float = 1.0) -> None:
        self.n = n
        self.walk_speed_mps = walk_speed_mps

    def contains(self, p: LatLon) -> bool:
        return p.lat == 0.0 and -0.5 <= p.lon <= self.n - 0.5

    def _access(self, p: LatLon, node: int) -> Access:
        walk_m = round(abs(p.lon - node) * 1000)
        return Access(
            node=node,
            stop_id=f"s{node}",
            name=f"Stop {node}",
            point=LatLon(0.0, float(node)),
            walk_m=walk_m,
            walk_s=round(walk_m / self.walk_speed_mps),
        )

    def access(self, p: LatLon, *, max_walk_m: Metres) -> list[Access]:
        found = [self._access(p, k) for k in range(self.n)]
        found = [a for a in found if a.walk_m <= max_walk_m]
        return sorted(found, key=lambda a: (a.walk_m, a.node))

    def door(self, p: LatLon) -> Access:
        node = min(range(self.n), key=lambda k: (abs(p.lon - k), k))
        access = self._access(p, node)
        return Access(
            node=node,
            stop_id=f"door:{node}",
            name="",
            point=p,
            walk_m=access.walk_m,
            walk_s=access.walk_s,
        )


def three_vehicles(
    *, seats: int = 4, wheelchair_places: int = 1, shift_start: int = 0, shift_end: int = 86_400
) -> list[Vehicle]:
    """Buses at depots 0, 5 and 10 of an 11-stop line."""
    return [
        Vehicle(
            id=f"bus-{depot}",
            seats=seats,
            wheelchair_places=wheelchair_places,
            depot=depot,
            shift_start=shift_start,
            shift_end=shift_end,
        )
        for depot in (0, 5, 10)
    ]
