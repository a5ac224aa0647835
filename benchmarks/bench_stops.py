"""Virtual-stop coverage: how many places along the roads have a stop within a short walk.

For each real extract, the graph is loaded twice: with edges kept whole as OSMnx simplifies
them (nodes only at intersections and dead ends) and with the loader's default of cutting
edges longer than 100 m (``routing.split``). Stops are generated at 150, 250 and 400 m; then
1,000 points drawn uniformly along the roads (seed 3, by length) ask ``WalkingAccess`` for the
stops within 300 m on foot. The peer of the cut graph is the whole one, in the same run.

Run: ``python benchmarks/run_all.py --only stops`` (or this script directly).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data_dir
from routing.graph import RoadGraph
from routing.load import SPLIT_EDGES_M, load_graph
from routing.stops import generate_stops
from routing.walking import WalkingAccess

EXTRACTS = ("krems", "north-bayreuth", "andorra", "monaco")
SPACINGS_M = (150, 250, 400)
POINTS = 1000
SEED = 3
MAX_WALK_M = 300


@dataclass(frozen=True)
class Row:
    """One extract and spacing; each pair is (edges kept whole, edges cut)."""

    extract: str
    spacing_m: int
    nodes: tuple[int, int]
    stops: tuple[int, int]
    uncovered: tuple[float, float]
    median_walk_m: tuple[float, float]


def road_points(graph: RoadGraph, count: int, seed: int) -> list[tuple[float, float]]:
    """``count`` points uniformly along the edges' polylines (an edge drawn by its length)."""
    rng = np.random.default_rng(seed)
    edges = rng.choice(graph.n_edges, count, p=graph.edge_length_m / graph.edge_length_m.sum())
    points = []
    for edge in edges.tolist():
        first, last = int(graph.geometry_offsets[edge]), int(graph.geometry_offsets[edge + 1])
        k = int(rng.integers(first, last - 1))
        t = float(rng.random())
        lat = graph.geometry_lat[k] + t * (graph.geometry_lat[k + 1] - graph.geometry_lat[k])
        lon = graph.geometry_lon[k] + t * (graph.geometry_lon[k + 1] - graph.geometry_lon[k])
        points.append((float(lat), float(lon)))
    return points


def uncovered_share(
    graph: RoadGraph, spacing_m: int, points: list[tuple[float, float]]
) -> tuple[int, float, float]:
    """(stops, share of points with no stop within the walk, median walk metres of the rest)."""
    stops = generate_stops(graph, spacing_m=spacing_m)
    access = WalkingAccess(graph, stops)
    walks = []
    missing = 0
    for lat, lon in points:
        found = access.reachable(lat, lon, max_walk_m=MAX_WALK_M)
        if found:
            walks.append(found[0][1])
        else:
            missing += 1
    median = float(np.median(walks)) if walks else float("nan")
    return len(stops), missing / len(points), median


def main() -> int:
    data = shared_data_dir() / "osm"
    cache = Path(os.environ.get("NORIAI_CACHE_DIR", Path.cwd() / ".noriai-cache" / "graphs"))
    rows = []
    for name in EXTRACTS:
        path = data / f"{name}.osm.bz2"
        if not path.is_file():
            print(f"missing extract {path}; set NORIAI_SHARED_DATA", file=sys.stderr)
            return 1
        whole = load_graph(path, cache_dir=cache, split_edges_m=None)
        cut = load_graph(path, cache_dir=cache)
        # The same points for both graphs: drawn along the whole graph's polylines, which the
        # cut graph follows exactly.
        points = road_points(whole, POINTS, SEED)
        for spacing in SPACINGS_M:
            whole_stops, whole_miss, whole_median = uncovered_share(whole, spacing, points)
            cut_stops, cut_miss, cut_median = uncovered_share(cut, spacing, points)
            rows.append(
                Row(
                    name,
                    spacing,
                    (whole.n_nodes, cut.n_nodes),
                    (whole_stops, cut_stops),
                    (whole_miss, cut_miss),
                    (whole_median, cut_median),
                )
            )

    print("## stops: virtual-stop coverage, edges kept whole vs cut at 100 m\n")
    print(
        "Command: `.venv/bin/python benchmarks/run_all.py --only stops` (script "
        "`benchmarks/bench_stops.py`).\n"
    )
    print(
        "Inputs: the four extracts in `../shared/data/osm`, loaded with edges kept whole "
        f"(`load_graph(..., split_edges_m=None)`) and with the default cut at {SPLIT_EDGES_M} m "
        "(`routing.split`: long streets get mid-street nodes, both directions share them). "
        f"Stops from `generate_stops(graph, spacing_m=S)`; {POINTS:,} points drawn uniformly "
        f"along the roads (seed {SEED}); a point is covered when `WalkingAccess.reachable` "
        f"finds a stop within {MAX_WALK_M} m on foot along the road graph.\n"
    )
    print(
        "| extract | spacing m | nodes whole / cut | stops whole / cut | no stop within 300 m, "
        "whole | no stop within 300 m, cut | uncovered cut / whole | median walk m, whole / cut |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        (whole_miss, cut_miss), (whole_median, cut_median) = row.uncovered, row.median_walk_m
        ratio = f"{cut_miss / whole_miss:.2f}" if whole_miss else "—"
        print(
            f"| {row.extract} | {row.spacing_m} | {row.nodes[0]:,} / {row.nodes[1]:,} | "
            f"{row.stops[0]} / {row.stops[1]} | {whole_miss:.1%} | {cut_miss:.1%} | {ratio} | "
            f"{whole_median:.0f} / {cut_median:.0f} |"
        )
    print(
        "\nWhere gaps remain, streets are tunnels, trunk roads or roundabouts (no stop there by "
        "rule), or the walk along drivable roads is long (footpaths are not in the graph)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
