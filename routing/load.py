"""Load a drivable road graph from OSM XML or (online) OSMnx, compile it and cache it.

The only Noriai module that imports osmnx (lazily, inside the functions that need it).

Pipeline, the same for a file and for a place name:

1. OSMnx builds the raw, unsimplified graph (``graph_from_xml`` for ``.osm``, ``.osm.bz2``
   and ``.osm.gz``; ``graph_from_place(place, network_type="drive")`` online).
2. Keep drivable ways only: ``highway`` in :data:`DRIVABLE_HIGHWAYS` (motorway .. residential,
   ``unclassified``, ``living_street`` and the ``*_link`` ramps). ``service`` roads
   (driveways, parking aisles, premises) are left out: a bus does not route through them and
   they would put virtual stops in car parks. ``track``, ``road`` (unknown class), paths and
   footways are dropped too, as are ways tagged ``access``/``motor_vehicle``/``motorcar`` =
   ``private`` or ``no`` and ``area=yes``.
3. Keep the largest strongly connected component, then let OSMnx merge interstitial nodes
   (``simplify_graph``); a node stays wherever ``highway``, ``name``, ``ref``, ``maxspeed``,
   ``junction``, ``tunnel`` or ``bridge`` changes, so those attributes stay single-valued.
4. Edges longer than :data:`SPLIT_EDGES_M` (100 m) are cut into equal pieces at new nodes
   (:mod:`routing.split`), both directions sharing them, so virtual stops can sit mid-street.
5. Speeds from ``maxspeed`` or the Japanese defaults in :mod:`routing.speeds`; length in whole
   metres (at least 1); travel time ``ceil(length / speed)`` in whole seconds (at least 1).
6. Compile to flat CSR arrays (:mod:`routing.compile`) and cache them (:mod:`routing.cache`).

Without a file and a place name :func:`load_graph` returns the synthetic town
(:func:`routing.synthetic.synthetic_town`), the offline fallback.
Setting the environment variable ``NORIAI_OFFLINE=1`` makes place look-ups fail at once
(tests use it so that they never touch the network).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from routing.cache import (
    cache_key,
    default_cache_dir,
    file_sha256,
    read_cached_graph,
    write_cached_graph,
)
from routing.compile import EdgeList, compile_graph
from routing.errors import MapSourceError, UnknownPlaceError
from routing.graph import RoadGraph
from routing.speeds import edge_speed_kph, speed_settings, travel_time_seconds
from routing.split import split_long_edges
from routing.synthetic import synthetic_town

__all__ = ["DRIVABLE_HIGHWAYS", "build_settings", "load_graph"]

DRIVABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
    }
)
"""OSM ``highway`` classes kept for driving (``service`` is deliberately excluded)."""

_FORBIDDING_ACCESS = frozenset({"private", "no"})
_ACCESS_TAGS = ("access", "motor_vehicle", "motorcar")
_KEEP_NODE_WHEN_DIFFERENT = ("highway", "name", "ref", "maxspeed", "junction", "tunnel", "bridge")
_PLACE_TIMEOUT_S = 8
_NETWORK_PROBE = ("nominatim.openstreetmap.org", 443)


SPLIT_EDGES_M = 100
"""Edges longer than this many metres are cut into pieces (:func:`routing.split.split_long_edges`)
so that virtual stops can be placed mid-street, not only at intersections."""


def build_settings(*, split_edges_m: int | None = SPLIT_EDGES_M) -> dict[str, object]:
    """Every setting that changes the compiled graph (part of the cache key)."""
    return {
        "highways": sorted(DRIVABLE_HIGHWAYS),
        "forbidding_access": sorted(_FORBIDDING_ACCESS),
        "access_tags": list(_ACCESS_TAGS),
        "simplify_differ": list(_KEEP_NODE_WHEN_DIFFERENT),
        "speeds": speed_settings(),
        "split_long_edges_m": split_edges_m,
    }


def _values(value: object) -> list[str]:
    """OSM/OSMnx attribute as a list of non-empty strings (None, NaN and lists handled)."""
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    if isinstance(value, list | tuple | set):
        result: list[str] = []
        for item in value:
            result.extend(text for text in _values(item) if text not in result)
        return result
    text = str(value).strip()
    return [text] if text else []


def _first(value: object) -> str:
    values = _values(value)
    return values[0] if values else ""


def _is_drivable(data: dict[str, Any]) -> bool:
    highway = _first(data.get("highway"))
    if highway not in DRIVABLE_HIGHWAYS:
        return False
    if "yes" in _values(data.get("area")):
        return False
    return not any(
        value in _FORBIDDING_ACCESS for tag in _ACCESS_TAGS for value in _values(data.get(tag))
    )


def _has_flag(value: object, *, excluded: frozenset[str] = frozenset({"no"})) -> bool:
    return any(text.lower() not in excluded for text in _values(value))


def _edge_flags(data: dict[str, Any], highway: str) -> int:
    flags = 0
    junction = _values(data.get("junction"))
    if any(value.lower() != "no" for value in junction):
        flags |= RoadGraph.FLAG_JUNCTION
    if _has_flag(data.get("tunnel"), excluded=frozenset({"no", "culvert"})):
        flags |= RoadGraph.FLAG_TUNNEL
    if _has_flag(data.get("bridge")):
        flags |= RoadGraph.FLAG_BRIDGE
    if highway.endswith("_link"):
        flags |= RoadGraph.FLAG_LINK
    return flags


@contextlib.contextmanager
def _osmnx_settings(cache_dir: Path | None) -> Iterator[Any]:
    """Temporarily adjust OSMnx's global settings; restores them afterwards."""
    import osmnx as ox

    names = (
        "useful_tags_way",
        "requests_timeout",
        "use_cache",
        "cache_folder",
        "log_console",
        "overpass_rate_limit",
    )
    saved = {name: getattr(ox.settings, name) for name in names}
    try:
        ox.settings.useful_tags_way = sorted(
            set(ox.settings.useful_tags_way) | {"motor_vehicle", "motorcar", "area", "access"}
        )
        ox.settings.requests_timeout = _PLACE_TIMEOUT_S
        ox.settings.log_console = False
        # Never sleep waiting for an Overpass slot: a place look-up must fail fast.
        ox.settings.overpass_rate_limit = False
        if cache_dir is None:
            ox.settings.use_cache = False
        else:
            ox.settings.use_cache = True
            ox.settings.cache_folder = str(cache_dir / "osmnx-http")
        yield ox
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def _compile_networkx(
    raw: Any, *, source: str, key: str, split_edges_m: int | None = SPLIT_EDGES_M
) -> RoadGraph:
    """Filter, reduce to the largest SCC, simplify and compile an OSMnx MultiDiGraph."""
    import networkx as nx
    import osmnx as ox

    drop = [
        (u, v, k) for u, v, k, data in raw.edges(keys=True, data=True) if not _is_drivable(data)
    ]
    raw.remove_edges_from(drop)
    raw.remove_nodes_from([node for node, degree in raw.degree() if degree == 0])
    if raw.number_of_edges() == 0:
        raise MapSourceError(
            f"{source} has no drivable roads (motorway .. residential); "
            "check that the file is the right OSM extract"
        )
    largest = max(nx.strongly_connected_components(raw), key=len)
    raw.remove_nodes_from([node for node in list(raw.nodes) if node not in largest])
    graph = raw
    if graph.number_of_nodes() > 1:
        graph = ox.simplify_graph(graph, edge_attrs_differ=list(_KEEP_NODE_WHEN_DIFFERENT))

    edges = EdgeList()
    index: dict[Any, int] = {}
    for osm_id in sorted(graph.nodes):
        data = graph.nodes[osm_id]
        index[osm_id] = edges.add_node(float(data["y"]), float(data["x"]), int(osm_id))
    for u, v, data in graph.edges(data=True):
        highway = _first(data.get("highway"))
        length_m = max(1, round(float(data.get("length", 0.0))))
        speed = edge_speed_kph(highway, data.get("maxspeed"))
        lat_u, lon_u = edges.node_lat[index[u]], edges.node_lon[index[u]]
        lat_v, lon_v = edges.node_lat[index[v]], edges.node_lon[index[v]]
        line = data.get("geometry")
        if line is not None:
            lons, lats = (list(axis) for axis in line.xy)
            forward = (lats[0] - lat_u) ** 2 + (lons[0] - lon_u) ** 2
            backward = (lats[0] - lat_v) ** 2 + (lons[0] - lon_v) ** 2
            if backward < forward:
                lats.reverse()
                lons.reverse()
            lats[0], lons[0], lats[-1], lons[-1] = lat_u, lon_u, lat_v, lon_v
        else:
            lats, lons = [lat_u, lat_v], [lon_u, lon_v]
        edges.add_edge(
            index[u],
            index[v],
            length_m=length_m,
            travel_time_s=travel_time_seconds(length_m, speed),
            speed_kph=speed,
            highway=highway,
            name=_first(data.get("name")),
            ref=";".join(_values(data.get("ref"))),
            flags=_edge_flags(data, highway),
            geometry=(lats, lons),
        )
    if split_edges_m is not None:
        edges = split_long_edges(edges, max_piece_m=split_edges_m)
    compiled = compile_graph(edges, source=source, cache_key=key)
    if compiled.n_nodes < 2:
        raise MapSourceError(f"{source} has no connected drivable road network; check the extract")
    return compiled


