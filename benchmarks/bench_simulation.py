"""Benchmark: a simulated day of 1,000 requests and 20 vehicles on north-bayreuth, three policies.

Prints one Markdown section: wall time of the day, simulated requests per second, and per
policy (no pooling, insertion only, insertion + re-optimization) the served share and the
vehicle-hours per served rider, with the ratio against no pooling measured in the same run.

Goals (issue 7): the day in at most 60 s; insertion + re-optimization at least 10% fewer
vehicle-hours per served rider than no pooling at an equal or higher served share.

Usage: ``python benchmarks/bench_simulation.py`` (or ``python benchmarks/run_all.py --only
simulation``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import shared_data_dir

from simulations.policies import POLICIES, POLICY_LABELS
from simulations.run import run_scenario
from simulations.scenario import scenario_from_mapping, with_overrides
from simulations.world import build_world

REQUESTS = 1000
VEHICLES = 20
SEED = 7
REOPT_LIMIT_S = 0.25


def scenario_mapping(osm: Path) -> dict[str, Any]:
    """The benchmark scenario (also printed in the section, so it can be re-run)."""
    return {
        "name": "bench-north-bayreuth",
        "seed": SEED,
        "policy": "insertion_reopt",
        "reoptimize_interval_s": 600,
        "map": {"osm": str(osm)},
        "stops": {"spacing_m": 200},
        "fleet": {
            "vehicles": VEHICLES,
            "seats": 8,
            "wheelchair_places": 1,
            "shift_start": "07:00",
            "shift_end": "19:00",
        },
        "service": {"max_walk_m": 400, "reoptimize_time_limit_s": REOPT_LIMIT_S},
        "demand": {
            "requests": REQUESTS,
            "peak": "09:30",
            "peak_spread_s": 3600,
            "lead_min_s": 1800,
            "lead_max_s": 10800,
        },
        "riders": {"no_show_rate": 0.03, "cancel_rate": 0.05, "decline_rate": 0.05},
    }


def main() -> int:
    osm = shared_data_dir() / "osm" / "north-bayreuth.osm.bz2"
    if not osm.is_file():
        print(f"north-bayreuth extract missing at {osm}; set NORIAI_SHARED_DATA", file=sys.stderr)
        return 1
    base = scenario_from_mapping(scenario_mapping(osm), base_dir=Path.cwd())
    started = time.perf_counter()
    world = build_world(base)
    world_s = time.perf_counter() - started
    results = {}
    for policy in POLICIES:
        scenario = with_overrides(base, {"policy": policy})
        results[policy] = run_scenario(scenario, world=world)
        print(f"[bench simulation] {policy}: {results[policy].wall_seconds:.1f} s", file=sys.stderr)

    reference = results["no_pooling"].kpis
    main_run = results["insertion_reopt"]
    lines = [
        "## Simulation: a day of 1,000 requests and 20 vehicles on north-bayreuth",
        "",
        "Command: `python benchmarks/bench_simulation.py` "
        "(or `python benchmarks/run_all.py --only simulation`).",
        "",
        f"Inputs: {world.map_description}; {len(world.stops)} virtual stops (200 m spacing); "
        f"{VEHICLES} vehicles (8 seats, 1 wheelchair place, 07:00-19:00, one central depot); "
        f"{REQUESTS} generated requests (seed {SEED}; 75% arrive-by peaking at 09:30); "
        "3% no-shows, 5% cancellations, 5% declined offers; re-optimization every 600 s, "
        f"each search stopped after {base.service.reoptimize_solution_limit} OR-Tools solutions "
        f"(deterministic; wall-clock cap {REOPT_LIMIT_S} s x 10). World built once in "
        f"{world_s:.1f} s (map, stops, matrix), not counted in the day.",
        "",
        "| policy | wall time of the day (s) | simulated requests / s | served share | "
        "vehicle-hours | vehicle-hours per served rider | vs no pooling | pooled share | "
        "mean pickup wait (s) | re-optimizations run / adopted / solver failed | failed events |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for policy in POLICIES:
        result = results[policy]
        k = result.kpis
        vh = k["vehicle_hours_per_served_rider"]
        ref = reference["vehicle_hours_per_served_rider"]
        ratio = f"{vh / ref:.2f}x" if vh and ref else "-"
        lines.append(
            f"| {POLICY_LABELS[policy]} | {result.wall_seconds:.1f} | "
            f"{REQUESTS / result.wall_seconds:.0f} | {100 * (k['served_share'] or 0):.1f} % | "
            f"{k['vehicle_hours']:.1f} | {vh:.4f} | {ratio} | "
            f"{100 * (k['pooled_share'] or 0):.1f} % | {k['wait_mean_s'] or 0:.0f} | "
            f"{k['reoptimizations']} / {k['reoptimizations_adopted']} / "
            f"{k['reoptimizations_failed']} | {k['errors']} |"
        )
    k_main = main_run.kpis
    saving = (
        1 - k_main["vehicle_hours_per_served_rider"] / reference["vehicle_hours_per_served_rider"]
    )
    share_ok = k_main["served_share"] >= reference["served_share"]
    lines += [
        "",
        f"Goal 1, the day (insertion + re-optimization) in at most 60 s: "
        f"{main_run.wall_seconds:.1f} s, {'met' if main_run.wall_seconds <= 60 else 'NOT met'}.",
        "",
        f"Goal 2, at least 10% fewer vehicle-hours per served rider than no pooling at an equal "
        f"or higher served share: {100 * saving:.1f}% fewer, served share "
        f"{100 * k_main['served_share']:.1f}% vs {100 * reference['served_share']:.1f}%: "
        f"{'met' if saving >= 0.10 and share_ok else 'NOT met'}.",
        "",
        "Vehicle-hours count time spent driving, boarding/alighting and waiting at stops for "
        "riders; parked time between jobs is not counted. Served rider = a passenger of a "
        "completed request.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
