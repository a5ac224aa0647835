"""The service area over virtual stops: walking access and door-to-door zones.

:class:`VirtualStopArea` implements :class:`dispatch.area.ServiceArea` with the routing
package's snapping and walking access. It reads no files and no clock: the caller loads the
graph and the stops and passes them in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dispatch.model import Access
from routing.geo import point_in_ring
from routing.graph import RoadGraph
from routing.snap import edge_snapper, node_snapper
from routing.stops import VirtualStop
from routing.types import LatLon, Metres
from routing.walking import WalkingAccess

__all__ = ["VirtualStopArea"]

Ring = Sequence[tuple[float, float]]
"""A polygon ring of ``(lat, lon)`` vertices in degrees (open or closed)."""


class VirtualStopArea:
    """Riders board at virtual stops within walking distance, or door-to-door in zones.

    Parameters
    ----------
    graph : RoadGraph
        Drivable road graph the stops' nodes belong to.
    stops : sequence of VirtualStop
        The virtual stops riders may walk to.
    walk_speed_mps : float
        Walking speed in metres per second; ``walk_s = ceil(walk_m / walk_speed_mps)``.
    max_snap_m : Metres
        A point is in the service area when it lies within this many metres (straight line)
        of a road of the graph.
    zones : sequence of rings, optional
        Door-to-door zones (e.g. Minato), each a polygon ring of ``(lat, lon)`` vertices.
    """

    __slots__ = ("_graph", "_max_snap_m", "_stops", "_walk_speed_mps", "_walking", "_zones")

    def __init__(
        self,
        graph: RoadGraph,
        stops: Sequence[VirtualStop],
        *,
        walk_speed_mps: float = 1.0,
        max_snap_m: Metres = 500,
        zones: Sequence[Ring] = (),
    ) -> None:
        if walk_speed_mps <= 0:
            raise ValueError(f"walk_speed_mps must be positive, got {walk_speed_mps}")
        self._graph = graph
        self._stops = tuple(stops)
        self._walking = WalkingAccess(graph, self._stops)
        self._walk_speed_mps = float(walk_speed_mps)
        self._max_snap_m = max_snap_m
        self._zones = tuple(tuple((float(lat), float(lon)) for lat, lon in ring) for ring in zones)

    @property
    def graph(self) -> RoadGraph:
        """The road graph."""
        return self._graph

    @property
    def stops(self) -> tuple[VirtualStop, ...]:
        """The virtual stops."""
        return self._stops

    @property
    def zones(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        """Door-to-door zones as ``(lat, lon)`` rings."""
        return self._zones

    def _walk_seconds(self, walk_m: Metres) -> int:
        return math.ceil(walk_m / self._walk_speed_mps)

    def contains(self, point: LatLon) -> bool:
        """True when the point is within ``max_snap_m`` metres of a road of the graph."""
        if self._graph.n_edges == 0:
            return False
        nearest = edge_snapper(self._graph).nearest(point.lat, point.lon)
        return nearest.distance_m <= self._max_snap_m

    def access(self, point: LatLon, *, max_walk_m: Metres) -> Sequence[Access]:
        """Virtual stops reachable on foot within ``max_walk_m`` metres, nearest first.

        Walking follows the roads in both directions (see :class:`routing.walking.WalkingAccess`);
        empty when no stop is within reach.
        """
        return [
            Access(
                node=stop.node,
                stop_id=stop.id,
                name=stop.name,
                point=LatLon(stop.lat, stop.lon),
                walk_m=walk_m,
                walk_s=self._walk_seconds(walk_m),
            )
            for stop, walk_m in self._walking.reachable(point.lat, point.lon, max_walk_m=max_walk_m)
        ]

    def door(self, point: LatLon) -> Access:
        """Door-to-door access at the road node nearest the point.

        ``walk_m`` is the straight-line distance to that node (not limited: check
        :meth:`contains` first); ``stop_id`` is ``"door:<node>"``.
        """
        node, walk_m = node_snapper(self._graph).nearest(point.lat, point.lon)
        return Access(
            node=node,
            stop_id=f"door:{node}",
            name="",
            point=LatLon(float(self._graph.node_lat[node]), float(self._graph.node_lon[node])),
            walk_m=walk_m,
            walk_s=self._walk_seconds(walk_m),
        )

    def in_door_to_door_zone(self, point: LatLon) -> bool:
        """True when the point lies inside one of the door-to-door zones."""
        return any(point_in_ring(point.lat, point.lon, list(ring)) for ring in self._zones)
