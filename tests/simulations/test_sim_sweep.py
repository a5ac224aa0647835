"""A sweep of four tiny scenarios on a Dask LocalCluster (two worker processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.scenario import load_scenario
from simulations.sweep import grid, run_sweep, write_sweep

ROOT = Path(__file__).resolve().parents[2]


def test_grid_varies_the_first_key_slowest() -> None:
    cells = grid([("fleet.vehicles", [2, 3]), ("policy", ["insertion", "no_pooling"])])
    assert cells == [
        {"fleet.vehicles": 2, "policy": "insertion"},
        {"fleet.vehicles": 2, "policy": "no_pooling"},
        {"fleet.vehicles": 3, "policy": "insertion"},
        {"fleet.vehicles": 3, "policy": "no_pooling"},
    ]


@pytest.mark.timeout(180)
def test_four_scenarios_run_on_a_local_cluster(tmp_path: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "tiny.toml")
    vary = [("fleet.vehicles", [1, 3]), ("demand.requests", [10, 20])]
    result = run_sweep(scenario, vary)
    assert [(r["fleet.vehicles"], r["demand.requests"]) for r in result.rows] == [
        (1, 10),
        (1, 20),
        (3, 10),
        (3, 20),
    ]
    for row in result.rows:
        assert row["requests"] == row["demand.requests"]
        assert row["errors"] == 0
        assert 0.0 <= row["served_share"] <= 1.0
    paths = write_sweep(result, tmp_path)
    csv_lines = paths["csv"].read_text().splitlines()
    assert csv_lines[0].startswith("fleet.vehicles,demand.requests,requests,served_share")
    assert len(csv_lines) == 5
    assert paths["markdown"].read_text().count("\n") == 6  # header, rule, four rows
    assert paths["plot"].stat().st_size > 0
