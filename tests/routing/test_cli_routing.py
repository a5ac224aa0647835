"""``noriai graph info`` and ``noriai matrix``: output, JSON, cache use and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``noriai`` in this process; returns (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("noriai: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in err


def test_graph_info_without_a_map_uses_the_synthetic_town(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["graph", "info"], capsys)
    assert code == 0
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert "synthetic town seed=7" in lines["map"]
    assert "no --osm or --place" in lines["map"]
    assert lines["nodes"] == lines["strongly connected nodes"]
    assert int(lines["nodes"]) > 800
    assert float(lines["road km"]) > 100  # 30 x 30 grid of 120 m blocks: about 200 km
    assert lines["cache used"].startswith("no")


@pytest.mark.timeout(120)
def test_graph_info_json_says_when_the_cache_was_used(
    osm_path: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["graph", "info", "--osm", str(osm_path("monaco")), "--cache-dir", str(tmp_path)]
    code, out, _ = run_cli([*argv, "--json"], capsys)
    first = json.loads(out)
    code2, out2, _ = run_cli([*argv, "--json"], capsys)
    second = json.loads(out2)
    assert (code, code2) == (0, 0)
    assert (first["from_cache"], second["from_cache"]) == (False, True)
    assert first["nodes"] == second["nodes"] == second["strongly_connected_nodes"]
    assert first["edges"] == second["edges"]
    assert first["source"] == "monaco.osm.bz2"
    assert "from cache" in second["map"]
    code3, text, _ = run_cli(argv, capsys)
    assert code3 == 0
    assert "cache used: yes" in text


def test_matrix_over_generated_stops_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["matrix", "--stops", "30", "--seed", "3", "--json"], capsys)
    first = json.loads(out)
    _, out2, _ = run_cli(["matrix", "--stops", "30", "--seed", "3", "--json"], capsys)
    _, out3, _ = run_cli(["matrix", "--stops", "30", "--seed", "4", "--json"], capsys)
    assert code == 0
    assert first["stops"] == 30
    assert "generated virtual stops" in first["stops_from"]
    assert len(first["checksum"]) == 16
    assert first["checksum"] == json.loads(out2)["checksum"]
    assert first["checksum"] != json.loads(out3)["checksum"]
    assert first["max_travel_s"] > first["mean_travel_s"] > 0


def test_matrix_text_output_names_the_time_and_checksum(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["matrix", "--stops", "10"], capsys)
    assert code == 0
    assert "matrix: 10 x 10 built in" in out
    assert "checksum: " in out
    assert "map: synthetic town" in out


def test_missing_map_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["graph", "info", "--osm", str(tmp_path / "none.osm")], capsys)
    assert_one_line_error(code, err, "does not exist")


def test_corrupt_map_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.osm.bz2"
    path.write_bytes(b"BZh9 definitely not bzip2")
    code, _, err = run_cli(["matrix", "--osm", str(path), "--stops", "5"], capsys)
    assert_one_line_error(code, err, "not readable OSM XML")


def test_unknown_place_offline_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NORIAI_OFFLINE", "1")
    code, _, err = run_cli(["graph", "info", "--place", "Nowhere, Atlantis"], capsys)
    assert_one_line_error(code, err, "Nowhere, Atlantis", "offline")


@pytest.mark.parametrize(
    ("stops", "fragment"),
    [("0", "at least 1"), ("-3", "at least 1"), ("100000", "more than the")],
)
def test_bad_stop_count_is_one_line_and_exit_2(
    stops: str, fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["matrix", "--stops", stops], capsys)
    assert_one_line_error(code, err, fragment)


def test_more_stops_than_fit_says_how_many_fit(capsys: pytest.CaptureFixture[str]) -> None:
    # The 30 x 30 town has about 900 nodes but only a few hundred stops at 250 m.
    code, _, err = run_cli(["matrix", "--stops", "800"], capsys)
    assert_one_line_error(code, err, "virtual stops fit at 250 m")


def test_file_and_place_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["graph", "info", "--osm", "x.osm", "--place", "Aizu"], capsys)
    assert_one_line_error(code, err, "not both")


@pytest.mark.timeout(60)
def test_installed_command_reports_a_missing_file_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "NORIAI_CACHE_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "graph", "info", "--osm", str(tmp_path / "x.osm")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert_one_line_error(proc.returncode, proc.stderr, "does not exist")
