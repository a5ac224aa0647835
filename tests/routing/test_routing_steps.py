"""Turn-by-turn steps on hand-built graphs whose angles can be checked on paper."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from graph_builders import Road, build_graph, grid_graph, real_graph
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.graph import RoadGraph
from routing.paths import path_from_nodes, shortest_path
from routing.steps import modifier_for_turn, multi_stop_route, route_response
from routing.synthetic import synthetic_town

# Two parallel east-west streets 200 m apart, crossed by Oak Avenue (x = 200):
#
#   y=400                      H
#                              |
#   y=200   F ---- Pine St --- D ---- Pine St ---- G
#                              |
#   y=0     A --- Main St ---- B ---- Main St ---- C
#                              |
#   y=-200                     E
#           x=0               x=200               x=400
#
# Both B and D are four-way crossings, so every turn there is a real choice.
A, B, C, D, E, F, G, H = range(8)
CROSSINGS_NODES = [(0, 0), (200, 0), (400, 0), (200, 200), (200, -200), (0, 200), (400, 200)]
CROSSINGS_NODES.append((200, 400))
CROSSINGS_ROADS = [
    Road(A, B, name="Main Street"),
    Road(B, C, name="Main Street"),
    Road(E, B, name="Oak Avenue"),
    Road(B, D, name="Oak Avenue"),
    Road(D, H, name="Oak Avenue"),
    Road(F, D, name="Pine Street"),
    Road(D, G, name="Pine Street"),
]


@pytest.fixture(scope="module")
def crossings() -> RoadGraph:
    return build_graph(CROSSINGS_NODES, CROSSINGS_ROADS)


def maneuvers(response: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, modifier, name) of every step of the first leg."""
    steps = response["routes"][0]["legs"][0]["steps"]
    return [(s["maneuver"]["type"], s["maneuver"].get("modifier", ""), s["name"]) for s in steps]


def test_left_then_right_says_depart_turn_left_turn_right_arrive(crossings: RoadGraph) -> None:
    # A -> B heads east (bearing 90). At B, north up Oak Avenue: 90 -> 0 is -90 degrees, a
    # left turn (40..120 band). At D, east on Pine Street: 0 -> 90 is +90, a right turn.
    path = path_from_nodes(crossings, [A, B, D, G])
    response = route_response(crossings, path, lang="en")
    assert maneuvers(response) == [
        ("depart", "", "Main Street"),
        ("turn", "left", "Oak Avenue"),
        ("turn", "right", "Pine Street"),
        ("arrive", "", "Pine Street"),
    ]
    steps = response["routes"][0]["legs"][0]["steps"]
    assert [s["distance"] for s in steps] == [200, 200, 200, 0]
    assert [s["maneuver"]["bearing_before"] for s in steps[1:3]] == [90, 0]
    assert [s["maneuver"]["bearing_after"] for s in steps[1:3]] == [0, 90]
    assert [s["instruction"] for s in steps] == [
        "Head east on Main Street",
        "Turn left onto Oak Avenue",
        "Turn right onto Pine Street",
        "You have arrived at your destination",
    ]


def test_japanese_instructions_name_the_streets(crossings: RoadGraph) -> None:
    path = path_from_nodes(crossings, [A, B, D, G])
    steps = route_response(crossings, path, lang="ja")["routes"][0]["legs"][0]["steps"]
    assert [s["instruction"] for s in steps] == [
        "東へMain Streetを進みます",
        "左折して、Oak Avenueに入ります",
        "右折して、Pine Streetに入ります",
        "目的地に到着しました",
    ]


def test_route_totals_equal_step_sums_and_path(crossings: RoadGraph) -> None:
    path = shortest_path(crossings, A, G)
    route = route_response(crossings, path)["routes"][0]
    steps = route["legs"][0]["steps"]
    # A (0, 0) -> G (400, 200): 400 m east + 200 m north = 600 m; 36 km/h = 10 m/s, 20 s
    # per 200 m edge => 60 s.
    assert route["distance"] == path.metres == sum(s["distance"] for s in steps) == 600
    assert route["duration"] == path.seconds == sum(s["duration"] for s in steps) == 60


def test_same_street_straight_through_a_crossing_is_one_step(crossings: RoadGraph) -> None:
    # A -> B -> C stays on Main Street going straight: depart and arrive only.
    response = route_response(crossings, path_from_nodes(crossings, [A, B, C]), lang="en")
    assert maneuvers(response) == [("depart", "", "Main Street"), ("arrive", "", "Main Street")]
    assert response["routes"][0]["legs"][0]["steps"][0]["distance"] == 400


