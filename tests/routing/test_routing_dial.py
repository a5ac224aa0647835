"""The compiled bucket-queue search (routing.dial) on graphs small enough to check by hand."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from routing.dial import OVERFLOW, dial_rows


def csr(n: int, arcs: list[tuple[int, int, int]]) -> tuple[npt.NDArray[np.int32], ...]:
    """(indptr, indices, weights) of ``arcs`` given as (from, to, weight)."""
    arcs = sorted(arcs)
    indptr = np.zeros(n + 1, dtype=np.int32)
    for source, _, _ in arcs:
        indptr[source + 1] += 1
    np.cumsum(indptr, out=indptr)
    indices = np.array([target for _, target, _ in arcs], dtype=np.int32)
    weights = np.array([weight for _, _, weight in arcs], dtype=np.int32)
    return indptr, indices, weights


def run(n: int, arcs: list[tuple[int, int, int]], sources: list[int], columns: list[int]):  # type: ignore[no-untyped-def]
    indptr, indices, weights = csr(n, arcs)
    column_of_node = np.full(n, -1, dtype=np.int32)
    column_of_node[columns] = np.arange(len(columns))
    out = np.zeros((len(sources), len(columns)), dtype=np.int32)
    missing = dial_rows(
        indptr, indices, weights, np.asarray(sources, dtype=np.int32), column_of_node, out
    )
    return missing, out


def test_a_node_first_reached_late_gets_an_entry_in_an_earlier_bucket() -> None:
    # 0 -> 1 directly costs 10; 0 -> 2 -> 1 costs 1 + 2 = 3, found after 1 sits in bucket 10
    # (that entry is skipped when bucket 10 comes up).
    # 1 -> 3 costs 4, so 3 is at 3 + 4 = 7 (not 10 + 4 = 14).
    arcs = [(0, 1, 10), (0, 2, 1), (2, 1, 2), (1, 3, 4)]
    missing, out = run(4, arcs, [0], [1, 2, 3])
    assert missing == 0
    assert out.tolist() == [[3, 1, 7]]


def test_weights_larger_than_the_ring_wrap_around() -> None:
    # A chain 0 -> 1 -> 2 -> 3 with weights 5, 5, 5: the ring has 6 buckets and the distances
    # 5, 10, 15 reuse buckets 5, 4, 3. A shortcut 0 -> 3 of 14 beats 15.
    arcs = [(0, 1, 5), (1, 2, 5), (2, 3, 5), (0, 3, 14)]
    missing, out = run(4, arcs, [0, 1], [0, 3])
    # From 0: itself 0, node 3 at 14. From 1: node 0 unreachable (-1), node 3 at 10.
    assert out.tolist() == [[0, 14], [-1, 10]]
    assert missing == 1  # the one unreachable pair, 1 -> 0


def test_distances_beyond_int32_are_reported_as_overflow() -> None:
    # Weights of 2^20 (the largest the ring takes) along a chain of 2,049 arcs: node 2,048 is
    # at 2,048 * 2^20 = 2^31, one more than the int32 maximum 2^31 - 1; node 2,047 still fits.
    step = 1 << 20
    arcs = [(i, i + 1, step) for i in range(2049)]
    missing, out = run(2050, arcs, [0], [2047])
    assert (missing, out.tolist()) == (0, [[2047 * step]])
    missing, _ = run(2050, arcs, [0], [2048])
    assert missing == OVERFLOW
