"""Snapping coordinates to the road graph: nearest node and nearest point on an edge.

Both indexes work in a local equirectangular projection (metres) centred on the graph, with
:class:`scipy.spatial.cKDTree`. Use :func:`node_snapper` / :func:`edge_snapper` to get the one
index cached per graph object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from routing.errors import PointOffMapError
from routing.geo import LocalProjection
from routing.graph import RoadGraph
from routing.memo import per_graph
from routing.types import Metres, NodeId

__all__ = [
    "EdgePoint",
    "EdgeSnapper",
    "NodeSnapper",
    "edge_snapper",
    "graph_projection",
    "nearest_node",
    "node_snapper",
]

_SAMPLE_STEP_M = 40.0
"""Edge segments are indexed by sample points at most this far apart (metres)."""


def graph_projection(graph: RoadGraph) -> LocalProjection:
    """The local projection centred on the mean node position of ``graph``."""
    if graph.n_nodes == 0:
        return LocalProjection(0.0, 0.0)
    return LocalProjection(float(np.mean(graph.node_lat)), float(np.mean(graph.node_lon)))


class NodeSnapper:
    """Nearest-node queries on one road graph.

    Parameters
    ----------
    graph : RoadGraph
        The graph whose nodes are indexed.
    """

    __slots__ = ("_graph", "_projection", "_tree")

    def __init__(self, graph: RoadGraph) -> None:
        self._graph = graph
        self._projection = graph_projection(graph)
        x, y = self._projection.to_xy(graph.node_lat, graph.node_lon)
        self._tree = cKDTree(np.column_stack([x, y]))

    @property
    def projection(self) -> LocalProjection:
        """The projection the index uses (metres east/north of the graph centre)."""
        return self._projection

    def nearest(self, lat: float, lon: float) -> tuple[NodeId, Metres]:
        """The nearest node and its straight-line distance in whole metres (rounded)."""
        if self._graph.n_nodes == 0:
            raise PointOffMapError("the road graph has no nodes; load a map with roads first")
        distance, index = self._tree.query(self._projection.point_xy(lat, lon))
        return int(index), round(float(distance))

    def within(self, lat: float, lon: float, radius_m: float) -> list[tuple[NodeId, Metres]]:
        """Nodes within ``radius_m`` metres (straight line), nearest first.

        Ties are broken by node id, so the order is deterministic.
        """
        point = np.asarray(self._projection.point_xy(lat, lon))
        indices = self._tree.query_ball_point(point, float(radius_m))
        if not indices:
            return []
        found = np.asarray(indices, dtype=np.int64)
        distances = np.hypot(*(self._tree.data[found] - point).T)
        order = np.lexsort((found, distances))
        return [(int(found[i]), round(float(distances[i]))) for i in order]


def node_snapper(graph: RoadGraph) -> NodeSnapper:
    """The :class:`NodeSnapper` of ``graph``, built once per graph object."""
    return per_graph(graph, "node_snapper", NodeSnapper)


def nearest_node(
    graph: RoadGraph, lat: float, lon: float, *, max_distance_m: float = 1000
) -> NodeId:
    """The road node nearest a WGS84 point.

    Parameters
    ----------
    graph : RoadGraph
        Drivable road graph.
    lat, lon : float
        The point, degrees.
    max_distance_m : float
        Farthest allowed straight-line distance to the node, metres.

    Raises
    ------
    PointOffMapError
        When the nearest node is farther than ``max_distance_m``.
    """
    node, distance = node_snapper(graph).nearest(lat, lon)
    if distance > max_distance_m:
        raise PointOffMapError(
            f"point {lat:.6f},{lon:.6f} is {distance} m from the nearest road node "
            f"(limit {max_distance_m:g} m); pick a point inside the map ({graph.source or 'graph'})"
            " or load a map that covers it"
        )
    return node


@dataclass(frozen=True, slots=True)
class EdgePoint:
    """The point of the road network nearest a query point.

    Attributes
    ----------
    edge : int
        Edge index into the graph's edge arrays.
    distance_m : float
        Straight-line metres from the query point to ``(lat, lon)``.
    along_m : float
        Metres from the edge's source node to the point, scaled to the edge's integer
        ``edge_length_m`` (so ``0 <= along_m <= edge_length_m[edge]``).
    lat, lon : float
        The snapped point, degrees.
    """

    edge: int
    distance_m: float
    along_m: float
    lat: float
    lon: float


class EdgeSnapper:
    """Nearest point on any edge polyline of one road graph.

    Every polyline segment is represented in a KD-tree by sample points at most
    ``40 m`` apart. The nearest sample (distance ``s``) bounds the answer; every segment with
    a sample within ``s + 20 m`` is then checked exactly, which cannot miss the true nearest
    segment because its foot point has a sample within 20 m.
    """

    __slots__ = (
        "_edge_geometry_m",
        "_graph",
        "_projection",
        "_sample_segment",
        "_seg_along",
        "_seg_edge",
        "_seg_x0",
        "_seg_x1",
        "_seg_y0",
        "_seg_y1",
        "_tree",
    )

    def __init__(self, graph: RoadGraph) -> None:
        self._graph = graph
        self._projection = graph_projection(graph)
        x, y = self._projection.to_xy(graph.geometry_lat, graph.geometry_lon)
        offsets = graph.geometry_offsets.astype(np.int64)
        n_points = int(x.shape[0])
        point_edge = np.repeat(np.arange(graph.n_edges, dtype=np.int64), np.diff(offsets))
        starts = np.arange(max(n_points - 1, 0), dtype=np.int64)
        same_edge = point_edge[starts] == point_edge[starts + 1] if n_points > 1 else starts > 0
        starts = starts[same_edge]
        self._seg_x0, self._seg_y0 = x[starts], y[starts]
        self._seg_x1, self._seg_y1 = x[starts + 1], y[starts + 1]
        self._seg_edge = point_edge[starts]
        seg_len = np.hypot(self._seg_x1 - self._seg_x0, self._seg_y1 - self._seg_y0)
        # Metres along the edge polyline where each segment starts.
        cumulative = np.cumsum(seg_len) - seg_len
        first_of_edge = np.ones(seg_len.shape[0], dtype=bool)
        first_of_edge[1:] = self._seg_edge[1:] != self._seg_edge[:-1]
        edge_start = np.maximum.accumulate(np.where(first_of_edge, cumulative, 0.0))
        self._seg_along = cumulative - edge_start
        self._edge_geometry_m = np.zeros(graph.n_edges, dtype=np.float64)
        np.add.at(self._edge_geometry_m, self._seg_edge, seg_len)
        # Sample points along each segment, at most _SAMPLE_STEP_M apart, both ends included.
        per_segment = np.ceil(seg_len / _SAMPLE_STEP_M).astype(np.int64) + 1
        sample_segment = np.repeat(np.arange(seg_len.shape[0], dtype=np.int64), per_segment)
        first_sample = np.cumsum(per_segment) - per_segment
        rank = np.arange(sample_segment.shape[0], dtype=np.int64) - first_sample[sample_segment]
        t = rank / np.maximum(per_segment[sample_segment] - 1, 1)
        sx = self._seg_x0[sample_segment] + t * (self._seg_x1 - self._seg_x0)[sample_segment]
        sy = self._seg_y0[sample_segment] + t * (self._seg_y1 - self._seg_y0)[sample_segment]
        self._sample_segment = sample_segment
        self._tree = cKDTree(np.column_stack([sx, sy]))

    def nearest(self, lat: float, lon: float) -> EdgePoint:
        """The nearest point on any edge (ties: the lowest edge index)."""
        if self._sample_segment.shape[0] == 0:
            raise PointOffMapError("the road graph has no edges; load a map with roads first")
        px, py = self._projection.point_xy(lat, lon)
        nearest_sample, _ = self._tree.query((px, py))
        radius = float(nearest_sample) + _SAMPLE_STEP_M / 2.0 + 1e-6
        samples = np.asarray(self._tree.query_ball_point((px, py), radius), dtype=np.int64)
        segments = np.unique(self._sample_segment[samples])
        x0, y0 = self._seg_x0[segments], self._seg_y0[segments]
        dx, dy = self._seg_x1[segments] - x0, self._seg_y1[segments] - y0
        length_sq = dx * dx + dy * dy
        safe = np.where(length_sq > 0.0, length_sq, 1.0)
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / safe, 0.0, 1.0)
        t = np.where(length_sq > 0.0, t, 0.0)
        fx, fy = x0 + t * dx, y0 + t * dy
        distances = np.hypot(px - fx, py - fy)
        edges = self._seg_edge[segments]
        best = int(np.lexsort((edges, np.round(distances, 6)))[0])
        segment = int(segments[best])
        edge = int(edges[best])
        along_geometry = float(self._seg_along[segment] + t[best] * math.sqrt(length_sq[best]))
        geometry_m = float(self._edge_geometry_m[edge])
        edge_m = float(self._graph.edge_length_m[edge])
        along = edge_m * along_geometry / geometry_m if geometry_m > 0.0 else 0.0
        lat_f, lon_f = self._projection.to_latlon(float(fx[best]), float(fy[best]))
        return EdgePoint(
            edge=edge,
            distance_m=float(distances[best]),
            along_m=min(max(along, 0.0), edge_m),
            lat=lat_f,
            lon=lon_f,
        )


def edge_snapper(graph: RoadGraph) -> EdgeSnapper:
    """The :class:`EdgeSnapper` of ``graph``, built once per graph object."""
    return per_graph(graph, "edge_snapper", EdgeSnapper)
