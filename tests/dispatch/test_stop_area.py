"""VirtualStopArea: the ServiceArea over virtual stops, walking access and door-to-door zones."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from dispatch.area import ServiceArea
from dispatch.model import Access
from dispatch.stop_area import VirtualStopArea
from routing.stops import VirtualStop
from routing.types import LatLon


def _graph_builders() -> ModuleType:
    """The hand-built graph helpers of tests/routing (shared, loaded by file path)."""
    if "graph_builders" in sys.modules:
        return sys.modules["graph_builders"]
    path = Path(__file__).resolve().parents[1] / "routing" / "graph_builders.py"
    spec = importlib.util.spec_from_file_location("graph_builders", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["graph_builders"] = module
    spec.loader.exec_module(module)
    return module


builders = _graph_builders()


def point(x_m: float, y_m: float) -> LatLon:
    return LatLon(*builders.latlon_of(x_m, y_m))


@pytest.fixture(scope="module")
def street_area() -> VirtualStopArea:
    # One street along y = 0, a node every 50 m (node i at x = 50 i, i = 0 .. 10).
    # Stops: "west" at node 1 (x = 50), "east" at node 5 (x = 250).
    graph = builders.build_graph(
        [(50.0 * i, 0.0) for i in range(11)],
        [builders.Road(i, i + 1, name="Kita-dori") for i in range(10)],
    )
    stops = [
        VirtualStop(name, node, float(graph.node_lat[node]), float(graph.node_lon[node]), name)
        for name, node in (("west", 1), ("east", 5))
    ]
    # A door-to-door zone: the square 300..500 x -100..100 m.
    zone = [builders.latlon_of(x, y) for x, y in ((300, -100), (500, -100), (500, 100), (300, 100))]
    return VirtualStopArea(graph, stops, walk_speed_mps=1.25, max_snap_m=500, zones=[zone])


def test_access_lists_stops_nearest_first_with_walking_seconds(
    street_area: VirtualStopArea,
) -> None:
    # From (130, 20): 20 m to the street, then 80 m west to x = 50 => 100 m, 100 / 1.25 = 80 s;
    # or 120 m east to x = 250 => 140 m, 140 / 1.25 = 112 s.
    area: ServiceArea = street_area
    found = area.access(point(130, 20), max_walk_m=300)
    assert [(a.stop_id, a.walk_m, a.walk_s, a.name) for a in found] == [
        ("west", 100, 80, "west"),
        ("east", 140, 112, "east"),
    ]
    assert [a.stop_id for a in area.access(point(130, 20), max_walk_m=120)] == ["west"]
    assert area.access(point(130, 20), max_walk_m=50) == []


def test_contains_means_within_max_snap_of_a_road(street_area: VirtualStopArea) -> None:
    assert street_area.contains(point(400, 450))  # 450 m north of the street
    assert not street_area.contains(point(400, 550))  # 550 m > 500 m


def test_door_is_the_nearest_node(street_area: VirtualStopArea) -> None:
    # (130, 20): node 3 at (150, 0) is sqrt(20^2 + 20^2) = 28.3 m away, node 2 at (100, 0)
    # sqrt(30^2 + 20^2) = 36.1 m. 28 m at 1.25 m/s => ceil(22.4) = 23 s.
    access = street_area.door(point(130, 20))
    lat, lon = builders.latlon_of(150, 0)
    assert access == Access(3, "door:3", "", LatLon(lat, lon), 28, 23)


def test_door_to_door_zone_membership(street_area: VirtualStopArea) -> None:
    assert street_area.in_door_to_door_zone(point(400, 0))
    assert not street_area.in_door_to_door_zone(point(250, 0))
    assert not street_area.in_door_to_door_zone(point(400, 150))


def test_walk_speed_must_be_positive(street_area: VirtualStopArea) -> None:
    with pytest.raises(ValueError, match="walk_speed_mps"):
        VirtualStopArea(street_area.graph, street_area.stops, walk_speed_mps=0)
