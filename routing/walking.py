"""Walking access: which virtual stops a rider at a point can reach on foot.

Pedestrians ignore one-way streets, so walking distances use the road graph as an undirected
graph of edge lengths (the shorter direction where both exist). A rider first walks straight
to the nearest point on any road, then along the road to one of that edge's two end nodes,
then along the network to the stop's node.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing.graph import RoadGraph
from routing.memo import per_graph
from routing.snap import edge_snapper
from routing.stops import VirtualStop
from routing.types import Metres

__all__ = ["WalkingAccess", "walking_csr"]


def _walking_csr(graph: RoadGraph) -> csr_matrix:
    source = graph.edge_source.astype(np.int64)
    target = graph.edge_target.astype(np.int64)
    metres = graph.edge_length_m.astype(np.float64)
    rows = np.concatenate([source, target])
    columns = np.concatenate([target, source])
    weights = np.concatenate([metres, metres])
    # Keep the shortest of parallel and opposite edges (COO -> CSR would sum duplicates).
    order = np.lexsort((weights, columns, rows))
    rows, columns, weights = rows[order], columns[order], weights[order]
    keep = np.ones(rows.shape[0], dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (columns[1:] != columns[:-1])
    keep &= rows != columns
    return coo_matrix(
        (weights[keep], (rows[keep], columns[keep])), shape=(graph.n_nodes, graph.n_nodes)
    ).tocsr()


def walking_csr(graph: RoadGraph) -> csr_matrix:
    """Symmetric adjacency of walking metres (float64), cached per graph object."""
    return per_graph(graph, "walking_csr", _walking_csr)


class WalkingAccess:
    """Stops reachable on foot from a point, measured along the road graph in both directions.

    Parameters
    ----------
    graph : RoadGraph
        The road graph the stops' nodes belong to.
    stops : sequence of VirtualStop
        Candidate stops; several may share a node.
    """

    __slots__ = ("_graph", "_stop_nodes", "_stops")

    def __init__(self, graph: RoadGraph, stops: Sequence[VirtualStop]) -> None:
        self._graph = graph
        self._stops = tuple(stops)
        self._stop_nodes: npt.NDArray[np.int64] = np.asarray(
            [stop.node for stop in self._stops], dtype=np.int64
        )

    @property
    def stops(self) -> tuple[VirtualStop, ...]:
        """The candidate stops."""
        return self._stops

    def reachable(
        self, lat: float, lon: float, *, max_walk_m: Metres = 300
    ) -> list[tuple[VirtualStop, Metres]]:
        """Stops within ``max_walk_m`` metres on foot, nearest first.

        Walking metres = straight line from the point to the nearest point on a road, plus
        along that road to one of its end nodes, plus the undirected network distance to the
        stop's node; rounded to whole metres. Ties are ordered by stop id.

        Returns
        -------
        list of (VirtualStop, Metres)
            Empty when no stop is within reach (or the point is farther than ``max_walk_m``
            from every road).
        """
        if not self._stops or self._graph.n_edges == 0:
            return []
        point = edge_snapper(self._graph).nearest(lat, lon)
        budget = float(max_walk_m) - point.distance_m + 0.5
        if budget < 0.0:
            return []
        edge = point.edge
        ends = [int(self._graph.edge_source[edge]), int(self._graph.edge_target[edge])]
        offsets = np.array([point.along_m, float(self._graph.edge_length_m[edge]) - point.along_m])
        # The walking matrix is symmetric already, so the directed search gives the undirected
        # distances; directed=False would rebuild the symmetric matrix on every call (5x slower).
        distances = dijkstra(walking_csr(self._graph), directed=True, indices=ends, limit=budget)
        at_stops = distances[:, self._stop_nodes] + offsets[:, np.newaxis]
        walk = at_stops.min(axis=0) + point.distance_m
        found = []
        for index in np.nonzero(walk <= float(max_walk_m) + 0.5)[0].tolist():
            metres = round(float(walk[index]))
            if metres <= max_walk_m:
                found.append((self._stops[index], metres))
        found.sort(key=lambda item: (item[1], item[0].id))
        return found