def _read_osm_file(path: Path) -> Any:
    """The raw unsimplified OSMnx graph of an OSM XML file; MapSourceError when unreadable."""
    from xml.etree.ElementTree import ParseError
    from xml.sax import SAXException

    with _osmnx_settings(None) as ox:
        insufficient = ox._errors.InsufficientResponseError
        try:
            return ox.graph_from_xml(path, simplify=False, retain_all=True)
        except insufficient as error:
            raise MapSourceError(
                f"map file {path} contains no OSM ways ({error}); use an OSM XML extract "
                "with roads (.osm, .osm.bz2 or .osm.gz)"
            ) from None
        except (ParseError, SAXException, OSError, EOFError, ValueError, KeyError) as error:
            kind = type(error).__name__
            raise MapSourceError(
                f"map file {path} is not readable OSM XML ({kind}: {error}); download the "
                "extract again or pass another --osm file"
            ) from None


def _load_place(place: str, cache_dir: Path) -> Any:
    """The raw drivable OSMnx graph of a place name; UnknownPlaceError offline or unknown."""
    if os.environ.get("NORIAI_OFFLINE", "").strip() not in {"", "0"}:
        raise UnknownPlaceError(
            f"cannot look up place {place!r}: offline mode (NORIAI_OFFLINE is set); "
            "pass a map file with --osm FILE"
        )
    try:
        with socket.create_connection(_NETWORK_PROBE, timeout=_PLACE_TIMEOUT_S):
            pass
    except OSError as error:
        raise UnknownPlaceError(
            f"cannot look up place {place!r}: no network ({error}); pass a map file with "
            "--osm FILE, or no map for the synthetic town"
        ) from None
    import requests

    with _osmnx_settings(cache_dir) as ox:
        try:
            return ox.graph_from_place(place, network_type="drive", simplify=False, retain_all=True)
        except (
            ox._errors.InsufficientResponseError,
            requests.RequestException,
            TypeError,
            ValueError,
            OSError,
        ) as error:
            raise UnknownPlaceError(
                f"could not load place {place!r} from OpenStreetMap ({type(error).__name__}: "
                f"{error}); check the spelling (e.g. 'Aizuwakamatsu, Fukushima, Japan') or "
                "pass --osm FILE"
            ) from None


