"""A small per-graph memo for derived structures (KD-trees, CSR matrices, walking graphs).

:class:`routing.graph.RoadGraph` is a slotted dataclass without ``__weakref__``, so a
``WeakKeyDictionary`` cannot hold it. Instead entries are keyed by ``(id(graph), kind)`` and
keep a strong reference to the graph, which guarantees the id is not reused while the entry
lives. The memo is bounded: the least recently used entries are dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import TypeVar

from routing.graph import RoadGraph

__all__ = ["per_graph"]

T = TypeVar("T")

_MAX_ENTRIES = 32
_entries: OrderedDict[tuple[int, str], tuple[RoadGraph, object]] = OrderedDict()
_lock = Lock()


def per_graph(graph: RoadGraph, kind: str, factory: Callable[[RoadGraph], T]) -> T:
    """Return ``factory(graph)``, computed once per graph object and ``kind``.

    Parameters
    ----------
    graph : RoadGraph
        The graph the value is derived from (compared by identity).
    kind : str
        Name of the derived structure, e.g. ``"node_snapper"``.
    factory : callable
        Builds the value from the graph; called at most once while the entry is cached.
    """
    key = (id(graph), kind)
    with _lock:
        entry = _entries.get(key)
        if entry is not None and entry[0] is graph:
            _entries.move_to_end(key)
            return entry[1]  # type: ignore[return-value]
    value = factory(graph)
    with _lock:
        _entries[key] = (graph, value)
        _entries.move_to_end(key)
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return value
