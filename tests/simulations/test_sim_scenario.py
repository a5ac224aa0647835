"""Scenario files: the examples load, bad values name their key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.errors import ScenarioError
from simulations.scenario import (
    load_scenario,
    parse_clock,
    parse_override,
    scenario_from_mapping,
    with_overrides,
)

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def _minimal(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"map": {"synthetic": {"rows": 5, "cols": 5}}}
    data.update(changes)
    return data


@pytest.mark.parametrize("name", ["aizu-town", "minato-mountain", "tiny"])
def test_example_scenarios_load(name: str) -> None:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario.name == name
    assert scenario.fleet.shift_end > scenario.fleet.shift_start


def test_minato_is_door_to_door_on_the_andorra_stand_in() -> None:
    scenario = load_scenario(SCENARIOS / "minato-mountain.toml")
    assert scenario.stops.door_to_door is True
    assert scenario.map.osm_path is not None
    assert scenario.map.osm_path.name == "andorra.osm.bz2"


def test_clock_times_become_seconds_since_midnight() -> None:
    assert parse_clock("07:00", key="k") == 25200  # 7 * 3600
    assert parse_clock("07:00:30", key="k") == 25230
    assert parse_clock("25:30", key="k") == 91800  # past midnight: 25.5 h
    with pytest.raises(ScenarioError, match=r"fleet\.shift_start"):
        parse_clock("7 o'clock", key="fleet.shift_start")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_minimal(policy="greedy"), "policy = 'greedy': allowed"),
        (_minimal(fleet={"vehicles": 0}), "fleet.vehicles = 0: must be >= 1"),
        (_minimal(fleet={"vehicles": "six"}), "fleet.vehicles = 'six': must be a whole number"),
        (_minimal(fleet={"shift_start": "18:00", "shift_end": "07:00"}), "fleet.shift_end"),
        (_minimal(riders={"no_show_rate": 1.5}), "riders.no_show_rate = 1.5: must be >= 0.0"),
        (_minimal(demand={"group_sizes": [0.5, 0.2]}), "demand.group_sizes"),
        (_minimal(service={"max_walk": 300}), "unknown service rule"),
        (_minimal(service={"max_walk_m": "far"}), "service.max_walk_m"),
        (_minimal(service={"pooling": False}), "set by the policy"),
        (_minimal(fleet={"bus": 3}), "unknown key(s) ['fleet.bus']"),
        ({"map": {}}, "[map] needs exactly one of"),
        (_minimal(seed=-1), "seed = -1: must be >= 0"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(data: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_mapping(data, base_dir=Path("."))
    assert message in str(caught.value)


def test_missing_and_malformed_files_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(bad)


def test_policy_switches_pooling_and_reoptimization() -> None:
    base = scenario_from_mapping(_minimal(reoptimize_interval_s=450), base_dir=Path("."))
    assert base.dispatch_params().reoptimize_interval_s == 450
    no_pool = with_overrides(base, {"policy": "no_pooling"}).dispatch_params()
    assert (no_pool.pooling, no_pool.reoptimize_interval_s) == (False, 0)
    insertion = with_overrides(base, {"policy": "insertion"}).dispatch_params()
    assert (insertion.pooling, insertion.reoptimize_interval_s) == (True, 0)


def test_overrides_parse_as_toml_literals_and_revalidate() -> None:
    assert parse_override("fleet.vehicles=4,6,8") == ("fleet.vehicles", [4, 6, 8])
    assert parse_override("policy=insertion,no_pooling") == ("policy", ["insertion", "no_pooling"])
    assert parse_override("riders.no_show_rate=0.1") == ("riders.no_show_rate", [0.1])
    with pytest.raises(ScenarioError, match="KEY=V1,V2"):
        parse_override("fleet.vehicles")
    base = scenario_from_mapping(_minimal(), base_dir=Path("."))
    assert with_overrides(base, {"fleet.vehicles": 6}).fleet.vehicles == 6
    assert base.fleet.vehicles == 4  # the original is unchanged
    with pytest.raises(ScenarioError, match=r"fleet\.vehicles = -2"):
        with_overrides(base, {"fleet.vehicles": -2})
