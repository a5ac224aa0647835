"""Split long road edges so that virtual stops can sit mid-street.

A simplified OSM graph keeps only intersections and dead ends, so a 600 m street without side
roads is one edge and a bus could only stop at its two ends. :func:`split_long_edges` cuts
every edge longer than ``max_piece_m`` into equal pieces at new nodes along its polyline. The
two directions of a two-way street share the same new nodes (so a rider's stop serves both),
and the pieces add up exactly to the edge's whole metres and whole seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from routing.compile import EdgeList
from routing.geo import haversine_m

__all__ = ["SPLIT_NODE_OSM_ID", "split_long_edges"]

SPLIT_NODE_OSM_ID = -1
"""``node_osm_id`` of the nodes added by splitting (they are not OSM nodes)."""


def _cumulative_m(lats: Sequence[float], lons: Sequence[float]) -> list[float]:
    """Distance in metres from the first vertex to each vertex (great circle per segment)."""
    total = [0.0]
    for k in range(1, len(lats)):
        total.append(total[-1] + haversine_m(lats[k - 1], lons[k - 1], lats[k], lons[k]))
    return total


def _cut(
    lats: Sequence[float], lons: Sequence[float], fractions: Sequence[float]
) -> list[tuple[list[float], list[float]]]:
    """The polyline cut at the given fractions of its length (0 < f < 1, increasing).

    Returns one (latitudes, longitudes) piece per interval, each from its start point to its
    end point inclusive; consecutive pieces share their cut point.
    """
    along = _cumulative_m(lats, lons)
    length = along[-1]
    pieces: list[tuple[list[float], list[float]]] = []
    piece_lat, piece_lon = [lats[0]], [lons[0]]
    k = 1  # next vertex to add
    for fraction in fractions:
        at = fraction * length
        while k < len(lats) - 1 and along[k] <= at:
            piece_lat.append(lats[k])
            piece_lon.append(lons[k])
            k += 1
        span = along[k] - along[k - 1]
        t = (at - along[k - 1]) / span if span > 0 else 0.0
        cut_lat = lats[k - 1] + t * (lats[k] - lats[k - 1])
        cut_lon = lons[k - 1] + t * (lons[k] - lons[k - 1])
        piece_lat.append(cut_lat)
        piece_lon.append(cut_lon)
        pieces.append((piece_lat, piece_lon))
        piece_lat, piece_lon = [cut_lat], [cut_lon]
    piece_lat.extend(lats[k:])
    piece_lon.extend(lons[k:])
    pieces.append((piece_lat, piece_lon))
    return pieces


def _shares(total: int, pieces: int) -> list[int]:
    """``total`` split into ``pieces`` whole parts by cumulative rounding (each >= 1 if possible).

    Example: 250 into 3 -> 83, 84, 83 (cumulative 83.3, 166.7, 250 rounded: 83, 167, 250).
    """
    marks = [round(total * k / pieces) for k in range(pieces + 1)]
    return [max(1, marks[k + 1] - marks[k]) for k in range(pieces)]


def _add_piece(
    out: EdgeList,
    edges: EdgeList,
    edge: int,
    ends: tuple[int, int],
    size: tuple[int, int],
    line: tuple[list[float], list[float]],
) -> None:
    """Append to ``out`` a piece of ``edges``' edge ``edge``: (source, target), (metres, s)."""
    out.add_edge(
        ends[0],
        ends[1],
        length_m=size[0],
        travel_time_s=size[1],
        speed_kph=edges.speed_kph[edge],
        highway=edges.highway[edge],
        name=edges.name[edge],
        ref=edges.ref[edge],
        flags=edges.flags[edge],
        geometry=line,
    )


def split_long_edges(edges: EdgeList, *, max_piece_m: int) -> EdgeList:
    """A copy of ``edges`` with every edge longer than ``max_piece_m`` cut into equal pieces.

    Parameters
    ----------
    edges : EdgeList
        Nodes and directed edges with polylines (metres and seconds whole numbers).
    max_piece_m : int
        Longest piece in metres (> 0). An edge of L metres becomes ``ceil(L / max_piece_m)``
        pieces of about equal length.

    Returns
    -------
    EdgeList
        The original nodes first (same indices), then the new nodes (``node_osm_id`` =
        :data:`SPLIT_NODE_OSM_ID`); each piece keeps its edge's road attributes. The pieces'
        metres and seconds add up to the original edge's (each at least 1). An edge and its
        reverse (same end nodes, same polyline reversed) share their new nodes.
    """
    if max_piece_m <= 0:
        raise ValueError(f"max_piece_m must be a positive number of metres, got {max_piece_m}")
    out = EdgeList(
        node_lat=list(edges.node_lat),
        node_lon=list(edges.node_lon),
        node_osm_id=list(edges.node_osm_id),
    )
    # (low node, high node, polyline from low to high) -> new node indices from low to high.
    shared: dict[tuple[int, int, tuple[tuple[float, ...], tuple[float, ...]]], list[int]] = {}
    for e in range(len(edges.source)):
        u, v = edges.source[e], edges.target[e]
        length, seconds = edges.length_m[e], edges.travel_time_s[e]
        lats, lons = (list(axis) for axis in edges.geometry[e])
        count = math.ceil(length / max_piece_m)

        if count <= 1 or u == v or min(length, seconds) < count:
            _add_piece(out, edges, e, (u, v), (length, seconds), (lats, lons))
            continue
        forward = u < v
        low_lats, low_lons = (lats, lons) if forward else (lats[::-1], lons[::-1])
        key = (min(u, v), max(u, v), (tuple(low_lats), tuple(low_lons)))
        pieces = _cut(low_lats, low_lons, [k / count for k in range(1, count)])
        inner = shared.get(key)
        if inner is None:
            inner = [
                out.add_node(piece_lat[-1], piece_lon[-1], SPLIT_NODE_OSM_ID)
                for piece_lat, piece_lon in pieces[:-1]
            ]
            shared[key] = inner
        chain = [min(u, v), *inner, max(u, v)]
        metres, times = _shares(length, count), _shares(seconds, count)
        if not forward:
            chain.reverse()
            pieces = [(piece_lat[::-1], piece_lon[::-1]) for piece_lat, piece_lon in pieces[::-1]]
        for k in range(count):
            _add_piece(out, edges, e, (chain[k], chain[k + 1]), (metres[k], times[k]), pieces[k])
    return out
