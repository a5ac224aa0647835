"""Compile an edge list into a :class:`routing.graph.RoadGraph` (CSR order, one SCC).

Shared by the OSM loader (:mod:`routing.load`) and the synthetic town
(:mod:`routing.synthetic`); it imports neither osmnx nor networkx.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routing.graph import RoadGraph

__all__ = ["EdgeList", "compile_graph"]


@dataclass(slots=True)
class EdgeList:
    """A mutable accumulator of nodes and directed edges before compiling.

    Node indices here are positions in the ``node_*`` lists (0-based); edges may repeat a
    node pair (parallel edges) and may leave nodes outside the largest strongly connected
    component: :func:`compile_graph` cleans both up.
    """

    node_lat: list[float] = field(default_factory=list)
    node_lon: list[float] = field(default_factory=list)
    node_osm_id: list[int] = field(default_factory=list)
    source: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    length_m: list[int] = field(default_factory=list)
    travel_time_s: list[int] = field(default_factory=list)
    speed_kph: list[float] = field(default_factory=list)
    highway: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    ref: list[str] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    geometry: list[tuple[Sequence[float], Sequence[float]]] = field(default_factory=list)
    """Per edge: (latitudes, longitudes) from its source node to its target node inclusive."""

    def add_node(self, lat: float, lon: float, osm_id: int) -> int:
        """Append a node; returns its index."""
        self.node_lat.append(lat)
        self.node_lon.append(lon)
        self.node_osm_id.append(osm_id)
        return len(self.node_lat) - 1

    def add_edge(
        self,
        source: int,
        target: int,
        *,
        length_m: int,
        travel_time_s: int,
        speed_kph: float,
        highway: str,
        name: str,
        ref: str,
        flags: int,
        geometry: tuple[Sequence[float], Sequence[float]],
    ) -> None:
        """Append a directed edge (lengths in whole metres, times in whole seconds, >= 1)."""
        self.source.append(source)
        self.target.append(target)
        self.length_m.append(max(1, int(length_m)))
        self.travel_time_s.append(max(1, int(travel_time_s)))
        self.speed_kph.append(float(speed_kph))
        self.highway.append(highway)
        self.name.append(name)
        self.ref.append(ref)
        self.flags.append(int(flags))
        self.geometry.append(geometry)


def compile_graph(edges: EdgeList, *, source: str, cache_key: str = "") -> RoadGraph:
    """Compile ``edges`` to a RoadGraph.

    Self-loops are dropped, parallel edges collapse to the one with the smallest travel time
    (then the shortest), only the largest strongly connected component is kept (nodes keep
    their relative order), and edges are sorted by (source, target) into CSR order.

    Parameters
    ----------
    edges : EdgeList
        Nodes and directed edges.
    source : str
        Human-readable origin stored on the graph.
    cache_key : str
        Stored on the graph ("" when not cached).

    Returns
    -------
    RoadGraph
        Strongly connected; may be empty (``n_nodes == 0``) if ``edges`` had no edges.
    """
    n_all = len(edges.node_lat)
    src = np.asarray(edges.source, dtype=np.int64)
    dst = np.asarray(edges.target, dtype=np.int64)
    time_s = np.asarray(edges.travel_time_s, dtype=np.int64)
    length = np.asarray(edges.length_m, dtype=np.int64)

    keep = src != dst
    candidates = np.flatnonzero(keep)
    # Order by pair, then by time and length: the first edge of each pair is the fastest.
    order = candidates[
        np.lexsort((length[candidates], time_s[candidates], dst[candidates], src[candidates]))
    ]
    if order.size:
        pair_src, pair_dst = src[order], dst[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = (pair_src[1:] != pair_src[:-1]) | (pair_dst[1:] != pair_dst[:-1])
        chosen = order[first]
    else:
        chosen = order

    # Largest strongly connected component.
    if chosen.size and n_all:
        adjacency = csr_matrix(
            (np.ones(chosen.size, dtype=np.int8), (src[chosen], dst[chosen])),
            shape=(n_all, n_all),
        )
        _, labels = connected_components(adjacency, directed=True, connection="strong")
        sizes = np.bincount(labels)
        in_scc = labels == int(np.argmax(sizes))
    else:
        in_scc = np.zeros(n_all, dtype=bool)
        chosen = chosen[:0]
    node_index = np.full(n_all, -1, dtype=np.int64)
    kept_nodes = np.flatnonzero(in_scc)
    node_index[kept_nodes] = np.arange(kept_nodes.size)
    chosen = chosen[in_scc[src[chosen]] & in_scc[dst[chosen]]]
    new_src = node_index[src[chosen]]
    new_dst = node_index[dst[chosen]]
    csr_order = np.lexsort((new_dst, new_src))
    chosen = chosen[csr_order]
    new_src = new_src[csr_order]
    new_dst = new_dst[csr_order]

    n_nodes = int(kept_nodes.size)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_src, minlength=n_nodes), out=indptr[1:])

    geometry_counts = np.zeros(chosen.size + 1, dtype=np.int64)
    geometry_lat_parts: list[npt.NDArray[np.float64]] = []
    geometry_lon_parts: list[npt.NDArray[np.float64]] = []
    for position, edge in enumerate(chosen.tolist()):
        lats, lons = edges.geometry[edge]
        lat_array = np.asarray(lats, dtype=np.float64)
        lon_array = np.asarray(lons, dtype=np.float64)
        geometry_counts[position + 1] = lat_array.size
        geometry_lat_parts.append(lat_array)
        geometry_lon_parts.append(lon_array)
    geometry_offsets = np.cumsum(geometry_counts)
    empty = np.zeros(0, dtype=np.float64)

    chosen_list = chosen.tolist()
    return RoadGraph(
        node_lat=np.asarray(edges.node_lat, dtype=np.float64)[kept_nodes],
        node_lon=np.asarray(edges.node_lon, dtype=np.float64)[kept_nodes],
        node_osm_id=np.asarray(edges.node_osm_id, dtype=np.int64)[kept_nodes],
        indptr=indptr,
        edge_source=new_src.astype(np.int32),
        edge_target=new_dst.astype(np.int32),
        edge_length_m=length[chosen].astype(np.int32),
        edge_travel_time_s=time_s[chosen].astype(np.int32),
        edge_speed_kph=np.asarray(edges.speed_kph, dtype=np.float32)[chosen],
        edge_highway=tuple(edges.highway[e] for e in chosen_list),
        edge_name=tuple(edges.name[e] for e in chosen_list),
        edge_ref=tuple(edges.ref[e] for e in chosen_list),
        edge_flags=np.asarray(edges.flags, dtype=np.uint8)[chosen],
        geometry_offsets=geometry_offsets,
        geometry_lat=np.concatenate(geometry_lat_parts) if geometry_lat_parts else empty,
        geometry_lon=np.concatenate(geometry_lon_parts) if geometry_lon_parts else empty.copy(),
        source=source,
        cache_key=cache_key,
    )
