"""Virtual stops: generation rules, spacing, files, and the north-bayreuth acceptance check."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from graph_builders import Road, build_graph, grid_graph, latlon_of, real_graph
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from routing.errors import StopsFileError
from routing.geo import haversine_m
from routing.graph import RoadGraph
from routing.paths import travel_time_csr
from routing.stops import (
    EXCLUDED_HIGHWAYS,
    ODBL_ATTRIBUTION,
    VirtualStop,
    generate_stops,
    load_stops,
    stop_edge_is_suitable,
    write_geojson,
)


def straight_street(*, step_m: int = 50, length_m: int = 1000) -> RoadGraph:
    """One two-way street along y = 0 with a node every ``step_m`` metres."""
    count = length_m // step_m + 1
    nodes = [(i * step_m, 0.0) for i in range(count)]
    roads = [Road(i, i + 1, name="Long Street") for i in range(count - 1)]
    return build_graph(nodes, roads)


def test_stops_on_a_straight_street_every_200_m_or_more() -> None:
    # Nodes every 50 m from x = 0 to 1000 (node i at x = 50 i). Mid-street nodes
    # (x = 50 .. 950) go first, west to east; the minimum gap is 0.8 * 240 = 192 m:
    # x = 50, 250, 450, 650, 850. The dead ends come last: x = 0 is 50 m from x = 50 and
    # x = 1000 is 150 m from 850.
    graph = straight_street()
    stops = generate_stops(graph, spacing_m=240)
    assert [s.node * 50 for s in stops] == [
        50,
        250,
        450,
        650,
        850,
    ]
    assert [s.id for s in stops] == ["S0001", "S0002", "S0003", "S0004", "S0005"]
    assert {s.name for s in stops} == {"Long Street"}
    assert all(s.edge is not None and int(graph.edge_target[s.edge]) == s.node for s in stops)


def test_generation_is_deterministic() -> None:
    graph = grid_graph(6, 6, spacing_m=120)
    assert generate_stops(graph, spacing_m=250) == generate_stops(graph, spacing_m=250)


def test_no_stop_at_tunnel_roundabout_link_or_trunk_nodes() -> None:
    # A street x = 0 .. 1000 every 100 m; edge 2-3 is a tunnel, 5-6 part of a roundabout,
    # 7-8 a trunk road and 9-10 a link road. Their end nodes 2,3,5,6,7,8,9,10 are excluded;
    # left are 0, 1, 4; with 100 m spacing (80 m gap) all three are stops.
    nodes = [(i * 100.0, 0.0) for i in range(11)]
    special = {
        2: {"flags": RoadGraph.FLAG_TUNNEL},
        5: {"flags": RoadGraph.FLAG_JUNCTION},
        7: {"highway": "trunk"},
        9: {"highway": "primary_link", "flags": RoadGraph.FLAG_LINK},
    }
    roads = [Road(i, i + 1, name="Mixed Road", **special.get(i, {})) for i in range(10)]
    graph = build_graph(nodes, roads)
    stops = generate_stops(graph, spacing_m=100)
    assert sorted(s.node for s in stops) == [0, 1, 4]


@settings(max_examples=25, deadline=None)
@given(spacing=st.integers(min_value=60, max_value=600))
def test_no_two_generated_stops_closer_than_80_percent_of_spacing(spacing: int) -> None:
    graph = grid_graph(7, 7, spacing_m=90)
    stops = generate_stops(graph, spacing_m=spacing)
    assert stops
    for a, b in itertools.combinations(stops, 2):
        assert haversine_m(a.lat, a.lon, b.lat, b.lon) >= 0.8 * spacing - 0.01


def test_spacing_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        generate_stops(grid_graph(2, 2), spacing_m=0)


# --- files ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid() -> RoadGraph:
    return grid_graph(3, 3, spacing_m=100)


def test_geojson_round_trip_keeps_ids_names_and_nodes(grid: RoadGraph, tmp_path: Path) -> None:
    stops = generate_stops(grid, spacing_m=150)
    written = write_geojson(stops, tmp_path / "stops.geojson")
    document = json.loads(written.read_text(encoding="utf-8"))
    assert document["attribution"] == ODBL_ATTRIBUTION
    assert len(document["features"]) == len(stops)
    loaded = load_stops(written, grid)
    assert [(s.id, s.name, s.node) for s in loaded] == [(s.id, s.name, s.node) for s in stops]


def test_csv_stops_snap_to_the_nearest_node(grid: RoadGraph, tmp_path: Path) -> None:
    # (95, 8) is 9.4 m from node 1 at (100, 0); (210, 190) is 14.1 m from node 8 (200, 200).
    lat1, lon1 = latlon_of(95, 8)
    lat2, lon2 = latlon_of(210, 190)
    path = tmp_path / "stops.csv"
    path.write_text(
        f"id,name,lat,lon\nA1,駅前,{lat1},{lon1}\nA2,,{lat2},{lon2}\n", encoding="utf-8"
    )
    stops = load_stops(path, grid)
    assert stops == (
        VirtualStop("A1", 1, lat1, lon1, "駅前", None),
        VirtualStop("A2", 8, lat2, lon2, "", None),
    )


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("bad.geojson", "{not json", r"not valid JSON \(line 1"),
        ("bad.geojson", '{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        (
            "bad.geojson",
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "LineString", "coordinates": []}, "properties": {"id": "x"}}]}',
            "feature 0: geometry must be a Point",
        ),
        (
            "bad.geojson",
            '{"type": "FeatureCollection", "features": [{"type": "Feature", '
            '"geometry": {"type": "Point", "coordinates": [139.0, 35.0]}, "properties": {}}]}',
            "feature 0: property 'id' is missing",
        ),
        ("bad.csv", "id,name,lat,lon\nA,x,35.0,139.0\nB,y,north,139.0\n", "row 3: lat 'north'"),
        ("bad.csv", "name,lat,lon\nx,35.0,139.0\n", "header lacks id"),
        ("bad.csv", "id,lat,lon\nA,35.0,139.0\nA,35.0,139.0\n", "'A' appears twice"),
        ("bad.csv", "id,lat,lon\nFar,36.0,139.0\n", r"row 2 \(stop 'Far'\).*from the nearest road"),
        ("bad.csv", "id,lat,lon\n", "contains no stops"),
        ("stops.txt", "id,lat,lon\nA,35.0,139.0\n", "unknown stop file type"),
    ],
)
def test_malformed_stop_files_name_the_problem(
    grid: RoadGraph, tmp_path: Path, file_name: str, content: str, message: str
) -> None:
    path = tmp_path / file_name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StopsFileError, match=message):
        load_stops(path, grid)


def test_missing_stop_file(grid: RoadGraph, tmp_path: Path) -> None:
    with pytest.raises(StopsFileError, match="does not exist"):
        load_stops(tmp_path / "nowhere.geojson", grid)


# --- acceptance on a real extract -----------------------------------------------------------


@pytest.mark.timeout(180)
def test_north_bayreuth_stops_lie_on_drivable_edges_and_reach_each_other(osm_path) -> None:  # type: ignore[no-untyped-def]
    graph = real_graph(osm_path("north-bayreuth"))
    stops = generate_stops(graph, spacing_m=250)
    assert len(stops) > 100
    nodes = np.array([s.node for s in stops])
    for stop in stops:
        # On the compiled (drivable) graph: the node has edges in and out, and every edge
        # touching it is of a class a bus may stop on.
        touching = np.nonzero((graph.edge_source == stop.node) | (graph.edge_target == stop.node))[
            0
        ]
        assert np.any(graph.edge_source[touching] == stop.node)
        assert np.any(graph.edge_target[touching] == stop.node)
        assert all(stop_edge_is_suitable(graph, int(e)) for e in touching)
        assert all(graph.edge_highway[int(e)] not in EXCLUDED_HIGHWAYS for e in touching)
        assert stop.edge is not None
        assert int(graph.edge_target[stop.edge]) == stop.node
    # Every stop reaches every other: the stop-to-stop travel-time matrix is all finite.
    seconds = dijkstra(travel_time_csr(graph), directed=True, indices=nodes)[:, nodes]
    assert np.isfinite(seconds).all()
    for a, b in itertools.combinations(stops[:200], 2):
        assert haversine_m(a.lat, a.lon, b.lat, b.lon) >= 200 - 0.5
    assert math.isfinite(float(seconds.max()))
