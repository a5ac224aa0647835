"""The compiled road graph: flat numpy arrays in CSR order.

This module holds only the data structure; loading (OSM XML, OSMnx, cache) lives in
:mod:`routing.load` and the synthetic town in :mod:`routing.synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["RoadGraph"]


@dataclass(frozen=True, slots=True, eq=False)
class RoadGraph:
    """A drivable, strongly connected road network compiled to flat arrays.

    Nodes are numbered ``0 .. n_nodes - 1``. Edges are sorted by source node, so the edges
    leaving node ``u`` are ``indptr[u] .. indptr[u + 1] - 1`` (CSR order) and ``edge_target``
    doubles as the CSR ``indices`` array. Parallel edges between the same pair of nodes are
    collapsed to the one with the smallest travel time before compiling.

    Attributes
    ----------
    node_lat, node_lon : ndarray of float64, shape (n_nodes,)
        WGS84 degrees of each node.
    node_osm_id : ndarray of int64, shape (n_nodes,)
        The OSM node id (synthetic graphs use 1-based running numbers).
    indptr : ndarray of int64, shape (n_nodes + 1,)
        CSR row pointer: edges of node ``u`` are ``indptr[u]:indptr[u+1]``.
    edge_source, edge_target : ndarray of int32, shape (n_edges,)
        Tail and head node of each edge.
    edge_length_m : ndarray of int32, shape (n_edges,)
        Edge length in whole metres (at least 1).
    edge_travel_time_s : ndarray of int32, shape (n_edges,)
        Free-flow driving time in whole seconds (at least 1).
    edge_speed_kph : ndarray of float32, shape (n_edges,)
        Speed used for the travel time, km/h (OSM ``maxspeed`` or the road-class default).
    edge_highway : tuple of str, length n_edges
        OSM ``highway`` class of each edge (first value when OSM gave a list).
    edge_name : tuple of str, length n_edges
        Street name ("" when unnamed).
    edge_ref : tuple of str, length n_edges
        Road reference number ("" when none).
    edge_flags : ndarray of uint8, shape (n_edges,)
        Bit set: 1 roundabout/junction, 2 tunnel, 4 bridge, 8 link road (``*_link``).
    geometry_offsets : ndarray of int64, shape (n_edges + 1,)
        Edge ``e``'s polyline is points ``geometry_offsets[e]:geometry_offsets[e+1]`` of
        ``geometry_lat`` / ``geometry_lon``, from its source node to its target node inclusive.
    geometry_lat, geometry_lon : ndarray of float64
        Concatenated polyline vertices, degrees.
    source : str
        Human-readable origin ("krems.osm.bz2", "synthetic town seed=7", ...).
    cache_key : str
        Hash of the source content and the build settings ("" when not cached).
    from_cache : bool
        True when this object was read from the on-disk cache rather than built.
    load_seconds : float
        Wall seconds spent loading or building (edge only; not used by the core).
    """

    node_lat: npt.NDArray[np.float64]
    node_lon: npt.NDArray[np.float64]
    node_osm_id: npt.NDArray[np.int64]
    indptr: npt.NDArray[np.int64]
    edge_source: npt.NDArray[np.int32]
    edge_target: npt.NDArray[np.int32]
    edge_length_m: npt.NDArray[np.int32]
    edge_travel_time_s: npt.NDArray[np.int32]
    edge_speed_kph: npt.NDArray[np.float32]
    edge_highway: tuple[str, ...]
    edge_name: tuple[str, ...]
    edge_ref: tuple[str, ...]
    edge_flags: npt.NDArray[np.uint8]
    geometry_offsets: npt.NDArray[np.int64]
    geometry_lat: npt.NDArray[np.float64]
    geometry_lon: npt.NDArray[np.float64]
    source: str = ""
    cache_key: str = ""
    from_cache: bool = False
    load_seconds: float = field(default=0.0, compare=False)

    FLAG_JUNCTION = 1
    FLAG_TUNNEL = 2
    FLAG_BRIDGE = 4
    FLAG_LINK = 8

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_lat.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_target.shape[0])
