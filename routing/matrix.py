"""Travel-time matrices and the graph-backed :class:`~routing.oracle.TravelTimeOracle`.

:func:`build_matrix` runs one compiled bucket-queue search (:mod:`routing.dial`, Dial's
algorithm for integer weights) from every requested node, stopping once every requested node
is settled, on one thread per core; an N x N matrix over virtual stops costs N single-source
searches. The CSR adjacency is built once per graph object (parallel edges collapsed to the
fastest edge, ties to the shorter one) and memoised beside the graph.

:class:`GraphOracle` answers ``seconds``/``metres`` between any two nodes: from its matrix
when both are matrix nodes, otherwise from a bounded LRU cache of single-source rows.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routing.dial import MAX_WEIGHT, OVERFLOW, dial_rows
from routing.errors import NoPathError
from routing.graph import RoadGraph
from routing.memo import per_graph
from routing.types import Metres, NodeId, Seconds

if TYPE_CHECKING:
    from routing.paths import Path

__all__ = ["WEIGHTS", "GraphOracle", "build_matrix", "weight_csr"]

WEIGHTS = ("travel_time", "length")
"""Edge weights: ``"travel_time"`` in whole seconds, ``"length"`` in whole metres."""

_INT32_MAX = np.iinfo(np.int32).max
_PARALLEL_MIN_WORK = 2_000_000
"""Below this many (sources x nodes) extra threads cost more than they save."""


@dataclass(frozen=True, slots=True)
class _Arcs:
    """A CSR adjacency as int32 arrays for the compiled search (:func:`routing.dial.dial_rows`)."""

    indptr: npt.NDArray[np.int32]
    indices: npt.NDArray[np.int32]
    weights: npt.NDArray[np.int32]

    @classmethod
    def of(cls, csr: csr_matrix) -> _Arcs:
        # Weights are whole seconds or metres; above MAX_WEIGHT the scipy path is used, so
        # clipping here only keeps the int32 cast defined.
        return cls(
            indptr=np.ascontiguousarray(csr.indptr, dtype=np.int32),
            indices=np.ascontiguousarray(csr.indices, dtype=np.int32),
            weights=np.ascontiguousarray(np.minimum(csr.data, _INT32_MAX), dtype=np.int32),
        )


@dataclass(frozen=True, slots=True)
class _WeightedGraph:
    """Collapsed adjacency for one weight.

    ``csr[u, v]`` is the weight of the chosen edge u->v (float64, exact integers);
    ``edge_of_entry[k]`` is the graph edge behind CSR entry ``k``; ``reverse`` is the
    transposed CSR (for distances *to* a node); ``arcs`` and ``reverse_arcs`` are the same
    two adjacencies as int32 arrays for the compiled search.
    """

    csr: csr_matrix
    edge_of_entry: npt.NDArray[np.int64]
    reverse: csr_matrix
    arcs: _Arcs
    reverse_arcs: _Arcs


def _collapse(graph: RoadGraph, weight: str) -> _WeightedGraph:
    source = graph.edge_source.astype(np.int64)
    target = graph.edge_target.astype(np.int64)
    seconds = graph.edge_travel_time_s.astype(np.int64)
    metres = graph.edge_length_m.astype(np.int64)
    primary, secondary = (seconds, metres) if weight == "travel_time" else (metres, seconds)
    index = np.arange(graph.n_edges, dtype=np.int64)
    # First of each (source, target) pair after sorting: the smallest weight, then the
    # smallest other weight, then the lowest edge index (the same rule as routing.paths).
    order = np.lexsort((index, secondary, primary, target, source))
    keep = np.ones(order.shape[0], dtype=bool)
    keep[1:] = (source[order][1:] != source[order][:-1]) | (target[order][1:] != target[order][:-1])
    chosen = order[keep]
    indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(source[chosen], minlength=graph.n_nodes), out=indptr[1:])
    csr = csr_matrix(
        (primary[chosen].astype(np.float64), target[chosen].astype(np.int32), indptr),
        shape=(graph.n_nodes, graph.n_nodes),
    )
    reverse = csr.transpose().tocsr()
    return _WeightedGraph(
        csr=csr,
        edge_of_entry=chosen,
        reverse=reverse,
        arcs=_Arcs.of(csr),
        reverse_arcs=_Arcs.of(reverse),
    )


def _weighted(graph: RoadGraph, weight: str) -> _WeightedGraph:
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    return per_graph(graph, f"matrix_csr_{weight}", lambda g: _collapse(g, weight))


def weight_csr(graph: RoadGraph, *, weight: str = "travel_time") -> csr_matrix:
    """The collapsed adjacency of ``graph`` for ``weight`` (float64, memoised; do not modify).

    Entry ``[u, v]`` is the travel time in seconds (or length in metres) of the fastest
    (or shortest) edge from node ``u`` to node ``v``.
    """
    return _weighted(graph, weight).csr


def _check_nodes(graph: RoadGraph, nodes: npt.NDArray[np.int64]) -> None:
    if nodes.size and (int(nodes.min()) < 0 or int(nodes.max()) >= graph.n_nodes):
        bad = int(nodes[(nodes < 0) | (nodes >= graph.n_nodes)][0])
        raise NoPathError(
            f"node {bad} is not in the graph (valid ids 0..{graph.n_nodes - 1}); "
            "snap coordinates to nodes first (routing.snap)"
        )


def _unreachable(origin: int, destination: int) -> NoPathError:
    return NoPathError(
        f"no drivable path from node {origin} to node {destination}; the graph should be "
        "strongly connected: build it with routing.load.load_graph"
    )


def _rows_scipy(
    arcs: _Arcs, sources: npt.NDArray[np.int64], columns: npt.NDArray[np.int64]
) -> npt.NDArray[np.int32]:
    """:func:`_rows` by scipy's Dijkstra, for weights outside the bucket queue's range."""
    n = arcs.indptr.size - 1
    csr = csr_matrix((arcs.weights.astype(np.float64), arcs.indices, arcs.indptr), shape=(n, n))
    distances = np.atleast_2d(dijkstra(csr, directed=True, indices=sources))[:, columns]
    if not np.isfinite(distances).all():
        rows, cols = np.nonzero(~np.isfinite(distances))
        raise _unreachable(int(sources[rows[0]]), int(columns[cols[0]]))
    if distances.size and distances.max() > np.iinfo(np.int32).max:
        raise NoPathError("a matrix entry exceeds the int32 range; the graph weights are wrong")
    return distances.astype(np.int32)


def _rows(
    arcs: _Arcs,
    sources: npt.NDArray[np.int64],
    columns: npt.NDArray[np.int64],
    *,
    workers: int = 1,
) -> npt.NDArray[np.int32]:
    """Integer distances from each source (rows) to each column node.

    Runs the compiled bucket-queue search (:mod:`routing.dial`) on the distinct columns, in
    ``workers`` threads over blocks of rows (the kernel releases the GIL).
    """
    if arcs.weights.size and (arcs.weights.min() < 1 or arcs.weights.max() > MAX_WEIGHT):
        return _rows_scipy(arcs, sources, columns)
    unique, inverse = np.unique(columns, return_inverse=True)
    column_of_node = np.full(arcs.indptr.size - 1, -1, dtype=np.int32)
    column_of_node[unique] = np.arange(unique.size, dtype=np.int32)
    origins = sources.astype(np.int32)
    out = np.empty((sources.size, unique.size), dtype=np.int32)
    blocks = [
        block for block in np.array_split(np.arange(sources.size), max(1, workers)) if block.size
    ]

    def run(block: npt.NDArray[np.int64]) -> int:
        start, stop = int(block[0]), int(block[-1]) + 1
        return dial_rows(
            arcs.indptr,
            arcs.indices,
            arcs.weights,
            origins[start:stop],
            column_of_node,
            out[start:stop],
        )

    if len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=len(blocks)) as pool:
            outcomes = list(pool.map(run, blocks))
    else:
        outcomes = [run(block) for block in blocks]
    if any(outcome == OVERFLOW for outcome in outcomes):
        raise NoPathError("a matrix entry exceeds the int32 range; the graph weights are wrong")
    if any(outcomes):
        rows, cols = np.nonzero(out < 0)
        raise _unreachable(int(sources[rows[0]]), int(unique[cols[0]]))
    return out[:, inverse] if unique.size != columns.size or (unique != columns).any() else out


def build_matrix(
    graph: RoadGraph,
    nodes: Sequence[int] | npt.NDArray[np.integer],
    *,
    weight: str = "travel_time",
    workers: int | None = None,
) -> npt.NDArray[np.int32]:
    """Many-to-many shortest travel times (or lengths) between ``nodes``.

    Parameters
    ----------
    graph : RoadGraph
        Compiled road graph (strongly connected).
    nodes : sequence of int
        Node ids; may repeat. Row ``i`` and column ``j`` refer to ``nodes[i]`` and ``nodes[j]``.
    weight : {"travel_time", "length"}
        Minimise whole seconds, or whole metres (the shortest path, not the fastest one).
    workers : int, optional
        Threads to split the rows over (the compiled search releases the GIL); default: one
        per CPU core. Small matrices always run on the calling thread.

    Returns
    -------
    ndarray of int32, shape (len(nodes), len(nodes))
        ``[i, j]`` is the shortest time in seconds (or length in metres) from ``nodes[i]``
        to ``nodes[j]``; the diagonal is 0.

    Raises
    ------
    NoPathError
        When a node id is out of range or a pair is not connected.
    ValueError
        When ``weight`` is not one of :data:`WEIGHTS`.
    """
    weighted = _weighted(graph, weight)
    node_array = np.asarray(nodes, dtype=np.int64).reshape(-1)
    _check_nodes(graph, node_array)
    if node_array.size == 0:
        return np.zeros((0, 0), dtype=np.int32)
    threads = (os.cpu_count() or 1) if workers is None else workers
    if threads < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if node_array.size * graph.n_nodes < _PARALLEL_MIN_WORK:
        threads = 1
    return _rows(weighted.arcs, node_array, node_array, workers=threads)


@dataclass(slots=True)
class _Row:
    """One single-source search from an origin: seconds, predecessors, lazily metres."""

    seconds: npt.NDArray[np.float64]
    predecessors: npt.NDArray[np.int32]
    metres: npt.NDArray[np.int64] | None = None


class GraphOracle:
    """Travel times between road-graph nodes: a stop matrix plus a bounded row cache.

    Implements :class:`routing.oracle.TravelTimeOracle`.

    Parameters
    ----------
    graph : RoadGraph
        Compiled road graph.
    nodes : sequence of int
        Matrix nodes (virtual stops, depots); pairs of them are answered from an N x N
        matrix built at once. More can be added with :meth:`add_nodes`.
    cache_size : int
        Bound on cached single-source values: at most ``max(1, cache_size // n_nodes)``
        rows (each one Dijkstra from an origin over all nodes) are kept, least recently
        used dropped first.

    Notes
    -----
    ``metres(o, d)`` is the length of the *fastest* path (the one ``seconds`` measures,
    ties broken like :func:`routing.paths.shortest_path`), not the shortest distance.
    Safe to share between threads: the row cache is guarded by a lock and
    :meth:`add_nodes` publishes a new matrix before its index.
    """

    def __init__(
        self, graph: RoadGraph, *, nodes: Sequence[int] = (), cache_size: int = 100_000
    ) -> None:
        self._graph = graph
        self._time = _weighted(graph, "travel_time")
        self._edge_length = graph.edge_length_m.astype(np.int64)[self._time.edge_of_entry]
        csr = self._time.csr
        rows_of_entry = np.repeat(np.arange(graph.n_nodes, dtype=np.int64), np.diff(csr.indptr))
        self._entry_keys = rows_of_entry * graph.n_nodes + csr.indices.astype(np.int64)
        self._max_rows = max(1, cache_size // max(1, graph.n_nodes))
        self._rows: OrderedDict[int, _Row] = OrderedDict()
        self._lock = threading.Lock()
        self._grow_lock = threading.Lock()
        self._nodes: list[int] = []
        self._index: dict[int, int] = {}
        self._matrix: npt.NDArray[np.int32] = np.zeros((0, 0), dtype=np.int32)
        self.row_searches = 0
        """Single-source searches run for pairs outside the matrix (for diagnostics)."""
        if len(nodes):
            self.add_nodes(nodes)

    @property
    def graph(self) -> RoadGraph:
        """The road graph answered for."""
        return self._graph

    @property
    def nodes(self) -> tuple[int, ...]:
        """Matrix nodes in matrix order."""
        return tuple(self._nodes)

    @property
    def matrix(self) -> npt.NDArray[np.int32]:
        """The matrix over :attr:`nodes`, seconds (read-only view)."""
        view = self._matrix.view()
        view.flags.writeable = False
        return view

    def add_nodes(self, nodes: Sequence[int]) -> None:
        """Extend the matrix with ``nodes`` (ones already present are skipped).

        Costs two single-source searches per new node: one forward (new -> all) and one on the
        reversed graph (all -> new).
        """
        with self._grow_lock:
            self._add_nodes(nodes)

    def _add_nodes(self, nodes: Sequence[int]) -> None:
        new: list[int] = []
        for node in nodes:
            value = int(node)
            if value not in self._index and value not in new:
                new.append(value)
        if not new:
            return
        new_array = np.asarray(new, dtype=np.int64)
        _check_nodes(self._graph, new_array)
        old_array = np.asarray(self._nodes, dtype=np.int64)
        all_array = np.concatenate([old_array, new_array])
        k_old = old_array.size
        grown = np.empty((all_array.size, all_array.size), dtype=np.int32)
        grown[:k_old, :k_old] = self._matrix
        grown[k_old:, :] = _rows(self._time.arcs, new_array, all_array)
        if k_old:
            # Distances old -> new are distances new -> old on the reversed graph.
            grown[:k_old, k_old:] = _rows(self._time.reverse_arcs, new_array, old_array).T
        # Publish the grown matrix before the new index entries, so a concurrent reader never
        # sees an index beyond the matrix it reads.
        self._matrix = grown
        index = dict(self._index)
        for offset, node in enumerate(new):
            index[node] = k_old + offset
        self._index = index
        self._nodes = [*self._nodes, *new]

    def _check(self, node: int, role: str) -> None:
        if not 0 <= node < self._graph.n_nodes:
            raise NoPathError(
                f"{role} node {node} is not in the graph (valid ids 0..{self._graph.n_nodes - 1})"
                "; snap coordinates to nodes first (routing.snap)"
            )

    def _row(self, origin: int) -> _Row:
        with self._lock:
            row = self._rows.get(origin)
            if row is not None:
                self._rows.move_to_end(origin)
                return row
        # Search outside the lock; two threads may race to add the same row (harmless).
        seconds, predecessors = dijkstra(
            self._time.csr, directed=True, indices=origin, return_predecessors=True
        )
        row = _Row(seconds=seconds, predecessors=predecessors.astype(np.int32))
        with self._lock:
            self.row_searches += 1
            self._rows[origin] = row
            self._rows.move_to_end(origin)
            while len(self._rows) > self._max_rows:
                self._rows.popitem(last=False)
        return row

    def seconds(self, origin: NodeId, destination: NodeId) -> Seconds:
        """Driving time in whole seconds along the fastest path (0 when equal)."""
        origin, destination = int(origin), int(destination)
        i, j = self._index.get(origin), self._index.get(destination)
        if i is not None and j is not None:
            return int(self._matrix[i, j])
        self._check(origin, "origin")
        self._check(destination, "destination")
        if origin == destination:
            return 0
        value = self._row(origin).seconds[destination]
        if not np.isfinite(value):
            raise _unreachable(origin, destination)
        return int(value)

    def metres(self, origin: NodeId, destination: NodeId) -> Metres:
        """Length in whole metres of the fastest path (0 when equal)."""
        origin, destination = int(origin), int(destination)
        self._check(origin, "origin")
        self._check(destination, "destination")
        if origin == destination:
            return 0
        row = self._row(origin)
        if row.metres is None:
            row.metres = self._tree_metres(origin, row.predecessors)
        value = int(row.metres[destination])
        if value < 0:
            raise _unreachable(origin, destination)
        return value

    def _tree_metres(
        self, origin: int, predecessors: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int64]:
        """Metres from ``origin`` to every node along the shortest-path tree (-1: unreachable).

        Pointer jumping: each node starts with the length of its tree edge; doubling the
        ancestor pointers adds up whole chains in O(n log depth) vectorised steps.
        """
        n = self._graph.n_nodes
        parent = predecessors.astype(np.int64)
        has_parent = parent >= 0
        children = np.flatnonzero(has_parent)
        # CSR entry of each tree edge parent -> child, found by its (row * n + column) key.
        entries = np.searchsorted(self._entry_keys, parent[children] * n + children)
        lengths = np.zeros(n, dtype=np.int64)
        lengths[children] = self._edge_length[entries]
        total = lengths.copy()
        ancestor = np.where(has_parent, parent, origin)
        while True:
            pending = ancestor != origin
            if not pending.any():
                break
            total[pending] += total[ancestor[pending]]
            ancestor[pending] = ancestor[ancestor[pending]]
        unreachable = ~has_parent
        unreachable[origin] = False
        total[unreachable] = -1
        total[origin] = 0
        return total

    def path(self, origin: NodeId, destination: NodeId) -> Path:
        """The fastest path (nodes, edges, seconds, metres): :func:`routing.paths.shortest_path`."""
        from routing.paths import shortest_path

        return shortest_path(self._graph, origin, destination)
