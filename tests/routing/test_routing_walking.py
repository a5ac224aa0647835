"""Walking access along the road graph, both directions, nearest first, within the limit."""

from __future__ import annotations

import pytest
from graph_builders import Road, build_graph, latlon_of

from routing.graph import RoadGraph
from routing.stops import VirtualStop
from routing.walking import WalkingAccess


def stop_at(graph: RoadGraph, stop_id: str, node: int) -> VirtualStop:
    return VirtualStop(
        stop_id, node, float(graph.node_lat[node]), float(graph.node_lon[node]), stop_id
    )


@pytest.fixture(scope="module")
def one_way_street() -> RoadGraph:
    # Nodes every 50 m along y = 0 (node i at x = 50 i, i = 0 .. 10), all one-way eastbound:
    # drivers cannot go west, pedestrians can.
    nodes = [(50.0 * i, 0.0) for i in range(11)]
    return build_graph(nodes, [Road(i, i + 1, name="East St", oneway=True) for i in range(10)])


def test_nearest_first_along_the_street_ignoring_one_way(one_way_street: RoadGraph) -> None:
    # Rider at (130, 20): 20 m to the street at (130, 0). West stop at node 1 (x = 50):
    # 20 + 80 = 100 m (against the one-way). East stop at node 5 (x = 250): 20 + 120 = 140 m.
    # Far stop at node 10 (x = 500): 20 + 370 = 390 m, beyond 300.
    stops = [stop_at(one_way_street, s, n) for s, n in (("far", 10), ("east", 5), ("west", 1))]
    access = WalkingAccess(one_way_street, stops)
    lat, lon = latlon_of(130, 20)
    reached = [(stop.id, metres) for stop, metres in access.reachable(lat, lon)]
    assert reached == [("west", 100), ("east", 140)]
    limited = [(stop.id, metres) for stop, metres in access.reachable(lat, lon, max_walk_m=120)]
    assert limited == [("west", 100)]
    assert access.reachable(lat, lon, max_walk_m=19) == []


def test_walk_follows_the_network_not_the_straight_line() -> None:
    # Two streets 60 m apart (y = 0 and y = 60), joined only at x = 400 (a bridge). A stop on
    # the far street at (0, 60) is 60 m away as the crow flies but 400 + 60 + 400 = 860 m on
    # foot from (0, 0).
    graph = build_graph(
        [(0, 0), (400, 0), (400, 60), (0, 60)],
        [Road(0, 1, name="South Bank"), Road(1, 2, name="Bridge"), Road(2, 3, name="North Bank")],
    )
    access = WalkingAccess(graph, [stop_at(graph, "north", 3), stop_at(graph, "south", 0)])
    lat, lon = latlon_of(0, -10)
    assert [(s.id, m) for s, m in access.reachable(lat, lon, max_walk_m=300)] == [("south", 10)]
    assert [(s.id, m) for s, m in access.reachable(lat, lon, max_walk_m=900)] == [
        ("south", 10),
        ("north", 870),
    ]


def test_point_far_from_every_road_reaches_nothing(one_way_street: RoadGraph) -> None:
    access = WalkingAccess(one_way_street, [stop_at(one_way_street, "a", 0)])
    lat, lon = latlon_of(0, 400)
    assert access.reachable(lat, lon, max_walk_m=300) == []
    assert WalkingAccess(one_way_street, []).reachable(lat, lon) == []


def test_two_stops_at_one_node_are_both_listed_by_id(one_way_street: RoadGraph) -> None:
    stops = [stop_at(one_way_street, "b", 2), stop_at(one_way_street, "a", 2)]
    lat, lon = latlon_of(100, 0)
    assert [(s.id, m) for s, m in WalkingAccess(one_way_street, stops).reachable(lat, lon)] == [
        ("a", 0),
        ("b", 0),
    ]
