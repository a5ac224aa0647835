"""``noriai simulate | replay | sweep | demo`` end to end on the tiny scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "scenarios" / "tiny.toml"

pytestmark = pytest.mark.timeout(180)


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_simulate_json_writes_logs_and_report_then_replay_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report"
    code = _run(["simulate", str(TINY), "--json", "--report", str(report), "--seed", "5"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 5
    assert out["kpis"]["requests"] == 40
    assert out["kpis"]["errors"] == 0
    html = Path(out["report"]).read_text()
    assert html.count("data:image/png;base64,") == 3  # distributions, timelines, map
    assert Path(out["request_log"]).read_text().startswith("id,request_time,")
    assert _run(["replay", out["event_log"]]) == 0
    assert "replay matches" in capsys.readouterr().out


def test_replay_of_a_changed_log_exits_1_with_a_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["simulate", str(TINY), "--json", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    path = tmp_path / "events.jsonl"
    lines = path.read_text().splitlines()
    summary = json.loads(lines[-1])
    summary["kpis"]["served"] += 1
    lines[-1] = json.dumps(summary)
    path.write_text("\n".join(lines) + "\n")
    assert _run(["replay", str(path)]) == 1
    assert "KPI served: recorded" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "missing.toml"], "does not exist"),
        (["simulate", str(TINY), "--policy", "fastest"], "--policy 'fastest': allowed"),
        (["sweep", str(TINY), "--vary", "fleet.vehicles"], "KEY=V1,V2"),
        (["sweep", str(TINY), "--vary", "fleet.vehicles=0,2"], "fleet.vehicles = 0"),
        (["replay", "nothing.jsonl"], "does not exist"),
    ],
)
def test_bad_input_is_one_stderr_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]


def test_a_day_simulated_in_another_process_replays_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another interpreter with a fixed string-hash seed: set or dict order must not leak into
    # the outcome (this process uses its own random hash seed).
    import os
    import subprocess
    import sys

    noriai = Path(sys.executable).with_name("noriai")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [str(noriai), "simulate", str(TINY), "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert _run(["replay", str(tmp_path / "events.jsonl")]) == 0
    assert "replay matches" in capsys.readouterr().out


def test_demo_names_its_map_and_prints_kpis_and_report_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real demo runs scenarios/aizu-town.toml (about a minute); the tiny day shows the same.
    report = tmp_path / "demo"
    assert _run(["demo", "--scenario", str(TINY), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "synthetic town 12x12" in out
    assert "served share" in out
    assert f"report: {report / 'index.html'}" in out
    assert (report / "index.html").is_file()