def load_graph(
    source: str | os.PathLike[str] | None = None,
    *,
    place: str | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    split_edges_m: int | None = SPLIT_EDGES_M,
) -> RoadGraph:
    """Load, filter, compile and cache a drivable road graph.

    Parameters
    ----------
    source : path-like, optional
        OSM XML file: ``.osm``, ``.osm.bz2`` or ``.osm.gz``.
    place : str, optional
        Place name for OSMnx (online only), e.g. ``"Aizuwakamatsu, Fukushima, Japan"``.
        With neither ``source`` nor ``place`` the synthetic town (seed 7) is returned.
    cache_dir : Path, optional
        Graph cache directory; default :func:`routing.cache.default_cache_dir`.
    use_cache : bool
        Read and write the cache (False always builds and writes nothing).
    split_edges_m : int or None
        Cut edges longer than this many metres into equal pieces at new nodes, so virtual
        stops can sit mid-street (default 100 m); None keeps the simplified edges whole.

    Returns
    -------
    RoadGraph
        Strongly connected drivable graph; ``from_cache`` says whether it came from the cache,
        ``load_seconds`` how long this call took (wall seconds).

    Raises
    ------
    MapSourceError
        The file is missing, empty, unreadable, corrupt or has no drivable roads; or both
        ``source`` and ``place`` were given.
    UnknownPlaceError
        The place could not be looked up (unknown, offline, or ``NORIAI_OFFLINE`` set).
    """
    started = time.perf_counter()
    if source is not None and place is not None:
        raise MapSourceError("give either a map file or a place name, not both")
    if source is None and place is None:
        return synthetic_town()
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    if split_edges_m is not None and split_edges_m <= 0:
        raise MapSourceError(
            f"split_edges_m must be a positive number of metres or None, got {split_edges_m}"
        )
    settings = build_settings(split_edges_m=split_edges_m)

    if source is not None:
        path = Path(source)
        if not path.exists():
            raise MapSourceError(
                f"map file {path} does not exist; check the path (OSM XML: .osm, .osm.bz2 "
                "or .osm.gz)"
            )
        if not path.is_file():
            raise MapSourceError(f"map file {path} is not a file; pass an OSM XML file")
        try:
            size = path.stat().st_size
            content_hash = file_sha256(path)
        except OSError as error:
            raise MapSourceError(
                f"map file {path} cannot be read ({error}); check its permissions"
            ) from None
        if size == 0:
            raise MapSourceError(f"map file {path} is empty; download the extract again")
        label = path.name
        key = cache_key(content_hash, settings)
    else:
        assert place is not None
        label = place.strip()
        if not label:
            raise UnknownPlaceError(
                "the place name is empty; e.g. 'Aizuwakamatsu, Fukushima, Japan'"
            )
        key = cache_key("place:" + " ".join(label.lower().split()), settings)

    if use_cache:
        cached = read_cached_graph(directory, key)
        if cached is not None:
            return dataclasses.replace(
                cached, source=label, load_seconds=time.perf_counter() - started
            )

    raw = _read_osm_file(Path(source)) if source is not None else _load_place(label, directory)
    graph = _compile_networkx(
        raw, source=label, key=key if use_cache else "", split_edges_m=split_edges_m
    )
    if use_cache:
        with contextlib.suppress(OSError):
            write_cached_graph(graph, directory, key)
    return dataclasses.replace(graph, load_seconds=time.perf_counter() - started)
