"""Stop travel-time matrix: routing.matrix.build_matrix against scipy and networkx, same run.

Cases: N = 500 and N = 1,000 stops on a synthetic town of about 15,000 road nodes (123 x 123
grid), and N = 500 on north-bayreuth.osm.bz2. Peers: scipy's csgraph Dijkstra from each stop, and
what a user would otherwise write:
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
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import shared_data_dir
from routing.export import to_networkx_digraph
from routing.graph import RoadGraph
from routing.load import load_graph
from routing.matrix import build_matrix, weight_csr
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
    ours_s: float
    ours_cpu_s: float
    ours_1_s: float
    ours_1_cpu_s: float
    scipy_s: float
    scipy_cpu_s: float
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


def scipy_rows(graph: RoadGraph, stops: np.ndarray) -> np.ndarray:
    """The scipy way: ``scipy.sparse.csgraph.dijkstra`` from each stop, 64 sources a call."""
    csr = weight_csr(graph)
    rows = [
        np.atleast_2d(dijkstra(csr, directed=True, indices=stops[start : start + 64]))[:, stops]
        for start in range(0, stops.size, 64)
    ]
    return np.concatenate(rows).astype(np.int64)


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
    ours_s, ours_cpu_s, matrix = timed_median(lambda: build_matrix(graph, stops))
    ours_1_s, ours_1_cpu_s, matrix_1 = timed_median(lambda: build_matrix(graph, stops, workers=1))
    scipy_s, scipy_cpu_s, matrix_scipy = timed_median(lambda: scipy_rows(graph, stops))
    assert isinstance(matrix, np.ndarray)
    assert isinstance(matrix_1, np.ndarray)
    assert isinstance(matrix_scipy, np.ndarray)
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
    identical = bool(
        np.array_equal(matrix[:done], rows)
        and np.array_equal(matrix, matrix_1)
        and np.array_equal(matrix, matrix_scipy)
    )
    return CaseResult(
        name=name,
        nodes=graph.n_nodes,
        stops=count,
        stops_from=stops_from,
        ours_s=ours_s,
        ours_cpu_s=ours_cpu_s,
        ours_1_s=ours_1_s,
        ours_1_cpu_s=ours_1_cpu_s,
        scipy_s=scipy_s,
        scipy_cpu_s=scipy_cpu_s,
        networkx_s=networkx_s,
        networkx_cpu_s=networkx_cpu_s,
        networkx_rows=done,
        identical=identical,
    )


def main() -> int:
    results: list[CaseResult] = []
    town = synthetic_town(rows=123, cols=123)
    wall = time.perf_counter()
    build_matrix(synthetic_town(rows=3, cols=3), [0, 1])
    first_call_s = time.perf_counter() - wall
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
    threads = os.cpu_count() or 1

    print("## Stop travel-time matrix: build_matrix vs scipy and networkx Dijkstra per stop\n")
    print(
        "Command: `.venv/bin/python benchmarks/run_all.py --only matrix` "
        "(script `benchmarks/bench_matrix.py`).\n"
    )
    print(
        "Inputs: synthetic town `synthetic_town(rows=123, cols=123)` (seed 7) and "
        "`../shared/data/osm/north-bayreuth.osm.bz2` (drivable, simplified, largest strongly "
        f"connected part). Stops picked with seed {SEED}. **Ours**: `routing.matrix.build_matrix` "
        "(`routing.dial`: Dial's bucket-queue search compiled by numba, integer seconds, each "
        "search stops once every stop is settled), median of "
        f"{REPEATS} runs, with its default of one thread per core ({threads} here) and with "
        "`workers=1`. Peers in the same run: **scipy**, `scipy.sparse.csgraph.dijkstra` from "
        f"every stop (64 sources a call, stop columns kept; median of {REPEATS}), which is what "
        "`build_matrix` itself used before; **networkx**, "
        "`networkx.single_source_dijkstra_path_length` from every stop on a `networkx.DiGraph` "
        "of the same compiled graph, run once. CPU s is `time.process_time` of this process "
        "(all its threads).\n"
    )
    print(
        "| case | road nodes | stops | ours, wall s | ours 1 thread, wall s | ours 1 thread, "
        "CPU s | scipy, wall s | networkx, wall s | networkx / ours, wall | scipy / ours 1 "
        "thread, CPU | networkx / ours 1 thread, CPU | identical |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in results:
        extrapolated = result.networkx_rows < result.stops
        mark = f" (extrapolated from {result.networkx_rows} rows)" if extrapolated else ""
        identical = "yes" if result.identical else "NO"
        if extrapolated:
            identical += f" (first {result.networkx_rows} rows vs networkx; all vs scipy)"
        print(
            f"| {result.name}, N={result.stops} | {result.nodes:,} | {result.stops_from} | "
            f"{result.ours_s:.3f} | {result.ours_1_s:.3f} | {result.ours_1_cpu_s:.3f} | "
            f"{result.scipy_s:.3f} | {result.networkx_s:.1f}{mark} | "
            f"{result.networkx_s / result.ours_s:.1f}x | "
            f"{result.scipy_cpu_s / result.ours_1_cpu_s:.1f}x | "
            f"{result.networkx_cpu_s / result.ours_1_cpu_s:.1f}x | {identical} |"
        )
    big = next(r for r in results if r.stops == 1000)
    ratio = big.networkx_s / big.ours_s
    print(
        "\nGoal (1,000 x 1,000 on ~15,000 nodes under 1 s wall and at least 20x networkx): "
        f"ours {big.ours_s:.3f} s wall ({big.ours_1_s:.3f} s on one thread) -> time goal "
        f"{'met' if big.ours_s < 1.0 else 'NOT met'}; {ratio:.1f}x networkx wall -> ratio goal "
        f"{'met' if ratio >= 20 else 'NOT met'}."
    )
    print(
        f"\nFirst call in this process (numba loads the compiled kernel from its cache, or "
        f"compiles it on a machine's first run): {first_call_s:.2f} s, not in the figures above."
    )
    print(
        f"\nLoad average while running (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} on {threads} cores. Other work on a shared machine stretches "
        "wall seconds on every side alike."
    )
    return 0 if all(r.identical for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
