"""Compiled many-to-many search for integer edge weights (Dial's bucket queue, numba).

Road-graph weights in Noriai are whole seconds (or whole metres), at least 1 each. For such
weights Dial's algorithm (1969) replaces Dijkstra's heap by a ring of ``max_weight + 1``
buckets indexed by distance: every push and pop costs O(1), and a search costs
O(edges + largest distance) instead of O(edges log nodes). Each bucket is a singly linked
list of entries in a preallocated pool (one entry per successful relaxation, so at most one
per arc); lowering a node's distance adds a new entry and the old one is skipped when popped
(lazy deletion). Arrays are int32 to halve the memory traffic.

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
"""Returned by :func:`dial_rows` when a distance reaches the int32 maximum."""

MAX_WEIGHT = 1 << 20
"""Largest arc weight the ring of buckets takes (1,048,576 s, about 12 days, or 1,049 km);
:func:`routing.matrix.build_matrix` uses scipy's Dijkstra for graphs with longer arcs."""

_UNSET = 2_147_483_647
"""Distance of a node not reached yet (int32 maximum); reached distances stay below it."""


@njit(nogil=True, cache=True)
def _dial_rows(  # pragma: no cover - compiled; covered through dial_rows
    indptr: npt.NDArray[np.int32],
    indices: npt.NDArray[np.int32],
    weights: npt.NDArray[np.int32],
    sources: npt.NDArray[np.int32],
    column_of_node: npt.NDArray[np.int32],
    n_columns: int,
    out: npt.NDArray[np.int32],
) -> int:
    n = indptr.shape[0] - 1
    ring = 1
    for k in range(weights.shape[0]):
        if weights[k] + 1 > ring:
            ring = weights[k] + 1
    # Bucket entries: each successful relaxation adds one (at most one per arc), plus the
    # source; an entry whose node has since got a smaller distance is skipped when popped.
    pool = weights.shape[0] + 1
    dist = np.empty(n, np.int32)
    head = np.empty(ring, np.int32)
    entry_node = np.empty(pool, np.int32)
    entry_next = np.empty(pool, np.int32)
    missing = 0
    for row in range(sources.shape[0]):
        dist[:] = _UNSET
        head[:] = -1
        out[row, :] = -1
        source = sources[row]
        dist[source] = 0
        entry_node[0] = source
        entry_next[0] = -1
        head[0] = 0
        used = 1
        queued = 1
        remaining = n_columns
        d = 0
        while queued > 0:
            slot = d % ring
            entry = head[slot]
            if entry == -1:
                d += 1
                continue
            head[slot] = entry_next[entry]
            queued -= 1
            u = entry_node[entry]
            if dist[u] != d:
                continue  # stale: u was settled earlier at a smaller distance
            column = column_of_node[u]
            if column >= 0:
                out[row, column] = d
                remaining -= 1
                if remaining == 0:
                    break
            for k in range(indptr[u], indptr[u + 1]):
                v = indices[k]
                candidate = d + weights[k]
                if candidate >= _UNSET:
                    return -1
                if candidate < dist[v]:
                    dist[v] = candidate
                    target_slot = candidate % ring
                    entry_node[used] = v
                    entry_next[used] = head[target_slot]
                    head[target_slot] = used
                    used += 1
                    queued += 1
        missing += remaining
    return missing


def dial_rows(
    indptr: npt.NDArray[np.int32],
    indices: npt.NDArray[np.int32],
    weights: npt.NDArray[np.int32],
    sources: npt.NDArray[np.int32],
    column_of_node: npt.NDArray[np.int32],
    out: npt.NDArray[np.int32],
) -> int:
    """Shortest distances from each source to every column node, written into ``out``.

    Parameters
    ----------
    indptr, indices, weights : ndarray of int32
        The graph in CSR form: the arcs leaving node ``u`` are ``indptr[u]:indptr[u + 1]``,
        arc ``k`` goes to ``indices[k]`` with weight ``weights[k]`` (whole seconds or metres,
        each at least 1).
    sources : ndarray of int32, shape (R,)
        Origin node of each row.
    column_of_node : ndarray of int32, shape (n_nodes,)
        Column index of each node in ``out``, or -1 for nodes that are not targets; each
        column has exactly one node.
    out : ndarray of int32, shape (R, C), C-contiguous
        Filled with the distances; entries left unreachable are -1.

    Returns
    -------
    int
        The number of (row, column) pairs with no path, or :data:`OVERFLOW` when a distance
        reaches 2^31 - 1 (int32) before every column is settled.

    Raises
    ------
    ValueError
        When an arc weight is below 1 or above :data:`MAX_WEIGHT`.
    """
    if weights.size and (int(weights.min()) < 1 or int(weights.max()) > MAX_WEIGHT):
        raise ValueError(f"arc weights must lie in 1..{MAX_WEIGHT} for the bucket queue")
    return int(_dial_rows(indptr, indices, weights, sources, column_of_node, out.shape[1], out))
