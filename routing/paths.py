"""Fastest driving paths between two nodes of the compiled road graph.

The search runs :func:`scipy.sparse.csgraph.dijkstra` on the graph's travel times (integer
seconds). Parallel edges are collapsed to the one with the smallest travel time (then the
shortest, then the lowest index), so the returned edge indices are the ones the time was
measured on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing.errors import NoPathError
from routing.graph import RoadGraph
from routing.memo import per_graph
from routing.types import Metres, NodeId, Seconds

__all__ = ["Path", "path_from_nodes", "shortest_path", "travel_time_csr"]


@dataclass(frozen=True, slots=True)
class Path:
    """A driving path through the road graph.

    Attributes
    ----------
    nodes : tuple of int
        Node ids from origin to destination inclusive (one node when origin == destination).
    edges : tuple of int
        Edge indices into the graph's edge arrays; ``edges[i]`` goes from ``nodes[i]`` to
        ``nodes[i + 1]`` (so ``len(edges) == len(nodes) - 1``).
    seconds : Seconds
        Sum of the edges' integer travel times.
    metres : Metres
        Sum of the edges' integer lengths.
    """

    nodes: tuple[int, ...]
    edges: tuple[int, ...]
    seconds: Seconds
    metres: Metres


@dataclass(frozen=True, slots=True)
class _FastestEdges:
    """The graph with parallel edges collapsed: one CSR of travel times plus edge ids.

    ``csr.data[k]`` is the travel time of edge ``edge_of_entry[k]`` from row ``u`` to column
    ``csr.indices[k]``.
    """

    csr: csr_matrix
    edge_of_entry: npt.NDArray[np.int64]


def _fastest_edges(graph: RoadGraph) -> _FastestEdges:
    source = graph.edge_source.astype(np.int64)
    target = graph.edge_target.astype(np.int64)
    seconds = graph.edge_travel_time_s.astype(np.int64)
    metres = graph.edge_length_m.astype(np.int64)
    index = np.arange(graph.n_edges, dtype=np.int64)
    # Sort by (source, target, seconds, metres, index) and keep the first of each pair.
    order = np.lexsort((index, metres, seconds, target, source))
    keep = np.ones(order.shape[0], dtype=bool)
    keep[1:] = (source[order][1:] != source[order][:-1]) | (target[order][1:] != target[order][:-1])
    chosen = order[keep]
    indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
    np.add.at(indptr, source[chosen] + 1, 1)
    indptr = np.cumsum(indptr)
    csr = csr_matrix(
        (seconds[chosen].astype(np.float64), target[chosen], indptr),
        shape=(graph.n_nodes, graph.n_nodes),
    )
    return _FastestEdges(csr=csr, edge_of_entry=chosen)


def travel_time_csr(graph: RoadGraph) -> csr_matrix:
    """Travel-time adjacency (seconds, float64) with parallel edges collapsed to their minimum.

    Cached per graph object; do not modify the returned matrix.
    """
    return per_graph(graph, "fastest_edges", _fastest_edges).csr


def _fastest_edge(fastest: _FastestEdges, origin: int, destination: int) -> int:
    start, stop = int(fastest.csr.indptr[origin]), int(fastest.csr.indptr[origin + 1])
    columns = fastest.csr.indices[start:stop]
    hits = np.nonzero(columns == destination)[0]
    if hits.shape[0] == 0:
        raise NoPathError(f"there is no edge from node {origin} to node {destination}")
    return int(fastest.edge_of_entry[start + int(hits[0])])


def _check_node(graph: RoadGraph, node: int, role: str) -> None:
    if not 0 <= node < graph.n_nodes:
        raise NoPathError(
            f"{role} node {node} is not in the graph (valid ids 0..{graph.n_nodes - 1}); "
            "snap coordinates with routing.snap.nearest_node first"
        )


def path_from_nodes(graph: RoadGraph, nodes: tuple[int, ...] | list[int]) -> Path:
    """Build a :class:`Path` through consecutive nodes, using the fastest edge of each pair.

    Raises
    ------
    NoPathError
        When two consecutive nodes are not joined by an edge.
    """
    if not nodes:
        raise NoPathError("a path needs at least one node")
    for node in nodes:
        _check_node(graph, int(node), "path")
    fastest = per_graph(graph, "fastest_edges", _fastest_edges)
    edges = tuple(_fastest_edge(fastest, int(u), int(v)) for u, v in itertools.pairwise(nodes))
    edge_array = np.asarray(edges, dtype=np.int64)
    return Path(
        nodes=tuple(int(node) for node in nodes),
        edges=edges,
        seconds=int(graph.edge_travel_time_s[edge_array].sum()) if edges else 0,
        metres=int(graph.edge_length_m[edge_array].sum()) if edges else 0,
    )


def shortest_path(graph: RoadGraph, origin: NodeId, destination: NodeId) -> Path:
    """The fastest driving path from ``origin`` to ``destination`` (by integer travel seconds).

    Parameters
    ----------
    graph : RoadGraph
        Compiled road graph.
    origin, destination : NodeId
        Node ids (``0 .. n_nodes - 1``).

    Returns
    -------
    Path
        Nodes, edge indices, seconds and metres; ``Path((origin,), (), 0, 0)`` when the two
        nodes are equal.

    Raises
    ------
    NoPathError
        When a node id is out of range or the destination cannot be reached.
    """
    _check_node(graph, int(origin), "origin")
    _check_node(graph, int(destination), "destination")
    if origin == destination:
        return Path(nodes=(int(origin),), edges=(), seconds=0, metres=0)
    fastest = per_graph(graph, "fastest_edges", _fastest_edges)
    _, predecessors = dijkstra(
        fastest.csr, directed=True, indices=int(origin), return_predecessors=True
    )
    if predecessors[int(destination)] < 0:
        raise NoPathError(
            f"no drivable path from node {origin} to node {destination}; "
            "the graph should be strongly connected, rebuild it with routing.load.load_graph"
        )
    reversed_nodes = [int(destination)]
    node = int(destination)
    while node != origin:
        node = int(predecessors[node])
        reversed_nodes.append(node)
    return path_from_nodes(graph, tuple(reversed(reversed_nodes)))