def test_name_change_going_straight_is_new_name() -> None:
    # West -> east: Elm Road (0..200) becomes Birch Road (200..400); a side street at x=200.
    graph = build_graph(
        [(0, 0), (200, 0), (400, 0), (200, 150)],
        [Road(0, 1, name="Elm Road"), Road(1, 2, name="Birch Road"), Road(1, 3, name="Side")],
    )
    response = route_response(graph, path_from_nodes(graph, [0, 1, 2]), lang="en")
    assert maneuvers(response)[1] == ("new name", "straight", "Birch Road")


def test_t_junction_is_end_of_road() -> None:
    # Stem runs north to a T at (0, 200); the crossbar runs west-east. Turning right (east).
    graph = build_graph(
        [(0, 0), (0, 200), (-200, 200), (200, 200)],
        [Road(0, 1, name="Stem Lane"), Road(2, 1, name="Bar Road"), Road(1, 3, name="Bar Road")],
    )
    response = route_response(graph, path_from_nodes(graph, [0, 1, 3]), lang="en")
    assert maneuvers(response)[1] == ("end of road", "right", "Bar Road")
    assert response["routes"][0]["legs"][0]["steps"][1]["instruction"] == (
        "At the end of the road, turn right onto Bar Road"
    )


def test_bearing_comes_from_first_segment_of_curved_edge() -> None:
    # From B (100, 0) the curved road first heads to (130, 52): atan2(30 east, 52 north)
    # = 30 degrees (slight right of north), then bends east to X (300, 100). The chord
    # B -> X points at atan2(200, 100) = 63 degrees, which would say "right" instead.
    graph = build_graph(
        [(0, -200), (0, 0), (300, 100), (0, 200)],
        [
            Road(0, 1, name="North Road"),
            Road(1, 3, name="North Road"),
            Road(1, 2, name="Curve Lane", via=[(30, 52)]),
        ],
    )
    response = route_response(graph, path_from_nodes(graph, [0, 1, 2]), lang="en")
    step = response["routes"][0]["legs"][0]["steps"][1]
    assert step["maneuver"]["bearing_after"] == 30
    assert step["maneuver"]["modifier"] == "slight right"
    assert step["geometry"]["coordinates"][1] != step["geometry"]["coordinates"][-1]


def test_short_connector_is_merged_into_one_maneuver() -> None:
    # East on Long Road to J (200, 0); a 20 m jog north to K (200, 20) on Jog Lane; then
    # east on Long Road again. Both turns (left 90, right 90) cancel: the 20 m step is
    # merged and the heading change overall is straight, same street => one step.
    graph = build_graph(
        [(0, 0), (200, 0), (200, 20), (400, 20), (200, -100), (200, 200)],
        [
            Road(0, 1, name="Long Road"),
            Road(1, 2, name="Jog Lane"),
            Road(2, 3, name="Long Road"),
            Road(1, 4, name="South Spur"),
            Road(2, 5, name="North Spur"),
        ],
    )
    response = route_response(graph, path_from_nodes(graph, [0, 1, 2, 3]), lang="en")
    assert maneuvers(response) == [("depart", "", "Long Road"), ("arrive", "", "Long Road")]
    assert response["routes"][0]["legs"][0]["steps"][0]["distance"] == 200 + 20 + 200


def test_uturn_back_along_the_same_street(crossings: RoadGraph) -> None:
    response = route_response(crossings, path_from_nodes(crossings, [A, B, A]), lang="en")
    assert maneuvers(response)[1] == ("continue", "uturn", "Main Street")


def test_roundabout_step_counts_exits() -> None:
    # A square "roundabout" (one-way, counter-clockwise) with corners R0 (0,0), R1 (60,0),
    # R2 (60,60), R3 (0,60); entry road from the south to R0, exits at R1 (east), R2 (north).
    # Entering at R0 and leaving at R2 passes R1's exit first: the 2nd exit.
    roundabout = RoadGraph.FLAG_JUNCTION
    graph = build_graph(
        [(0, 0), (60, 0), (60, 60), (0, 60), (0, -200), (260, 0), (60, 260)],
        [
            Road(0, 1, name="Circle", flags=roundabout, oneway=True),
            Road(1, 2, name="Circle", flags=roundabout, oneway=True),
            Road(2, 3, name="Circle", flags=roundabout, oneway=True),
            Road(3, 0, name="Circle", flags=roundabout, oneway=True),
            Road(4, 0, name="South Road"),
            Road(1, 5, name="East Road"),
            Road(2, 6, name="North Road"),
        ],
    )
    response = route_response(graph, path_from_nodes(graph, [4, 0, 1, 2, 6]), lang="en")
    steps = response["routes"][0]["legs"][0]["steps"]
    assert [s["maneuver"]["type"] for s in steps] == ["depart", "roundabout", "arrive"]
    assert steps[1]["maneuver"]["exit"] == 2
    assert steps[1]["name"] == "North Road"
    assert steps[1]["instruction"] == "Enter the roundabout and take the 2nd exit onto North Road"


