"""``noriai stops generate`` and ``noriai route``: output, files and exit codes (in-process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI like the console script; return (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_writes_geojson_and_reports_the_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stops.geojson"
    code, stdout, stderr = run(
        ["stops", "generate", "--spacing", "300", "--out", str(out), "--json"], capsys
    )
    assert code == 0, stderr
    assert "synthetic town" in stderr
    report = json.loads(stdout)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert report["stops"] == len(document["features"]) > 0
    assert report["file"] == str(out)
    assert "OpenStreetMap" in document["attribution"]


def test_route_prints_osrm_json_on_the_synthetic_town(capsys: pytest.CaptureFixture[str]) -> None:
    from routing.synthetic import synthetic_town

    town = synthetic_town()
    start = f"{town.node_lat[0]},{town.node_lon[0]}"
    end = f"{town.node_lat[-1]},{town.node_lon[-1]}"
    code, stdout, stderr = run(["route", "--from", start, "--to", end, "--lang", "en"], capsys)
    assert code == 0, stderr
    response = json.loads(stdout)
    assert response["code"] == "Ok"
    route = response["routes"][0]
    steps = route["legs"][0]["steps"]
    assert route["distance"] == sum(step["distance"] for step in steps) > 0
    assert steps[-1]["instruction"] == "You have arrived at your destination"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["route", "--from", "35.0", "--to", "35.0,139.0"], "--from '35.0' is not LAT,LON"),
        (["route", "--from", "35.0,139.0", "--to", "x,y"], "--to 'x,y' is not LAT,LON"),
        (["route", "--from", "1,1", "--to", "2,2", "--lang", "fr"], "--lang 'fr'"),
        (["route", "--from", "10,10", "--to", "37.49,139.93"], "--from: point 10.000000,10.000000"),
        (["stops", "generate", "--spacing", "0"], "--spacing 0 is out of range"),
        (["route", "--from", "1,1", "--to", "2,2", "--osm", "/nowhere/x.osm"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, stderr = run(argv, capsys)
    assert code == 2
    assert stdout == ""
    errors = [line for line in stderr.splitlines() if line.startswith("noriai: error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert "Traceback" not in stderr
