"""Snapping points to nodes and edges of a hand-built 100 m grid."""

from __future__ import annotations

import math

import pytest
from graph_builders import grid_graph, latlon_of
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.errors import PointOffMapError
from routing.geo import haversine_m
from routing.graph import RoadGraph
from routing.snap import edge_snapper, nearest_node, node_snapper


@pytest.fixture(scope="module")
def grid() -> RoadGraph:
    # 3 x 3 grid, 100 m apart: node r * 3 + c sits at (100 c, 100 r) metres.
    return grid_graph(3, 3, spacing_m=100)


def test_point_near_a_node_snaps_to_it_with_its_distance(grid: RoadGraph) -> None:
    # (130, 140) is 50 m from node 4 at (100, 100): sqrt(30^2 + 40^2) = 50.
    lat, lon = latlon_of(130, 140)
    assert node_snapper(grid).nearest(lat, lon) == (4, 50)
    assert nearest_node(grid, lat, lon) == 4


def test_within_lists_nodes_nearest_first(grid: RoadGraph) -> None:
    # From (10, 0): node 0 at 10 m, node 1 at 90 m, node 3 at sqrt(10^2 + 100^2) = 100.5 m.
    lat, lon = latlon_of(10, 0)
    assert node_snapper(grid).within(lat, lon, 101) == [(0, 10), (1, 90), (3, 100)]
    assert node_snapper(grid).within(lat, lon, 5) == []


def test_far_point_raises_off_map_with_distance_and_advice(grid: RoadGraph) -> None:
    # (200, 1400) is 1200 m north of node 8 at (200, 200).
    lat, lon = latlon_of(200, 1400)
    with pytest.raises(PointOffMapError, match=r"1200 m from the nearest road.*limit 1000 m"):
        nearest_node(grid, lat, lon)
    assert nearest_node(grid, lat, lon, max_distance_m=1500) == 8


def test_snapper_is_built_once_per_graph(grid: RoadGraph) -> None:
    assert node_snapper(grid) is node_snapper(grid)
    assert node_snapper(grid) is not node_snapper(grid_graph(2, 2))


def test_edge_snap_finds_foot_point_on_the_street(grid: RoadGraph) -> None:
    # (160, 30): 30 m north of the street y = 0 between nodes 1 (100, 0) and 2 (200, 0),
    # foot point (160, 0): 60 m from node 1.
    lat, lon = latlon_of(160, 30)
    point = edge_snapper(grid).nearest(lat, lon)
    ends = {int(grid.edge_source[point.edge]), int(grid.edge_target[point.edge])}
    assert ends == {1, 2}
    assert point.distance_m == pytest.approx(30, abs=0.01)
    from_source = point.along_m if int(grid.edge_source[point.edge]) == 1 else 100 - point.along_m
    assert from_source == pytest.approx(60, abs=0.01)
    foot_lat, foot_lon = latlon_of(160, 0)
    assert haversine_m(point.lat, point.lon, foot_lat, foot_lon) < 0.01


@settings(max_examples=60, deadline=None)
@given(x=st.floats(-300, 500), y=st.floats(-300, 500))
def test_edge_snap_is_never_farther_than_the_nearest_node(x: float, y: float) -> None:
    grid = grid_graph(3, 3, spacing_m=100)
    lat, lon = latlon_of(x, y)
    point = edge_snapper(grid).nearest(lat, lon)
    _, node_metres = node_snapper(grid).nearest(lat, lon)
    # The streets are the segments x = v (0 <= y <= 200) and y = h (0 <= x <= 200) for v, h
    # in {0, 100, 200}; the distance to a segment is the hypotenuse to its clamped point.
    cx, cy = min(max(x, 0.0), 200.0), min(max(y, 0.0), 200.0)
    expected = min(
        *(math.hypot(x - v, y - cy) for v in (0, 100, 200)),
        *(math.hypot(y - h, x - cx) for h in (0, 100, 200)),
    )
    assert point.distance_m == pytest.approx(expected, abs=0.05)
    assert point.distance_m <= node_metres + 0.5