def test_multi_stop_route_has_one_leg_per_pair(crossings: RoadGraph) -> None:
    response = multi_stop_route(crossings, [A, C, G], lang="en")
    route = response["routes"][0]
    assert len(route["legs"]) == 2
    # A -> C along Main Street: 400 m. C -> G has no direct road: back to B (200), up Oak
    # Avenue to D (200), east to G (200) = 600 m.
    assert [leg["distance"] for leg in route["legs"]] == [400, 600]
    assert route["distance"] == 1000
    assert route["legs"][0]["steps"][-1]["instruction"] == "You have arrived at stop 1"
    assert route["legs"][1]["steps"][-1]["instruction"] == "You have arrived at your destination"
    assert len(response["waypoints"]) == 3


def test_zero_length_route_departs_and_arrives_in_place(crossings: RoadGraph) -> None:
    response = route_response(crossings, shortest_path(crossings, B, B))
    steps = response["routes"][0]["legs"][0]["steps"]
    assert [s["maneuver"]["type"] for s in steps] == ["depart", "arrive"]
    assert response["routes"][0]["distance"] == 0


def test_unknown_language_is_rejected(crossings: RoadGraph) -> None:
    with pytest.raises(ValueError, match="unknown language"):
        route_response(crossings, shortest_path(crossings, A, C), lang="fr")


@pytest.mark.parametrize(
    ("turn", "modifier"),
    [
        (0, "straight"),
        (20, "straight"),
        (-25, "slight left"),
        (40, "slight right"),
        (90, "right"),
        (-120, "left"),
        (150, "sharp right"),
        (-179.5, "uturn"),
    ],
)
def test_angle_bands(turn: float, modifier: str) -> None:
    assert modifier_for_turn(turn) == modifier


@pytest.mark.timeout(180)
@pytest.mark.parametrize("extract", ["krems", "north-bayreuth", "andorra", "monaco"])
def test_step_distances_add_up_on_real_extracts(osm_path, extract: str) -> None:  # type: ignore[no-untyped-def]
    graph = real_graph(osm_path(extract))
    rng = np.random.default_rng(11)
    for origin, destination in rng.integers(0, graph.n_nodes, size=(12, 2)).tolist():
        response = route_response(graph, shortest_path(graph, origin, destination), lang="ja")
        route = response["routes"][0]
        steps = route["legs"][0]["steps"]
        assert abs(sum(s["distance"] for s in steps) - route["distance"]) <= 1
        assert sum(s["duration"] for s in steps) == route["duration"]
        assert steps[0]["maneuver"]["type"] == "depart"
        assert steps[-1]["maneuver"]["type"] == "arrive"
        assert all(s["instruction"] for s in steps)
        assert all(0 <= s["maneuver"]["bearing_after"] <= 359 for s in steps)
        # Only depart, arrive and roundabouts may be shorter than 30 m after merging.
        inner = [s for s in steps[1:-1] if s["maneuver"]["type"] != "roundabout"]
        assert all(s["distance"] >= 30 for s in inner)


def test_synthetic_town_route_has_named_steps() -> None:
    town = synthetic_town(rows=8, cols=8)
    path = shortest_path(town, 0, town.n_nodes - 1)
    response = route_response(town, path, lang="en")
    steps = response["routes"][0]["legs"][0]["steps"]
    assert sum(s["distance"] for s in steps) == response["routes"][0]["distance"] == path.metres
    assert all(s["name"] for s in steps)


@settings(max_examples=40, deadline=None)
@given(origin=st.integers(0, 35), destination=st.integers(0, 35))
def test_steps_partition_every_grid_route(origin: int, destination: int) -> None:
    # Invariants on a 6 x 6 grid of 100 m blocks: steps cover the route exactly once,
    # start with depart, end with arrive, and no inner step is shorter than 30 m.
    grid = grid_graph(6, 6)
    response = route_response(grid, shortest_path(grid, origin, destination), lang="en")
    route = response["routes"][0]
    steps = route["legs"][0]["steps"]
    assert sum(s["distance"] for s in steps) == route["distance"]
    assert sum(s["duration"] for s in steps) == route["duration"]
    assert [steps[0]["maneuver"]["type"], steps[-1]["maneuver"]["type"]] == ["depart", "arrive"]
    assert all(s["distance"] >= 30 for s in steps[1:-1])
    # A grid route turns only at right angles, so every turn is plain left or right.
    assert {s["maneuver"].get("modifier") for s in steps[1:-1]} <= {"left", "right"}
