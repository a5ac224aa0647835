"""Virtual stops: generate them along suitable roads, load them from files, write GeoJSON.

A virtual stop is a road-graph node where the vehicle stops (riders walk to it). Generated
stops avoid motorways, trunk roads, link roads, roundabouts/junctions and tunnels, prefer
nodes that are not intersections, and keep a minimum spacing between each other.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routing.errors import PointOffMapError, StopsFileError
from routing.graph import RoadGraph
from routing.snap import graph_projection, nearest_node
from routing.types import NodeId

__all__ = [
    "EXCLUDED_HIGHWAYS",
    "ODBL_ATTRIBUTION",
    "VirtualStop",
    "generate_stops",
    "load_stops",
    "stop_edge_is_suitable",
    "stops_geojson",
    "write_geojson",
]

ODBL_ATTRIBUTION = (
    "© OpenStreetMap contributors, available under the Open Database License (ODbL 1.0): "
    "https://www.openstreetmap.org/copyright"
)

EXCLUDED_HIGHWAYS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
"""Road classes on which a bus never stops for riders."""

_EXCLUDED_FLAGS = RoadGraph.FLAG_JUNCTION | RoadGraph.FLAG_TUNNEL | RoadGraph.FLAG_LINK

MIN_SPACING_FACTOR = 0.8
"""Generated stops are never closer than ``spacing_m * MIN_SPACING_FACTOR`` (straight line)."""


@dataclass(frozen=True, slots=True)
class VirtualStop:
    """A place where the vehicle stops for riders.

    Attributes
    ----------
    id : str
        Stop id ("S0001" for generated stops, the file's id for loaded ones).
    node : NodeId
        Road-graph node the vehicle stops at.
    lat, lon : float
        Where riders wait, degrees (the node position for generated stops, the file's
        position for loaded ones).
    name : str
        Display name; the street name for generated stops ("" when the street has none).
    edge : int or None
        A suitable edge entering ``node`` that names the stop; None for loaded stops.
    """

    id: str
    node: NodeId
    lat: float
    lon: float
    name: str
    edge: int | None = None


def stop_edge_is_suitable(graph: RoadGraph, edge: int) -> bool:
    """True when a bus may stop for riders on ``edge``.

    Not on motorway/trunk roads or their links, not on link roads (flag 8), roundabouts or
    junctions (flag 1), nor in tunnels (flag 2).
    """
    return (
        graph.edge_highway[edge] not in EXCLUDED_HIGHWAYS
        and int(graph.edge_flags[edge]) & _EXCLUDED_FLAGS == 0
    )


def generate_stops(graph: RoadGraph, *, spacing_m: int = 250) -> tuple[VirtualStop, ...]:
    """Place virtual stops along suitable roads, roughly ``spacing_m`` metres apart.

    A node is a candidate when every edge touching it is suitable
    (:func:`stop_edge_is_suitable`) and it has both an entering and a leaving edge. Candidates
    are taken greedily, first nodes joining two neighbours (mid-street), then intersections,
    then dead ends; within each class in a row-by-row sweep from south-west. A candidate is
    accepted when no accepted stop lies within ``spacing_m * 0.8`` metres. The result is
    deterministic for a given graph.

    Parameters
    ----------
    graph : RoadGraph
        Drivable, strongly connected road graph.
    spacing_m : int
        Target spacing in metres (> 0).

    Returns
    -------
    tuple of VirtualStop
        Stops with ids ``S0001, S0002, ...`` in acceptance order.
    """
    if spacing_m <= 0:
        raise ValueError(f"spacing_m must be a positive number of metres, got {spacing_m}")
    n_nodes = graph.n_nodes
    if n_nodes == 0:
        return ()
    suitable = np.fromiter(
        (stop_edge_is_suitable(graph, edge) for edge in range(graph.n_edges)),
        dtype=bool,
        count=graph.n_edges,
    )
    source = graph.edge_source.astype(np.int64)
    target = graph.edge_target.astype(np.int64)
    bad_edges = ~suitable
    touches_bad = np.zeros(n_nodes, dtype=bool)
    touches_bad[source[bad_edges]] = True
    touches_bad[target[bad_edges]] = True
    has_in = np.zeros(n_nodes, dtype=bool)
    has_out = np.zeros(n_nodes, dtype=bool)
    has_in[target] = True
    has_out[source] = True
    candidate = has_in & has_out & ~touches_bad
    # Undirected degree: distinct neighbours, ignoring self-loops.
    pairs = np.unique(
        np.column_stack([np.minimum(source, target), np.maximum(source, target)]), axis=0
    )
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    degree = np.bincount(pairs.ravel(), minlength=n_nodes)
    priority = np.where(degree == 2, 0, np.where(degree >= 3, 1, 2))

    projection = graph_projection(graph)
    x, y = projection.to_xy(graph.node_lat, graph.node_lon)
    min_gap = float(spacing_m) * MIN_SPACING_FACTOR
    row = np.floor((y - y.min()) / float(spacing_m)).astype(np.int64)
    nodes = np.nonzero(candidate)[0]
    order = nodes[np.lexsort((nodes, x[nodes], row[nodes], priority[nodes]))]

    entering_names = _entering_edge_by_node(graph, suitable)
    cells: dict[tuple[int, int], list[int]] = {}
    chosen: list[int] = []
    for node in order.tolist():
        cx, cy = math.floor(x[node] / min_gap), math.floor(y[node] / min_gap)
        if _has_neighbour(cells, cx, cy, node, x, y, min_gap):
            continue
        cells.setdefault((cx, cy), []).append(node)
        chosen.append(node)
    stops = []
    for number, node in enumerate(chosen, start=1):
        edge, name = entering_names[node]
        stops.append(
            VirtualStop(
                id=f"S{number:04d}",
                node=int(node),
                lat=float(graph.node_lat[node]),
                lon=float(graph.node_lon[node]),
                name=name,
                edge=edge,
            )
        )
    return tuple(stops)


def _has_neighbour(
    cells: dict[tuple[int, int], list[int]],
    cx: int,
    cy: int,
    node: int,
    x: np.ndarray[Any, np.dtype[np.float64]],
    y: np.ndarray[Any, np.dtype[np.float64]],
    min_gap: float,
) -> bool:
    """True when an accepted node in the 3x3 cells around ``(cx, cy)`` is closer than min_gap."""
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for other in cells.get((cx + dx, cy + dy), ()):
                if math.hypot(x[node] - x[other], y[node] - y[other]) < min_gap:
                    return True
    return False


def _entering_edge_by_node(
    graph: RoadGraph, suitable: np.ndarray[Any, np.dtype[np.bool_]]
) -> dict[int, tuple[int | None, str]]:
    """For each node, a suitable entering edge and the most common name among them.

    Ties between names go to the alphabetically first; the edge is the lowest-index suitable
    entering edge carrying that name.
    """
    names: dict[int, Counter[str]] = {}
    first_edge: dict[tuple[int, str], int] = {}
    for edge in np.nonzero(suitable)[0].tolist():
        node = int(graph.edge_target[edge])
        name = graph.edge_name[edge] or graph.edge_ref[edge]
        names.setdefault(node, Counter())[name] += 1
        first_edge.setdefault((node, name), edge)
    result: dict[int, tuple[int | None, str]] = {}
    for node, counter in names.items():
        named = [(count, name) for name, count in counter.items() if name]
        best = min(named, key=lambda item: (-item[0], item[1]))[1] if named else ""
        result[node] = (first_edge[(node, best)], best)
    return result


def _snap_stop(
    graph: RoadGraph,
    stop_id: str,
    name: str,
    lat: float,
    lon: float,
    where: str,
    max_snap_m: float,
) -> VirtualStop:
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise StopsFileError(f"{where}: coordinate {lat},{lon} is out of range; fix lat/lon")
    try:
        node = nearest_node(graph, lat, lon, max_distance_m=max_snap_m)
    except PointOffMapError as error:
        raise StopsFileError(f"{where} (stop {stop_id!r}): {error}") from error
    return VirtualStop(id=stop_id, node=node, lat=lat, lon=lon, name=name, edge=None)


def _as_float(value: object, field: str, where: str) -> float:
    if isinstance(value, bool) or value is None:
        raise StopsFileError(f"{where}: {field} is missing or not a number; give decimal degrees")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise StopsFileError(
            f"{where}: {field} {value!r} is not a number; give decimal degrees"
        ) from error
    if not math.isfinite(number):
        raise StopsFileError(f"{where}: {field} {value!r} is not a finite number")
    return number


def _as_id(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise StopsFileError(f"{where}: property 'id' is missing or empty; give each stop an id")
    return str(value).strip()


def _load_geojson(path: Path, graph: RoadGraph, max_snap_m: float) -> list[VirtualStop]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise StopsFileError(f"{path}: not UTF-8 text; save the GeoJSON as UTF-8") from error
    except json.JSONDecodeError as error:
        raise StopsFileError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise StopsFileError(f"{path}: expected a GeoJSON FeatureCollection of Point features")
    features = document.get("features")
    if not isinstance(features, list):
        raise StopsFileError(f"{path}: 'features' must be a list of Point features")
    stops = []
    for index, feature in enumerate(features):
        where = f"{path}: feature {index}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise StopsFileError(f"{where}: not a GeoJSON Feature")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise StopsFileError(f"{where}: geometry must be a Point [lon, lat]")
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            raise StopsFileError(f"{where}: Point coordinates must be [lon, lat]")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise StopsFileError(f"{where}: properties must be an object with id and name")
        stop_id = _as_id(properties.get("id", feature.get("id")), where)
        name = properties.get("name") or ""
        if not isinstance(name, str):
            raise StopsFileError(f"{where}: property 'name' must be text")
        lon = _as_float(coordinates[0], "longitude", where)
        lat = _as_float(coordinates[1], "latitude", where)
        stops.append(_snap_stop(graph, stop_id, name, lat, lon, where, max_snap_m))
    return stops


def _load_csv(path: Path, graph: RoadGraph, max_snap_m: float) -> list[VirtualStop]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise StopsFileError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from error
    reader = csv.DictReader(text.splitlines())
    header = [column.strip().lower() for column in (reader.fieldnames or [])]
    missing = [column for column in ("id", "lat", "lon") if column not in header]
    if missing:
        raise StopsFileError(
            f"{path}: the header lacks {', '.join(missing)}; expected columns id,name,lat,lon"
        )
    reader.fieldnames = header
    stops = []
    for row in reader:
        where = f"{path}: row {reader.line_num}"
        if None in row:
            raise StopsFileError(f"{where}: more fields than the header has columns")
        stop_id = _as_id(row.get("id"), where)
        lat = _as_float((row.get("lat") or "").strip() or None, "lat", where)
        lon = _as_float((row.get("lon") or "").strip() or None, "lon", where)
        name = (row.get("name") or "").strip()
        stops.append(_snap_stop(graph, stop_id, name, lat, lon, where, max_snap_m))
    return stops


def load_stops(
    path: str | Path, graph: RoadGraph, *, max_snap_m: float = 500
) -> tuple[VirtualStop, ...]:
    """Read virtual stops from GeoJSON or CSV and snap each to its nearest road node.

    Parameters
    ----------
    path : str or Path
        ``.geojson``/``.json``: a FeatureCollection of Point features with properties ``id``
        and ``name``. ``.csv``: a header row ``id,name,lat,lon`` (name optional), degrees.
    graph : RoadGraph
        The road graph to snap to.
    max_snap_m : float
        Farthest allowed distance from a stop to its road node, metres.

    Raises
    ------
    StopsFileError
        Missing or unreadable file, malformed content, duplicate ids, or a stop farther than
        ``max_snap_m`` from the roads; the message names the row or feature.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise StopsFileError(f"stop file {file_path} does not exist; check the path")
    suffix = file_path.suffix.lower()
    try:
        if suffix in {".geojson", ".json"}:
            stops = _load_geojson(file_path, graph, max_snap_m)
        elif suffix == ".csv":
            stops = _load_csv(file_path, graph, max_snap_m)
        else:
            raise StopsFileError(
                f"{file_path}: unknown stop file type {suffix!r}; use .geojson, .json or .csv"
            )
    except OSError as error:
        raise StopsFileError(f"{file_path}: cannot be read ({error.strerror})") from error
    if not stops:
        raise StopsFileError(f"{file_path}: contains no stops")
    seen: set[str] = set()
    for stop in stops:
        if stop.id in seen:
            raise StopsFileError(f"{file_path}: stop id {stop.id!r} appears twice; ids are unique")
        seen.add(stop.id)
    return tuple(stops)


def stops_geojson(stops: Iterable[VirtualStop]) -> dict[str, Any]:
    """The stops as a GeoJSON FeatureCollection (with the ODbL attribution)."""
    return {
        "type": "FeatureCollection",
        "attribution": ODBL_ATTRIBUTION,
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(stop.lon, 7), round(stop.lat, 7)],
                },
                "properties": {
                    "id": stop.id,
                    "name": stop.name,
                    "node": stop.node,
                    "edge": stop.edge,
                },
            }
            for stop in stops
        ],
    }


def write_geojson(stops: Sequence[VirtualStop], path: str | Path) -> Path:
    """Write the stops as a GeoJSON FeatureCollection (UTF-8) and return the path.

    The top-level ``attribution`` property carries the OpenStreetMap/ODbL notice the data
    licence requires.
    """
    file_path = Path(path)
    file_path.parent.mkdir(parents=True, exist_ok=True)
    file_path.write_text(
        json.dumps(stops_geojson(stops), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return file_path
