"""Replay a recorded day from its event log and check it reaches the same outcome.

The log's header holds the scenario and the day's requests; the replay runs them through the
same engine and Dispatcher and compares every record and every KPI. Re-optimization answers are
taken from the log's ``reoptimize`` records (with a wall-clock budget, or where the time cap
ended a search, solving again could find another answer; with the default solution limit it
finds the same); the Dispatcher still checks and applies them, so a change in dispatch code
still shows up as a difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulations.eventlog import EventLog, read_event_log
from simulations.run import SimulationResult, run_scenario, scenario_from_header

__all__ = ["ReplayOutcome", "compare_logs", "replay_event_log"]


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    """Whether a replay matched, and how it differed when not.

    Attributes
    ----------
    matches : bool
        True when every record and every KPI is identical.
    differences : tuple of str
        Human lines: record counts, the first differing record, differing KPIs.
    result : SimulationResult
        The replayed run.
    """

    matches: bool
    differences: tuple[str, ...]
    result: SimulationResult


def _canonical(record: Any) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def compare_logs(recorded: EventLog, replayed: EventLog) -> list[str]:
    """Difference lines between two logs' records and KPIs (empty when identical)."""
    differences: list[str] = []
    old = [_canonical(r) for r in recorded.records]
    new = [_canonical(r) for r in replayed.records]
    if len(old) != len(new):
        differences.append(f"records: {len(old)} recorded, {len(new)} replayed")
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            differences.append(f"first differing record #{index + 1}:")
            differences.append(f"  recorded: {_shorten(a)}")
            differences.append(f"  replayed: {_shorten(b)}")
            break
    old_kpis = recorded.summary.get("kpis", {})
    new_kpis = json.loads(_canonical(replayed.summary.get("kpis", {})))
    for key in sorted(set(old_kpis) | set(new_kpis)):
        if _canonical(old_kpis.get(key)) != _canonical(new_kpis.get(key)):
            differences.append(
                f"KPI {key}: recorded {old_kpis.get(key)!r}, replayed {new_kpis.get(key)!r}"
            )
    return differences


def replay_event_log(path: Path | str) -> ReplayOutcome:
    """Re-run the day recorded in ``path`` and compare.

    Raises
    ------
    SimulationError
        When the file is not an event log (ScenarioError when its scenario no longer loads).
    """
    recorded = read_event_log(path)
    scenario, requests = scenario_from_header(recorded.header)
    solutions = {int(r["t"]): r for r in recorded.records if r.get("type") == "reoptimize"}
    result = run_scenario(scenario, requests=requests, recorded_solutions=solutions)
    differences = compare_logs(recorded, result.log)
    return ReplayOutcome(matches=not differences, differences=tuple(differences), result=result)
