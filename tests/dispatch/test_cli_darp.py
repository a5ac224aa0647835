"""``noriai darp``: JSON output with the checker's verdict, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``noriai`` in this process; returns (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("noriai: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_missing_instance_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["darp", str(tmp_path / "nope.txt"), "--time-limit", "1"], capsys)
    assert_one_line_error(code, err, "nope.txt")


def test_corrupt_instance_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("2 16 480 3\n0 0 0\n")
    code, _, err = run_cli(["darp", str(bad), "--time-limit", "1"], capsys)
    assert_one_line_error(code, err, "K n T Q L")


@pytest.mark.timeout(120)
def test_json_output_names_cost_feasibility_routes_and_gap(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_data / "darp" / "cordeau2006" / "instances" / "a2-16.txt"
    code, out, err = run_cli(["darp", str(path), "--time-limit", "2", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    for key in ("instance", "cost", "feasible", "vehicles_used", "routes", "seconds"):
        assert key in data
    assert data["instance"] == "a2-16"
    assert data["feasible"] is True
    visited = sorted(node for route in data["routes"] for node in route)
    assert visited == list(range(1, 33))  # 16 pickups and 16 drop-offs, depots left out
    assert data["bks"] == pytest.approx(294.25)  # bks.csv one folder up
    assert data["gap_percent"] == pytest.approx(100 * (data["cost"] - 294.25) / 294.25, abs=1e-3)
