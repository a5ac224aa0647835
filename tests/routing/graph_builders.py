"""Hand-built road graphs for tests: nodes placed in metres, edges with names and geometry.

Positions are given as ``(x, y)`` metres east/north of a reference point (35.0 N, 139.0 E by
default) so a reader can check distances and angles by hand. ``build_graph`` compiles them
into a :class:`routing.graph.RoadGraph` exactly as the loader would (CSR order by source).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from routing.geo import LocalProjection, haversine_m
from routing.graph import RoadGraph

__all__ = ["ORIGIN", "Road", "build_graph", "grid_graph", "latlon_of", "real_graph"]

ORIGIN = LocalProjection(35.0, 139.0)
"""Reference point of the metre coordinates used by the builders."""


def latlon_of(x_m: float, y_m: float, origin: LocalProjection = ORIGIN) -> tuple[float, float]:
    """``(lat, lon)`` degrees of a point ``x_m`` east and ``y_m`` north of the origin."""
    return origin.to_latlon(x_m, y_m)


@dataclass(frozen=True)
class Road:
    """One road between two nodes (two directed edges unless ``oneway``).

    ``via`` are intermediate polyline points in metres (from ``u`` towards ``v``).
    ``seconds`` overrides the travel time (otherwise length / speed, rounded up).
    """

    u: int
    v: int
    name: str = ""
    highway: str = "residential"
    speed_kph: float = 36.0
    flags: int = 0
    ref: str = ""
    oneway: bool = False
    via: Sequence[tuple[float, float]] = field(default_factory=tuple)
    seconds: int | None = None


def build_graph(
    nodes: Sequence[tuple[float, float]],
    roads: Sequence[Road],
    *,
    origin: LocalProjection = ORIGIN,
    source: str = "hand-built test graph",
) -> RoadGraph:
    """Compile nodes (metres east, north) and roads into a RoadGraph.

    Edge length is the rounded haversine length of its polyline (at least 1 m); travel time
    ``ceil(length / (speed_kph / 3.6))`` seconds (at least 1) unless ``Road.seconds`` is set.
    """
    node_latlon = [origin.to_latlon(x, y) for x, y in nodes]
    directed: list[tuple[int, int, Road, list[tuple[float, float]]]] = []
    for road in roads:
        points = [nodes[road.u], *road.via, nodes[road.v]]
        directed.append((road.u, road.v, road, points))
        if not road.oneway:
            directed.append((road.v, road.u, road, points[::-1]))
    directed.sort(key=lambda item: (item[0], item[1]))
    lengths, seconds, geometry_lat, geometry_lon, offsets = [], [], [], [], [0]
    for _u, _v, road, points in directed:
        latlon = [origin.to_latlon(x, y) for x, y in points]
        length = sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(latlon))
        metres = max(1, round(length))
        lengths.append(metres)
        seconds.append(road.seconds or max(1, math.ceil(metres / (road.speed_kph / 3.6))))
        geometry_lat.extend(p[0] for p in latlon)
        geometry_lon.extend(p[1] for p in latlon)
        offsets.append(len(geometry_lat))
    sources = np.array([item[0] for item in directed], dtype=np.int32)
    indptr = np.zeros(len(nodes) + 1, dtype=np.int64)
    np.add.at(indptr, sources.astype(np.int64) + 1, 1)
    return RoadGraph(
        node_lat=np.array([p[0] for p in node_latlon], dtype=np.float64),
        node_lon=np.array([p[1] for p in node_latlon], dtype=np.float64),
        node_osm_id=np.arange(1, len(nodes) + 1, dtype=np.int64),
        indptr=np.cumsum(indptr),
        edge_source=sources,
        edge_target=np.array([item[1] for item in directed], dtype=np.int32),
        edge_length_m=np.array(lengths, dtype=np.int32),
        edge_travel_time_s=np.array(seconds, dtype=np.int32),
        edge_speed_kph=np.array([item[2].speed_kph for item in directed], dtype=np.float32),
        edge_highway=tuple(item[2].highway for item in directed),
        edge_name=tuple(item[2].name for item in directed),
        edge_ref=tuple(item[2].ref for item in directed),
        edge_flags=np.array([item[2].flags for item in directed], dtype=np.uint8),
        geometry_offsets=np.array(offsets, dtype=np.int64),
        geometry_lat=np.array(geometry_lat, dtype=np.float64),
        geometry_lon=np.array(geometry_lon, dtype=np.float64),
        source=source,
    )


def grid_graph(rows: int, cols: int, *, spacing_m: float = 100.0) -> RoadGraph:
    """A two-way street grid: node ``r * cols + c`` at ``(c * spacing, r * spacing)`` metres.

    Rows are named "Row r Street" and columns "Col c Avenue".
    """
    nodes = [(c * spacing_m, r * spacing_m) for r in range(rows) for c in range(cols)]
    roads = []
    for r in range(rows):
        for c in range(cols):
            node = r * cols + c
            if c + 1 < cols:
                roads.append(Road(node, node + 1, name=f"Row {r} Street"))
            if r + 1 < rows:
                roads.append(Road(node, node + cols, name=f"Col {c} Avenue"))
    return build_graph(nodes, roads, source=f"grid {rows}x{cols}")


_CACHE = tempfile.TemporaryDirectory(prefix="noriai-test-graphs-")
atexit.register(_CACHE.cleanup)


@functools.cache
def real_graph(path: Path) -> RoadGraph:
    """Load a real OSM extract once per test process, with a temporary graph cache."""
    from routing.load import load_graph

    return load_graph(path, cache_dir=Path(_CACHE.name))
