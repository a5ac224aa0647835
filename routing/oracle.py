"""The travel-time seam between dispatch and routing."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from routing.types import Metres, NodeId, Seconds

__all__ = ["TravelTimeOracle"]


@runtime_checkable
class TravelTimeOracle(Protocol):
    """Shortest driving time and distance between two road-graph nodes.

    Implementations: :class:`routing.matrix.GraphOracle` (matrix over virtual stops plus a
    bounded Dijkstra cache) and small matrix fakes in tests. ``seconds(n, n)`` is 0.
    """

    def seconds(self, origin: NodeId, destination: NodeId) -> Seconds:
        """Driving time in whole seconds along the fastest path."""
        ...

    def metres(self, origin: NodeId, destination: NodeId) -> Metres:
        """Length in whole metres of the fastest path (not the shortest one)."""
        ...
