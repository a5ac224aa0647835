"""Stop travel-time matrix: routing.matrix.build_matrix (scipy) against networkx, same run.

Cases: N = 500 and N = 1,000 stops on a synthetic town of about 15,000 road nodes (123 x 123
grid), and N = 500 on north-bayreuth.osm.bz2. The peer is what a user would otherwise write:
``networkx.single_source_dijkstra_path_length`` from each stop on a ``networkx.DiGraph`` built
from the same compiled graph. Both matrices are compared entry by entry. When networkx would
take longer than three minutes for a case, it is timed on a sample of rows and extrapolated
(labelled so in the table).

Run: ``python benchmarks/run_all.py --only matrix`` (or this script directly).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data_dir
from routing.export import to_networkx_digraph
from routing.graph import RoadGraph
from routing.load import load_graph
from routing.matrix import build_matrix
from routing.synthetic import synthetic_town

SEED = 7
REPEATS = 3
NETWORKX_BUDGET_S = 180.0
SAMPLE_ROWS = 100


@dataclass
class CaseResult:
    name: str
    nodes: int
    stops: int
    stops_from: str
    scipy_s: float
    scipy_cpu_s: float
    scipy_2_s: float
    networkx_s: float
    networkx_cpu_s: float
    networkx_rows: int
    identical: bool


def pick_stops(graph: RoadGraph, count: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Generated virtual stops (250 m) when there are enough, else seeded random nodes."""
    try:
        from routing.stops import generate_stops
    except ImportError:
        generate_stops = None  # type: ignore[assignment]
    if generate_stops is not None:
        nodes = sorted({stop.node for stop in generate_stops(graph, spacing_m=250)})
        if len(nodes) >= count:
            chosen = rng.choice(np.asarray(nodes), size=count, replace=False)
            return chosen, f"{count} of {len(nodes)} generated virtual stops (250 m)"
        reason = f"only {len(nodes)} virtual stops at 250 m"
    else:
        reason = "routing.stops not available"
    chosen = rng.choice(graph.n_nodes, size=count, replace=False)
    return chosen, f"{count} seeded random nodes ({reason})"


def networkx_rows(digraph: nx.DiGraph, sources: list[int], targets: list[int]) -> np.ndarray:
    rows = np.empty((len(sources), len(targets)), dtype=np.int64)
    for i, source in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(digraph, source, weight="weight")
        rows[i] = [lengths[target] for target in targets]
    return rows


def timed_median(function, repeats: int = REPEATS) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Median wall seconds, median CPU seconds of this process, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def run_case(name: str, graph: RoadGraph, count: int, digraph: nx.DiGraph) -> CaseResult:
    rng = np.random.default_rng(SEED)
    stops, stops_from = pick_stops(graph, count, rng)
    build_matrix(graph, stops[:2])  # builds the memoised CSR once, outside the timing
    scipy_s, scipy_cpu_s, matrix = timed_median(lambda: build_matrix(graph, stops))
    scipy_2_s, _, matrix_2 = timed_median(lambda: build_matrix(graph, stops, workers=2))
    assert isinstance(matrix, np.ndarray)
    assert isinstance(matrix_2, np.ndarray)
    sources, targets = stops.tolist(), stops.tolist()
    sample_size = min(SAMPLE_ROWS, len(sources))
    wall, cpu = time.perf_counter(), time.process_time()
    rows = networkx_rows(digraph, sources[:sample_size], targets)
    networkx_s, networkx_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    done = sample_size
    if networkx_s * len(sources) / sample_size <= NETWORKX_BUDGET_S:
        wall, cpu = time.perf_counter(), time.process_time()
        rest = networkx_rows(digraph, sources[sample_size:], targets)
        networkx_s += time.perf_counter() - wall
        networkx_cpu_s += time.process_time() - cpu
        rows = np.concatenate([rows, rest])
        done = len(sources)
    else:
        networkx_s *= len(sources) / sample_size
        networkx_cpu_s *= len(sources) / sample_size
    identical = bool(np.array_equal(matrix[:done], rows) and np.array_equal(matrix, matrix_2))
    return CaseResult(
        name=name,
        nodes=graph.n_nodes,
        stops=count,
        stops_from=stops_from,
        scipy_s=scipy_s,
        scipy_cpu_s=scipy_cpu_s,
        scipy_2_s=scipy_2_s,
        networkx_s=networkx_s,
        networkx_cpu_s=networkx_cpu_s,
        networkx_rows=done,
        identical=identical,
    )


