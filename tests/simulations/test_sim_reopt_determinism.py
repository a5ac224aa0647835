"""Re-optimized days repeat: the solver's deterministic budget (a solution limit) on ``tiny``.

Each run here solves again (no recorded solver answers are passed), so equal logs mean the
OR-Tools search itself gave the same answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.requestlog import write_request_log
from simulations.run import SimulationResult, run_scenario
from simulations.scenario import SIMULATION_SOLUTION_LIMIT, load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "tiny.toml"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def reopt_run() -> SimulationResult:
    scenario = with_overrides(load_scenario(TINY), {"policy": "insertion_reopt"})
    return run_scenario(scenario)


def test_tiny_uses_a_solution_limit(reopt_run: SimulationResult) -> None:
    params = reopt_run.scenario.dispatch_params()
    assert params.reoptimize_solution_limit > 0
    assert params.reoptimize_interval_s == 600


def test_a_scenario_without_the_key_gets_the_simulation_default(tmp_path: Path) -> None:
    text = TINY.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "reoptimize_solution_limit" not in line]
    path = tmp_path / "no-limit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_scenario(path).service.reoptimize_solution_limit == SIMULATION_SOLUTION_LIMIT
    zero = with_overrides(load_scenario(path), {"service.reoptimize_solution_limit": 0})
    assert zero.service.reoptimize_solution_limit == 0


def test_same_seed_re_optimized_twice_gives_the_same_log_and_kpis(
    reopt_run: SimulationResult,
) -> None:
    # The check must be able to fail: the solver's answers were adopted and changed plans.
    assert reopt_run.kpis["reoptimizations_adopted"] >= 1
    again = run_scenario(reopt_run.scenario)
    assert again.log.lines() == reopt_run.log.lines()
    assert again.kpis == reopt_run.kpis


def test_replaying_the_request_log_of_a_re_optimized_day_solves_to_the_same_day(
    reopt_run: SimulationResult, tmp_path: Path
) -> None:
    path = write_request_log(tmp_path / "requests.csv", reopt_run.requests)
    scenario = with_overrides(reopt_run.scenario, {"demand.log": str(path)})
    replayed = run_scenario(scenario)
    assert replayed.log.lines() == reopt_run.log.lines()
    assert replayed.kpis == reopt_run.kpis
