"""Compiled many-to-many search for integer edge weights (Dial's bucket queue, numba).

Road-graph weights in Noriai are whole seconds (or whole metres), at least 1 each. For such
weights Dial's algorithm (1969) replaces Dijkstra's heap by a ring of ``max_weight + 1``
buckets indexed by distance: every push, decrease and pop costs O(1), and a search costs
O(edges + largest distance) instead of O(edges log nodes). Each bucket is a doubly linked
list threaded through per-node ``next``/``previous`` arrays, so a node sits in at most one
bucket and lowering its distance moves it in constant time.

A search stops as soon as every requested target is settled. The kernel releases the GIL
(``nogil``), so :func:`routing.matrix.build_matrix` runs row blocks on several threads. It is
compiled on first use and cached beside this module by numba (``cache=True``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["MAX_WEIGHT", "OVERFLOW", "dial_rows"]

OVERFLOW = -1
"""Returned by :func:`dial_rows` when a distance does not fit in int32."""

MAX_WEIGHT = 1 << 20
"""Largest arc weight the ring of buckets takes (1,048,576 s, about 12 days, or 1,049 km);
:func:`routing.matrix.build_matrix` uses scipy's Dijkstra for graphs with longer arcs."""

_INT32_MAX = 2_147_483_647


@njit(nogil=True, cache=True)
def _dial_rows(  # pragma: no cover - compiled; covered through dial_rows
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    weights: npt.NDArray[np.int64],
    sources: npt.NDArray[np.int64],
    column_of_node: npt.NDArray[np.int64],
    n_columns: int,
    out: npt.NDArray[np.int32],
) -> int:
    n = indptr.shape[0] - 1
    ring = 1
    for k in range(weights.shape[0]):
        if weights[k] + 1 > ring:
            ring = weights[k] + 1
    unset = np.iinfo(np.int64).max
    dist = np.empty(n, np.int64)
    bucket_of = np.empty(n, np.int64)
    following = np.empty(n, np.int64)
    preceding = np.empty(n, np.int64)
    head = np.empty(ring, np.int64)
    missing = 0
    for row in range(sources.shape[0]):
        for v in range(n):
            dist[v] = unset
            bucket_of[v] = -1
        for b in range(ring):
            head[b] = -1
        for c in range(n_columns):
            out[row, c] = -1
        source = sources[row]
        dist[source] = 0
        head[0] = source
        following[source] = -1
        preceding[source] = -1
        bucket_of[source] = 0
        queued = 1
        remaining = n_columns
        d = 0
        while queued > 0 and remaining > 0:
            b = d % ring
            u = head[b]
            if u == -1:
                d += 1
                continue
            # Pop u, the head of the bucket of distance d.
            head[b] = following[u]
            if following[u] != -1:
                preceding[following[u]] = -1
            bucket_of[u] = -1
            queued -= 1
            column = column_of_node[u]
            if column >= 0:
                if d > _INT32_MAX:
                    return -1
                out[row, column] = d
                remaining -= 1
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                candidate = d + weights[k]
                if candidate < dist[v]:
                    old = bucket_of[v]
                    if old >= 0:
                        # Unlink v from the bucket of its previous distance.
                        if preceding[v] != -1:
                            following[preceding[v]] = following[v]
                        else:
                            head[old] = following[v]
                        if following[v] != -1:
                            preceding[following[v]] = preceding[v]
                        queued -= 1
                    dist[v] = candidate
                    slot = candidate % ring
                    first = head[slot]
                    following[v] = first
                    preceding[v] = -1
                    if first != -1:
                        preceding[first] = v
                    head[slot] = v
                    bucket_of[v] = slot
                    queued += 1
        missing += remaining
    return missing


def dial_rows(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int64],
    weights: npt.NDArray[np.int64],
    sources: npt.NDArray[np.int64],
    column_of_node: npt.NDArray[np.int64],
    out: npt.NDArray[np.int32],
) -> int:
    """Shortest distances from each source to every column node, written into ``out``.

    Parameters
    ----------
    indptr, indices, weights : ndarray of int64
        The graph in CSR form: the arcs leaving node ``u`` are ``indptr[u]:indptr[u + 1]``,
        arc ``k`` goes to ``indices[k]`` with weight ``weights[k]`` (whole seconds or metres,
        each at least 1).
    sources : ndarray of int64, shape (R,)
        Origin node of each row.
    column_of_node : ndarray of int64, shape (n_nodes,)
        Column index of each node in ``out``, or -1 for nodes that are not targets; each
        column has exactly one node.
    out : ndarray of int32, shape (R, C), C-contiguous
        Filled with the distances; entries left unreachable are -1.

    Returns
    -------
    int
        The number of (row, column) pairs with no path, or :data:`OVERFLOW` when a distance
        exceeds the int32 range.

    Raises
    ------
    ValueError
        When an arc weight is below 1 or above :data:`MAX_WEIGHT`.
    """
    if weights.size and (int(weights.min()) < 1 or int(weights.max()) > MAX_WEIGHT):
        raise ValueError(f"arc weights must lie in 1..{MAX_WEIGHT} for the bucket queue")
    return int(_dial_rows(indptr, indices, weights, sources, column_of_node, out.shape[1], out))
