"""A seeded synthetic town: grid streets, arterials, a river with bridges, street names.

Used by tests, benchmarks and as the offline fallback when no map is given. The grid is
centred on ``origin`` (default: Aizuwakamatsu station area). Layout, for a grid of
``rows x cols`` intersections ``spacing_m`` apart (node positions jittered by up to 8 % of
the spacing):

- every 8th row (from row 4) is an east-west arterial, ``secondary``, 50 km/h, named like
  ``"国道118号"`` with ref ``"118"``; every 8th column (from column 4) is a north-south
  ``tertiary`` at 40 km/h named like ``"県道64号"``;
- other streets are ``residential`` at the 30 km/h default and named (``"本町通り"``, ...);
- every 5th row (from row 2) and every 7th column (from column 3), when not arterial, is
  one-way, alternating direction;
- a river runs between columns ``cols // 3`` and ``cols // 3 + 1``: only arterial rows and
  every 4th row cross it, on bridges (flag :attr:`RoadGraph.FLAG_BRIDGE`);
- about 3 % of residential street segments are removed (blocks, dead ends), chosen by the
  seed; the result is reduced to its largest strongly connected part.

The same arguments always give the same graph (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from routing.compile import EdgeList, compile_graph
from routing.geo import EARTH_RADIUS_M, haversine_m
from routing.graph import RoadGraph
from routing.speeds import edge_speed_kph, travel_time_seconds

__all__ = ["synthetic_town"]

_ROW_ARTERIALS = (118, 121, 49, 252, 294, 401, 459, 400)
_COLUMN_ARTERIALS = (64, 325, 33, 7, 23, 59, 130, 381)
_ROW_STREETS = (
    "本町通り",
    "大町通り",
    "七日町通り",
    "神明通り",
    "中央通り",
    "駅前通り",
    "栄町通り",
    "城前通り",
    "馬場通り",
    "一箕町通り",
    "白虎通り",
    "材木町通り",
)
_COLUMN_STREETS = (
    "花春小路",
    "行仁小路",
    "桂林寺通り",
    "博労小路",
    "甲賀町通り",
    "川原町通り",
    "鶴ヶ城通り",
    "蚕養通り",
    "柳原通り",
    "日新通り",
)
_ARTERIAL_EVERY = 8
_ARTERIAL_OFFSET = 4
_REMOVED_SHARE = 0.03
_JITTER_SHARE = 0.08


def _street_name(names: tuple[str, ...], index: int) -> str:
    base = names[index % len(names)]
    round_number = index // len(names)
    return base if round_number == 0 else f"{base}{round_number + 1}"


def synthetic_town(
    *,
    seed: int = 7,
    rows: int = 30,
    cols: int = 30,
    spacing_m: int = 120,
    origin: tuple[float, float] = (37.4947, 139.9297),
) -> RoadGraph:
    """Build the seeded synthetic town described in the module docstring.

    Parameters
    ----------
    seed : int
        Seed of the jitter and of the removed street segments.
    rows, cols : int
        Intersections north-south and east-west (at least 2 each); the graph has about
        ``rows * cols`` nodes (123 x 123 gives about 15,000).
    spacing_m : int
        Distance between neighbouring intersections before jitter, metres.
    origin : tuple of float
        (lat, lon) in degrees of the grid centre.

    Returns
    -------
    RoadGraph
        Strongly connected; ``source`` names the seed and size; ``node_osm_id`` are 1-based
        running numbers (row-major).
    """
    if rows < 2 or cols < 2:
        raise ValueError(f"synthetic_town needs rows >= 2 and cols >= 2, got {rows} x {cols}")
    if spacing_m < 1:
        raise ValueError(f"spacing_m must be at least 1 metre, got {spacing_m}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    lat0, lon0 = origin
    metres_per_degree_lat = math.pi * EARTH_RADIUS_M / 180.0
    metres_per_degree_lon = metres_per_degree_lat * math.cos(math.radians(lat0))
    jitter = rng.uniform(-_JITTER_SHARE, _JITTER_SHARE, size=(rows, cols, 2)) * spacing_m

    edges = EdgeList()
    node = np.zeros((rows, cols), dtype=np.int64)
    for row in range(rows):
        for col in range(cols):
            north_m = (row - (rows - 1) / 2) * spacing_m + jitter[row, col, 0]
            east_m = (col - (cols - 1) / 2) * spacing_m + jitter[row, col, 1]
            node[row, col] = edges.add_node(
                lat0 + north_m / metres_per_degree_lat,
                lon0 + east_m / metres_per_degree_lon,
                row * cols + col + 1,
            )

    river_col = cols // 3
    removed = rng.random(size=(rows, cols, 2)) < _REMOVED_SHARE

    def street(
        u: int,
        v: int,
        *,
        highway: str,
        maxspeed: str | None,
        name: str,
        ref: str,
        flags: int,
        oneway: int,
    ) -> None:
        """Add u->v (oneway >= 0) and v->u (oneway <= 0)."""
        lat_u, lon_u = edges.node_lat[u], edges.node_lon[u]
        lat_v, lon_v = edges.node_lat[v], edges.node_lon[v]
        length_m = max(1, round(haversine_m(lat_u, lon_u, lat_v, lon_v)))
        speed = edge_speed_kph(highway, maxspeed)
        seconds = travel_time_seconds(length_m, speed)
        pairs = []
        if oneway >= 0:
            pairs.append((u, v, (lat_u, lat_v), (lon_u, lon_v)))
        if oneway <= 0:
            pairs.append((v, u, (lat_v, lat_u), (lon_v, lon_u)))
        for a, b, lats, lons in pairs:
            edges.add_edge(
                a,
                b,
                length_m=length_m,
                travel_time_s=seconds,
                speed_kph=speed,
                highway=highway,
                name=name,
                ref=ref,
                flags=flags,
                geometry=(lats, lons),
            )

    # East-west streets along each row: (row, col) -> (row, col + 1).
    for row in range(rows):
        arterial = row % _ARTERIAL_EVERY == _ARTERIAL_OFFSET
        one_way_row = not arterial and row % 5 == 2
        direction = (1 if (row // 5) % 2 == 0 else -1) if one_way_row else 0
        for col in range(cols - 1):
            crosses_river = col == river_col
            if crosses_river and not (arterial or row % 4 == 0):
                continue
            if not arterial and not crosses_river and removed[row, col, 0]:
                continue
            flags = RoadGraph.FLAG_BRIDGE if crosses_river else 0
            if arterial:
                number = _ROW_ARTERIALS[(row // _ARTERIAL_EVERY) % len(_ROW_ARTERIALS)]
                street(
                    int(node[row, col]),
                    int(node[row, col + 1]),
                    highway="secondary",
                    maxspeed="50",
                    name=f"国道{number}号",
                    ref=str(number),
                    flags=flags,
                    oneway=0,
                )
            else:
                street(
                    int(node[row, col]),
                    int(node[row, col + 1]),
                    highway="residential",
                    maxspeed=None,
                    name=_street_name(_ROW_STREETS, row),
                    ref="",
                    flags=flags,
                    oneway=direction,
                )

    # North-south streets along each column: (row, col) -> (row + 1, col).
    for col in range(cols):
        arterial = col % _ARTERIAL_EVERY == _ARTERIAL_OFFSET
        one_way_col = not arterial and col % 7 == 3
        direction = (1 if (col // 7) % 2 == 0 else -1) if one_way_col else 0
        for row in range(rows - 1):
            if not arterial and removed[row, col, 1]:
                continue
            if arterial:
                number = _COLUMN_ARTERIALS[(col // _ARTERIAL_EVERY) % len(_COLUMN_ARTERIALS)]
                street(
                    int(node[row, col]),
                    int(node[row + 1, col]),
                    highway="tertiary",
                    maxspeed="40",
                    name=f"県道{number}号",
                    ref=str(number),
                    flags=0,
                    oneway=0,
                )
            else:
                street(
                    int(node[row, col]),
                    int(node[row + 1, col]),
                    highway="residential",
                    maxspeed=None,
                    name=_street_name(_COLUMN_STREETS, col),
                    ref="",
                    flags=0,
                    oneway=direction,
                )

    source = f"synthetic town seed={seed} {rows}x{cols} spacing={spacing_m} m"
    graph = compile_graph(edges, source=source)
    return dataclasses.replace(graph, load_seconds=time.perf_counter() - started)
