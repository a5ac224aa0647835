"""The engine on the tiny synthetic scenario: determinism, replay, and invariants of the day."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import pytest

from simulations.eventlog import read_event_log, write_event_log
from simulations.kpis import compute_kpis, rider_outcomes
from simulations.replay import replay_event_log
from simulations.requestlog import read_request_log, write_request_log
from simulations.run import SimulationResult, run_scenario
from simulations.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "tiny.toml"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tiny_run() -> SimulationResult:
    return run_scenario(load_scenario(TINY))


def test_same_seed_gives_identical_event_log_and_kpis(tiny_run: SimulationResult) -> None:
    again = run_scenario(load_scenario(TINY))
    assert again.log.lines() == tiny_run.log.lines()
    assert again.kpis == tiny_run.kpis
    assert tiny_run.kpis["errors"] == 0


def test_another_seed_gives_another_day(tiny_run: SimulationResult) -> None:
    other = run_scenario(with_overrides(load_scenario(TINY), {"seed": 4}))
    assert other.log.lines() != tiny_run.log.lines()


def test_replaying_the_request_log_reproduces_the_day(
    tiny_run: SimulationResult, tmp_path: Path
) -> None:
    path = write_request_log(tmp_path / "requests.csv", tiny_run.requests)
    replayed = run_scenario(load_scenario(TINY), requests=read_request_log(path))
    assert replayed.log.lines() == tiny_run.log.lines()
    assert replayed.kpis == tiny_run.kpis


def test_replay_from_the_event_log_matches_and_detects_tampering(
    tiny_run: SimulationResult, tmp_path: Path
) -> None:
    path = write_event_log(tmp_path / "events.jsonl", tiny_run.log)
    assert read_event_log(path).records == json.loads(json.dumps(tiny_run.log.records))
    outcome = replay_event_log(path)
    assert outcome.matches, outcome.differences
    # Move one pickup by a second: the replay must notice.
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        record = json.loads(line)
        if record.get("type") == "pickup":
            record["t"] += 1
            lines[i] = json.dumps(record)
            break
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    outcome = replay_event_log(tampered)
    assert not outcome.matches
    assert any("first differing record" in line for line in outcome.differences)


def test_every_request_ends_somewhere_and_every_ride_is_consistent(
    tiny_run: SimulationResult,
) -> None:
    records = tiny_run.log.records
    outcomes = rider_outcomes(records)
    assert len(outcomes) == 40
    # Every request ends served, rejected, declined, cancelled or a no-show (none left open).
    assert set(outcomes.values()) <= {"served", "rejected", "declined", "cancelled", "no_show"}
    pickups = {r["id"]: r for r in records if r["type"] == "pickup"}
    dropoffs = {r["id"]: r for r in records if r["type"] == "dropoff"}
    assert pickups.keys() == dropoffs.keys()
    for rid, pickup in pickups.items():
        assert pickup["t"] >= pickup["ready_t"]  # never leaves before the rider is there
        assert dropoffs[rid]["t"] > pickup["t"]
        assert dropoffs[rid]["vehicle"] == pickup["vehicle"]


def test_vehicles_never_overlap_themselves_or_overfill(tiny_run: SimulationResult) -> None:
    scenario = tiny_run.scenario
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for record in tiny_run.log.records:
        if record["type"] in ("drive", "service", "wait"):
            assert record["t1"] >= record["t0"]
            spans[record["vehicle"]].append((record["t0"], record["t1"]))
        if record["type"] == "drive":
            assert 0 <= record["load"] <= scenario.fleet.seats
    for vehicle, intervals in spans.items():
        intervals.sort()
        for (_, end), (start, _) in itertools.pairwise(intervals):
            assert start >= end, f"{vehicle} does two things at once at {start}"


def test_kpis_in_the_summary_are_the_kpis_of_the_records(tiny_run: SimulationResult) -> None:
    assert tiny_run.log.summary["kpis"] == compute_kpis(tiny_run.log.records)
    assert tiny_run.kpis["served"] > 0


def test_a_re_optimized_day_replays_from_its_recorded_solver_answers(tmp_path: Path) -> None:
    scenario = with_overrides(load_scenario(TINY), {"policy": "insertion_reopt"})
    run = run_scenario(scenario)
    solves = [r for r in run.log.records if r["type"] == "reoptimize"]
    # 07:00 .. about 11:00 with a run every 600 s: a couple of dozen runs.
    assert len(solves) >= 10
    assert run.kpis["reoptimizations"] > 0
    path = write_event_log(tmp_path / "events.jsonl", run.log)
    outcome = replay_event_log(path)
    assert outcome.matches, outcome.differences


def test_a_scenario_pointing_at_the_request_log_reproduces_the_day(
    tiny_run: SimulationResult, tmp_path: Path
) -> None:
    path = write_request_log(tmp_path / "day.json", tiny_run.requests)
    scenario = with_overrides(load_scenario(TINY), {"demand.log": str(path)})
    assert scenario.demand.log == path
    assert run_scenario(scenario).log.lines() == tiny_run.log.lines()