def main() -> int:
    results: list[CaseResult] = []
    town = synthetic_town(rows=123, cols=123)
    town_digraph = to_networkx_digraph(town)
    for count in (500, 1000):
        results.append(run_case("synthetic town 123x123 (seed 7)", town, count, town_digraph))
    bayreuth_path = shared_data_dir() / "osm" / "north-bayreuth.osm.bz2"
    if bayreuth_path.is_file():
        cache = Path(os.environ.get("NORIAI_CACHE_DIR", Path.cwd() / ".noriai-cache" / "graphs"))
        bayreuth = load_graph(bayreuth_path, cache_dir=cache)
        results.append(
            run_case("north-bayreuth.osm.bz2", bayreuth, 500, to_networkx_digraph(bayreuth))
        )
    load = os.getloadavg()

    print("## Stop travel-time matrix: scipy build_matrix vs networkx Dijkstra per stop\n")
    print(
        "Command: `.venv/bin/python benchmarks/run_all.py --only matrix` "
        "(script `benchmarks/bench_matrix.py`).\n"
    )
    print(
        "Inputs: synthetic town `synthetic_town(rows=123, cols=123)` (seed 7) and "
        "`../shared/data/osm/north-bayreuth.osm.bz2` (drivable, simplified, largest strongly "
        f"connected part). Stops picked with seed {SEED}. Ours: `routing.matrix.build_matrix` "
        "(`scipy.sparse.csgraph.dijkstra` from every stop, only stop columns kept), median of "
        f"{REPEATS} runs, in this process and with `workers=2` (two forked processes). Peer: "
        "`networkx.single_source_dijkstra_path_length` from every stop on a `networkx.DiGraph` "
        "of the same compiled graph, run once. Integer seconds.\n"
    )
    print(
        "| case | road nodes | stops | ours 1 proc, wall s | ours 1 proc, CPU s | "
        "ours 2 procs, wall s | networkx, wall s | networkx, CPU s | networkx / ours, wall "
        "(1 proc; 2 procs) | networkx / ours, CPU | identical |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in results:
        extrapolated = result.networkx_rows < result.stops
        mark = f" (extrapolated from {result.networkx_rows} rows)" if extrapolated else ""
        identical = "yes" if result.identical else "NO"
        if extrapolated:
            identical += f" (first {result.networkx_rows} rows vs networkx; all vs 2 procs)"
        print(
            f"| {result.name}, N={result.stops} | {result.nodes:,} | {result.stops_from} | "
            f"{result.scipy_s:.3f} | {result.scipy_cpu_s:.3f} | {result.scipy_2_s:.3f} | "
            f"{result.networkx_s:.1f}{mark} | {result.networkx_cpu_s:.1f}{mark} | "
            f"{result.networkx_s / result.scipy_s:.1f}x; "
            f"{result.networkx_s / result.scipy_2_s:.1f}x | "
            f"{result.networkx_cpu_s / result.scipy_cpu_s:.1f}x | {identical} |"
        )
    big = next(r for r in results if r.stops == 1000)
    best = min(big.scipy_s, big.scipy_2_s)
    ratio = big.networkx_s / best
    print(
        "\nGoal (1,000 x 1,000 on ~15,000 nodes under 1 s wall and at least 20x networkx): "
        f"best wall {best:.3f} s (CPU of one process {big.scipy_cpu_s:.3f} s) -> time goal "
        f"{'met' if best < 1.0 else 'NOT met'}; wall ratio {ratio:.1f}x, CPU ratio "
        f"{big.networkx_cpu_s / big.scipy_cpu_s:.1f}x -> ratio goal "
        f"{'met' if ratio >= 20 else 'NOT met'}."
    )
    print(
        f"\nLoad average while running (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} on {os.cpu_count()} cores. Other work on a shared machine stretches "
        "wall seconds on both sides; CPU s (`time.process_time` of this process) is less "
        "disturbed and is the fairer single-process comparison."
    )
    return 0 if all(r.identical for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
