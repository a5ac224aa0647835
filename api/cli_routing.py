"""``noriai graph info`` and ``noriai matrix``: the road graph and the stop matrix.

Both take ``--osm FILE`` (``.osm``, ``.osm.bz2``, ``.osm.gz``) or ``--place NAME`` (online
OSMnx); without either they use the seeded synthetic town and say so. Map problems (missing
or corrupt file, unknown place, offline) are routing errors that :func:`api.cli.main` prints
as one line on stderr with exit code 2.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from api.cli_common import fail, print_json
from routing.graph import RoadGraph
from routing.load import load_graph
from routing.matrix import build_matrix

__all__ = ["LoadedMap", "load_map", "register", "road_km"]

OsmOption = Annotated[
    Path | None,
    typer.Option("--osm", help="OSM XML extract (.osm, .osm.bz2, .osm.gz).", show_default=False),
]
PlaceOption = Annotated[
    str | None,
    typer.Option(
        "--place",
        help="Place name for OSMnx (online), e.g. 'Aizuwakamatsu, Fukushima, Japan'.",
        show_default=False,
    ),
]
CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Graph cache directory (default $NORIAI_CACHE_DIR or .noriai-cache/graphs).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


@dataclass(frozen=True, slots=True)
class LoadedMap:
    """A graph plus how it was obtained, for CLI output.

    Attributes
    ----------
    graph : RoadGraph
        The compiled graph.
    kind : str
        ``"file"``, ``"place"`` or ``"synthetic"``.
    description : str
        One line naming the map, e.g. ``"file krems.osm.bz2 (from cache)"``.
    """

    graph: RoadGraph
    kind: str
    description: str


def load_map(osm: Path | None, place: str | None, cache_dir: Path | None = None) -> LoadedMap:
    """Load the map named by the ``--osm`` / ``--place`` options (synthetic town without both).

    Raises routing errors (MapSourceError, UnknownPlaceError) for :func:`api.cli.main`.
    """
    if osm is not None and place is not None:
        fail("give either --osm FILE or --place NAME, not both")
    graph = load_graph(osm, place=place, cache_dir=cache_dir)
    if osm is not None:
        kind = "file"
    elif place is not None:
        kind = "place"
    else:
        kind = "synthetic"
    if kind == "synthetic":
        description = f"{graph.source} (no --osm or --place given)"
    else:
        cache_note = "from cache" if graph.from_cache else "built, now cached"
        description = f"{kind} {graph.source} ({cache_note})"
    return LoadedMap(graph=graph, kind=kind, description=description)


def road_km(graph: RoadGraph) -> float:
    """Kilometres of road, each two-way street counted once (the shorter direction)."""
    low = np.minimum(graph.edge_source, graph.edge_target).astype(np.int64)
    high = np.maximum(graph.edge_source, graph.edge_target).astype(np.int64)
    key = low * max(1, graph.n_nodes) + high
    order = np.lexsort((graph.edge_length_m, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    return float(graph.edge_length_m[order][first].astype(np.int64).sum()) / 1000.0


def _strongly_connected_nodes(graph: RoadGraph) -> int:
    """Size of the largest strongly connected component (equals n_nodes for our graphs)."""
    if graph.n_nodes == 0:
        return 0
    adjacency = csr_matrix(
        (np.ones(graph.n_edges, dtype=np.int8), graph.edge_target, graph.indptr),
        shape=(graph.n_nodes, graph.n_nodes),
    )
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    return int(np.bincount(labels).max())


def _pick_stop_nodes(
    graph: RoadGraph, count: int, seed: int, spacing_m: int
) -> tuple[list[int], str]:
    """``count`` distinct nodes: generated virtual stops when there are enough, else random."""
    rng = np.random.default_rng(seed)
    try:
        from routing.stops import generate_stops
    except ImportError:
        generate_stops = None  # type: ignore[assignment]
    if generate_stops is not None:
        stops = generate_stops(graph, spacing_m=spacing_m)
        nodes = sorted({stop.node for stop in stops})
        if len(nodes) < count:
            fail(
                f"only {len(nodes)} virtual stops fit at {spacing_m} m spacing on this map; "
                f"ask for --stops {len(nodes)} or fewer, or lower --spacing"
            )
        chosen = rng.choice(np.asarray(nodes, dtype=np.int64), size=count, replace=False)
        return [int(node) for node in chosen], (
            f"{count} of {len(nodes)} generated virtual stops (spacing {spacing_m} m, seed {seed})"
        )
    chosen = rng.choice(graph.n_nodes, size=count, replace=False)
    return [int(node) for node in chosen], (
        f"{count} seeded random road nodes (seed {seed}; routing.stops is not available)"
    )


def register(app: typer.Typer) -> None:
    """Add ``graph info`` and ``matrix`` to the noriai app."""
    graph_app = typer.Typer(
        name="graph", help="Inspect road graphs.", no_args_is_help=True, add_completion=False
    )

    @graph_app.command("info")
    def graph_info(
        osm: OsmOption = None,
        place: PlaceOption = None,
        cache_dir: CacheDirOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Nodes, edges, strongly connected nodes, road km, load seconds, cache use."""
        loaded = load_map(osm, place, cache_dir)
        graph = loaded.graph
        info = {
            "map": loaded.description,
            "source": graph.source,
            "kind": loaded.kind,
            "nodes": graph.n_nodes,
            "edges": graph.n_edges,
            "strongly_connected_nodes": _strongly_connected_nodes(graph),
            "road_km": round(road_km(graph), 3),
            "load_seconds": round(graph.load_seconds, 3),
            "from_cache": graph.from_cache,
            "cache_key": graph.cache_key[:16],
        }
        if json_output:
            print_json(info)
            return
        print(f"map: {info['map']}")
        print(f"nodes: {info['nodes']}")
        print(f"edges: {info['edges']}")
        print(f"strongly connected nodes: {info['strongly_connected_nodes']}")
        print(f"road km: {info['road_km']:.1f}")
        print(f"load seconds: {info['load_seconds']:.3f}")
        cache_line = "yes" if graph.from_cache else "no"
        if loaded.kind == "synthetic":
            cache_line = "no (synthetic town is built in memory)"
        print(f"cache used: {cache_line}")

    app.add_typer(graph_app)

    @app.command("matrix")
    def matrix(
        stops: Annotated[
            int, typer.Option("--stops", help="Number of stops N (N x N matrix).")
        ] = 100,
        osm: OsmOption = None,
        place: PlaceOption = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed for picking the stops.")] = 7,
        spacing: Annotated[
            int, typer.Option("--spacing", help="Virtual-stop spacing in metres.")
        ] = 250,
        cache_dir: CacheDirOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Build the N x N travel-time matrix over N stops; print seconds and a checksum."""
        if stops < 1:
            fail(f"--stops must be a whole number of at least 1, got {stops}")
        if spacing < 1:
            fail(f"--spacing must be at least 1 metre, got {spacing}")
        loaded = load_map(osm, place, cache_dir)
        graph = loaded.graph
        if stops > graph.n_nodes:
            fail(f"--stops {stops} is more than the {graph.n_nodes} road nodes of this map")
        nodes, stops_note = _pick_stop_nodes(graph, stops, seed, spacing)
        started = time.perf_counter()
        result = build_matrix(graph, nodes)
        seconds = time.perf_counter() - started
        checksum = hashlib.sha256(np.ascontiguousarray(result, dtype="<i4").tobytes()).hexdigest()
        off_diagonal = result[~np.eye(len(nodes), dtype=bool)]
        info = {
            "map": loaded.description,
            "stops": stops,
            "stops_from": stops_note,
            "seconds": round(seconds, 4),
            "checksum": checksum[:16],
            "checksum_of": "sha256 of the int32 little-endian row-major matrix, first 16 hex",
            "max_travel_s": int(off_diagonal.max()) if off_diagonal.size else 0,
            "mean_travel_s": round(float(off_diagonal.mean()), 1) if off_diagonal.size else 0.0,
        }
        if json_output:
            print_json(info)
            return
        print(f"map: {info['map']}")
        print(f"stops: {stops_note}")
        print(f"matrix: {stops} x {stops} built in {seconds:.3f} s")
        print(f"checksum: {info['checksum']} (sha256 of the int32 matrix)")
        print(f"travel time: mean {info['mean_travel_s']} s, max {info['max_travel_s']} s")
