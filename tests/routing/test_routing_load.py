"""Loading OSM extracts: drivable filter, speeds, flags, geometry, cache and clear errors."""

from __future__ import annotations

import bz2
import gzip
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from graph_builders import real_graph
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routing.cache import cache_key, read_cached_graph, write_cached_graph
from routing.errors import MapSourceError, UnknownPlaceError
from routing.graph import RoadGraph
from routing.load import DRIVABLE_HIGHWAYS, load_graph
from routing.speeds import (
    DEFAULT_SPEEDS_KPH,
    default_speed_kph,
    edge_speed_kph,
    parse_maxspeed,
    travel_time_seconds,
)
from routing.split import SPLIT_NODE_OSM_ID

# Raw osmnx.graph_from_xml node counts from ../shared/data/README.md (every way, footways too).
RAW_NODES = {"krems": 2879, "north-bayreuth": 7893, "andorra": 3814, "monaco": 2332}


def assert_valid_road_graph(graph: RoadGraph) -> None:
    """CSR order, no parallel edges or self-loops, one SCC, positive integers, geometry ends."""
    n, m = graph.n_nodes, graph.n_edges
    assert graph.indptr.shape == (n + 1,)
    assert graph.indptr[0] == 0
    assert graph.indptr[-1] == m
    assert (np.diff(graph.indptr) >= 0).all()
    expected_source = np.repeat(np.arange(n), np.diff(graph.indptr))
    assert np.array_equal(graph.edge_source, expected_source)
    pairs = graph.edge_source.astype(np.int64) * n + graph.edge_target
    assert (np.diff(pairs) > 0).all(), "edges sorted by (source, target), no parallel edges"
    assert (graph.edge_source != graph.edge_target).all()
    assert graph.edge_length_m.min() >= 1
    assert graph.edge_travel_time_s.min() >= 1
    assert len(graph.edge_highway) == len(graph.edge_name) == len(graph.edge_ref) == m
    assert all(isinstance(text, str) for text in graph.edge_name + graph.edge_ref)
    adjacency = csr_matrix((np.ones(m), graph.edge_target, graph.indptr), shape=(n, n))
    count, _ = connected_components(adjacency, directed=True, connection="strong")
    assert count == 1
    offsets = graph.geometry_offsets
    assert offsets.shape == (m + 1,)
    assert (np.diff(offsets) >= 2).all()
    first, last = offsets[:-1], offsets[1:] - 1
    assert np.allclose(graph.geometry_lat[first], graph.node_lat[graph.edge_source])
    assert np.allclose(graph.geometry_lon[first], graph.node_lon[graph.edge_source])
    assert np.allclose(graph.geometry_lat[last], graph.node_lat[graph.edge_target])
    assert np.allclose(graph.geometry_lon[last], graph.node_lon[graph.edge_target])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["krems", "north-bayreuth", "andorra", "monaco"])
def test_every_real_extract_loads_as_one_drivable_strongly_connected_graph(
    osm_path: Callable[[str], Path], name: str
) -> None:
    graph = real_graph(osm_path(name))
    assert_valid_road_graph(graph)
    # Drivable and simplified: fewer OSM nodes than the raw graph of every way, but a real
    # town (the nodes added by splitting long edges have osm id -1).
    split = graph.node_osm_id == SPLIT_NODE_OSM_ID
    assert 200 < (~split).sum() < RAW_NODES[name]
    assert set(graph.edge_highway) <= DRIVABLE_HIGHWAYS
    assert {"residential", "tertiary"} <= set(graph.edge_highway)
    assert graph.source == f"{name}.osm.bz2"
    # Every travel time is ceil(length / speed) with the speed the loader chose, on edges
    # between OSM nodes. Long edges were cut into pieces of at most 100 m at new nodes (osm
    # id -1); a piece's seconds are its share of the whole edge's, within a second and a half
    # of length / speed.
    expected = np.array(
        [
            travel_time_seconds(int(length), float(speed))
            for length, speed in zip(graph.edge_length_m, graph.edge_speed_kph, strict=True)
        ]
    )
    piece = split[graph.edge_source] | split[graph.edge_target]
    assert np.array_equal(graph.edge_travel_time_s[~piece], expected[~piece])
    exact = graph.edge_length_m * 3.6 / graph.edge_speed_kph
    assert (np.abs(graph.edge_travel_time_s[piece] - exact[piece]) < 1.5).all()
    assert graph.edge_length_m[piece].max() <= 100
    assert split.sum() > graph.n_nodes // 4
    # Curved roads keep their shape: some edges have interior geometry points.
    assert (np.diff(graph.geometry_offsets) > 2).sum() > graph.n_edges // 4
    assert any(graph.edge_name)


def _first_lines_bz2_to_gz(source: Path, target: Path) -> None:
    with bz2.open(source, "rb") as raw, gzip.open(target, "wb") as packed:
        packed.write(raw.read())


@pytest.mark.timeout(120)
def test_gz_extract_gives_the_same_graph_as_bz2(
    osm_path: Callable[[str], Path], tmp_path: Path
) -> None:
    gz_path = tmp_path / "monaco.osm.gz"
    _first_lines_bz2_to_gz(osm_path("monaco"), gz_path)
    from_gz = load_graph(gz_path, use_cache=False)
    from_bz2 = real_graph(osm_path("monaco"))
    assert from_gz.source == "monaco.osm.gz"
    assert np.array_equal(from_gz.node_osm_id, from_bz2.node_osm_id)
    assert np.array_equal(from_gz.edge_travel_time_s, from_bz2.edge_travel_time_s)
    assert from_gz.edge_name == from_bz2.edge_name


def test_second_load_comes_from_the_cache_and_is_identical(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    first = load_graph(path, cache_dir=tmp_path / "cache")
    second = load_graph(path, cache_dir=tmp_path / "cache")
    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.cache_key == second.cache_key != ""
    assert second.load_seconds > 0
    for name in ("node_lat", "indptr", "edge_target", "edge_travel_time_s", "geometry_lon"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.edge_name == second.edge_name
    assert first.edge_highway == second.edge_highway
    assert first.source == second.source == "tiny.osm"


def test_use_cache_false_neither_reads_nor_writes(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    graph = load_graph(path, cache_dir=tmp_path / "cache", use_cache=False)
    assert (graph.from_cache, graph.cache_key) == (False, "")
    assert not (tmp_path / "cache").exists()


# A hand-made extract, four corners about 100 m apart (1 degree of latitude = 111,195 m, so
# 0.0009 deg = 100.1 m; 1 degree of longitude at 37.5 N = 88,217 m, so 0.001134 deg = 100.0 m):
#
#   B(2) -- 大町通り, curved via X, tunnel -- C(3) ----- service road ---- F(6)
#    |                                        |
#   本町通り 30 mph       footway A-C         県道64号 tertiary, bridge
#    |                                        |
#   A(1) <------ roundabout (one way D->A) -- D(4) --- one way dead end --> G(7)
#    \--- private road --- E(5)
TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <node id="1" lat="37.5000" lon="139.900000"/>
  <node id="2" lat="37.5009" lon="139.900000"/>
  <node id="3" lat="37.5009" lon="139.901134"/>
  <node id="4" lat="37.5000" lon="139.901134"/>
  <node id="5" lat="37.4995" lon="139.899000"/>
  <node id="6" lat="37.5009" lon="139.902500"/>
  <node id="7" lat="37.4990" lon="139.901134"/>
  <node id="8" lat="37.5012" lon="139.900567"/>
  <way id="101"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="residential"/><tag k="name" v="本町通り"/><tag k="maxspeed" v="30 mph"/>
  </way>
  <way id="102"><nd ref="2"/><nd ref="8"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="大町通り"/><tag k="tunnel" v="yes"/>
  </way>
  <way id="103"><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="tertiary"/><tag k="name" v="県道64号"/><tag k="ref" v="64"/>
    <tag k="bridge" v="yes"/>
  </way>
  <way id="104"><nd ref="4"/><nd ref="1"/>
    <tag k="highway" v="residential"/><tag k="junction" v="roundabout"/>
  </way>
  <way id="105"><nd ref="1"/><nd ref="3"/><tag k="highway" v="footway"/></way>
  <way id="106"><nd ref="1"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="access" v="private"/>
  </way>
  <way id="107"><nd ref="3"/><nd ref="6"/><tag k="highway" v="service"/></way>
  <way id="108"><nd ref="4"/><nd ref="7"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/>
  </way>
</osm>
"""


@pytest.fixture(scope="module")
def tiny_graph(tmp_path_factory: pytest.TempPathFactory) -> RoadGraph:
    path = tmp_path_factory.mktemp("tiny") / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return load_graph(path, use_cache=False, split_edges_m=None)


def test_tiny_extract_cut_at_50_m_gets_mid_street_nodes_shared_by_both_directions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    graph = load_graph(path, use_cache=False, split_edges_m=50)
    whole = load_graph(path, use_cache=False, split_edges_m=None)
    # A-B and C-D are 100 m: 2 pieces each, one new node each. B-C is about 120 m: 3 pieces,
    # two new nodes. D->A (one way, about 100 m): one new node. 4 + 1 + 1 + 2 + 1 = 9 nodes.
    added = graph.node_osm_id == SPLIT_NODE_OSM_ID
    assert (int(added.sum()), graph.n_nodes) == (5, 9)
    # Two-way roads share their new nodes: 7 edges become 2 + 2 + 3 + 3 + 2 + 2 + 2 = 16.
    assert graph.n_edges == 16
    # Metres and seconds of the pieces add up to the whole edges': the graph totals agree.
    assert graph.edge_length_m.sum() == whole.edge_length_m.sum()
    assert graph.edge_travel_time_s.sum() == whole.edge_travel_time_s.sum()
    assert graph.edge_length_m.max() <= 50


def _edge(graph: RoadGraph, u_osm: int, v_osm: int) -> int:
    ids = graph.node_osm_id.tolist()
    u, v = ids.index(u_osm), ids.index(v_osm)
    for edge in range(int(graph.indptr[u]), int(graph.indptr[u + 1])):
        if graph.edge_target[edge] == v:
            return edge
    raise AssertionError(f"no edge {u_osm}->{v_osm}")


def test_tiny_extract_keeps_only_the_drivable_strongly_connected_square(
    tiny_graph: RoadGraph,
) -> None:
    # Footway, private road, service road and the one-way dead end are gone; X (8) is merged
    # into the curved edge B-C. Left: A, B, C, D with A<->B, B<->C, C<->D, D->A = 7 edges.
    assert_valid_road_graph(tiny_graph)
    assert sorted(tiny_graph.node_osm_id.tolist()) == [1, 2, 3, 4]
    assert tiny_graph.n_edges == 7
    with pytest.raises(AssertionError):
        _edge(tiny_graph, 1, 4)  # the roundabout is one way D -> A


def test_tiny_extract_speeds_lengths_and_travel_times(tiny_graph: RoadGraph) -> None:
    # A->B: 100 m at 30 mph = 48.28 km/h -> 100 * 3.6 / 48.28 = 7.46 -> 8 s.
    ab = _edge(tiny_graph, 1, 2)
    assert tiny_graph.edge_length_m[ab] == 100
    assert tiny_graph.edge_speed_kph[ab] == pytest.approx(48.28, abs=0.01)
    assert tiny_graph.edge_travel_time_s[ab] == 8
    # C->D: 100 m, tertiary without maxspeed -> 40 km/h default -> 9 s.
    cd = _edge(tiny_graph, 3, 4)
    assert tiny_graph.edge_length_m[cd] == 100
    assert (tiny_graph.edge_speed_kph[cd], tiny_graph.edge_travel_time_s[cd]) == (40.0, 9)
    # B->C via X: two legs of about 60 m (50 m east, 33 m north) -> about 120 m at 30 km/h.
    bc = _edge(tiny_graph, 2, 3)
    length = int(tiny_graph.edge_length_m[bc])
    assert 115 <= length <= 125
    assert tiny_graph.edge_travel_time_s[bc] == math.ceil(length * 3.6 / 30)


def test_tiny_extract_names_refs_flags_and_curved_geometry(tiny_graph: RoadGraph) -> None:
    ab, bc, cb = _edge(tiny_graph, 1, 2), _edge(tiny_graph, 2, 3), _edge(tiny_graph, 3, 2)
    cd, da = _edge(tiny_graph, 3, 4), _edge(tiny_graph, 4, 1)
    assert (tiny_graph.edge_name[ab], tiny_graph.edge_name[bc]) == ("本町通り", "大町通り")
    assert (tiny_graph.edge_name[cd], tiny_graph.edge_ref[cd]) == ("県道64号", "64")
    assert (tiny_graph.edge_name[da], tiny_graph.edge_ref[da]) == ("", "")
    assert tiny_graph.edge_flags[bc] == RoadGraph.FLAG_TUNNEL
    assert tiny_graph.edge_flags[cd] == RoadGraph.FLAG_BRIDGE
    assert tiny_graph.edge_flags[da] == RoadGraph.FLAG_JUNCTION
    assert tiny_graph.edge_flags[ab] == 0
    # B->C runs B, X, C; C->B runs C, X, B.
    offsets = tiny_graph.geometry_offsets
    forward = tiny_graph.geometry_lat[offsets[bc] : offsets[bc + 1]].tolist()
    backward = tiny_graph.geometry_lat[offsets[cb] : offsets[cb + 1]].tolist()
    assert forward == pytest.approx([37.5009, 37.5012, 37.5009])
    assert backward == pytest.approx(forward[::-1])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("30 mph", 48.28032),  # 30 * 1.609344
        ("50 km/h", 50.0),
        ("50;30", 30.0),  # the smaller of two signed speeds
        (["60", "40"], 40.0),  # a list after OSMnx simplification
        ("JP:urban", 60.0),  # Japanese legal default on general roads
        ("DE:urban", 50.0),
        ("AT:rural", 100.0),
        ("DE:zone30", 30.0),
        ("DE:zone:30", 30.0),
        ("walk", 7.0),
        ("none", 100.0),  # no limit -> the bus cap
        ("130", 100.0),  # capped at 100 km/h
        (80, 80.0),
        ("signals", None),
        ("0", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_maxspeed_parsing(value: object, expected: float | None) -> None:
    parsed = parse_maxspeed(value)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(expected)


def test_japanese_defaults_apply_without_maxspeed() -> None:
    assert default_speed_kph("residential") == 30.0
    assert default_speed_kph("motorway") == 80.0
    assert default_speed_kph("road_class_nobody_knows") == 30.0
    assert edge_speed_kph("secondary", None) == DEFAULT_SPEEDS_KPH["secondary"] == 40.0
    assert edge_speed_kph("secondary", "signals") == 40.0
    assert edge_speed_kph("secondary", "60") == 60.0


def test_travel_time_is_rounded_up_to_whole_seconds() -> None:
    assert travel_time_seconds(100, 36.0) == 10  # exactly 10 m/s
    assert travel_time_seconds(101, 36.0) == 11  # 10.1 s -> 11
    assert travel_time_seconds(1, 100.0) == 1  # 0.036 s -> at least 1


def test_missing_file_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(MapSourceError, match="does not exist"):
        load_graph(tmp_path / "nowhere.osm.bz2")


def test_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm"
    path.write_bytes(b"")
    with pytest.raises(MapSourceError, match="is empty"):
        load_graph(path)


def test_garbage_file_is_not_readable_osm_xml(tmp_path: Path) -> None:
    path = tmp_path / "garbage.osm"
    path.write_text("this is not XML")
    with pytest.raises(MapSourceError, match="not readable OSM XML"):
        load_graph(path, cache_dir=tmp_path)


def test_truncated_bz2_is_not_readable_osm_xml(
    osm_path: Callable[[str], Path], tmp_path: Path
) -> None:
    path = tmp_path / "cut.osm.bz2"
    path.write_bytes(osm_path("monaco").read_bytes()[:40_000])
    with pytest.raises(MapSourceError, match="not readable OSM XML"):
        load_graph(path, cache_dir=tmp_path)


def test_xml_without_ways_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nothing.osm"
    path.write_text('<osm version="0.6"></osm>')
    with pytest.raises(MapSourceError, match="no OSM ways"):
        load_graph(path, cache_dir=tmp_path)


def test_xml_with_only_footways_has_no_drivable_roads(tmp_path: Path) -> None:
    path = tmp_path / "paths.osm"
    path.write_text(
        '<osm version="0.6"><node id="1" lat="37.5" lon="139.9"/>'
        '<node id="2" lat="37.501" lon="139.9"/>'
        '<way id="9"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>'
    )
    with pytest.raises(MapSourceError, match="no drivable roads"):
        load_graph(path, cache_dir=tmp_path)


@pytest.mark.timeout(20)
def test_place_lookup_offline_is_an_unknown_place_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORIAI_OFFLINE", "1")
    with pytest.raises(UnknownPlaceError, match="offline"):
        load_graph(place="Aizuwakamatsu, Fukushima, Japan")


def test_file_and_place_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MapSourceError, match="not both"):
        load_graph(tmp_path / "x.osm", place="Aizuwakamatsu")


def test_no_map_gives_the_synthetic_town() -> None:
    graph = load_graph()
    assert graph.source.startswith("synthetic town seed=7")
    assert not graph.from_cache


def test_corrupt_cache_entries_are_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    cache = tmp_path / "cache"
    built = load_graph(path, cache_dir=cache)
    (npz,) = cache.glob("*.npz")
    (meta,) = cache.glob("*.json")
    npz.write_bytes(b"not a zip file")
    rebuilt = load_graph(path, cache_dir=cache)
    assert not rebuilt.from_cache
    assert np.array_equal(rebuilt.edge_travel_time_s, built.edge_travel_time_s)
    assert load_graph(path, cache_dir=cache).from_cache
    meta.write_text("{ broken json")
    assert not load_graph(path, cache_dir=cache).from_cache
    # A JSON from another build (its hash does not match the .npz) is a miss too.
    other = {"format": 1, "key": built.cache_key, "source": "x", "strings": []}
    meta.write_text(json.dumps(other))
    assert read_cached_graph(cache, built.cache_key) is None


def test_cache_key_changes_with_content_and_settings(tmp_path: Path) -> None:
    base = cache_key("abc", {"speeds": {"residential": 30}})
    assert base == cache_key("abc", {"speeds": {"residential": 30}})
    assert base != cache_key("abd", {"speeds": {"residential": 30}})
    assert base != cache_key("abc", {"speeds": {"residential": 20}})


def test_cache_round_trip_keeps_every_field(tiny_graph: RoadGraph, tmp_path: Path) -> None:
    write_cached_graph(tiny_graph, tmp_path, "k1")
    restored = read_cached_graph(tmp_path, "k1")
    assert restored is not None
    assert restored.from_cache
    assert restored.cache_key == "k1"
    for name in RoadGraph.__dataclass_fields__:
        if name in {"from_cache", "cache_key", "load_seconds"}:
            continue
        left, right = getattr(tiny_graph, name), getattr(restored, name)
        if isinstance(left, np.ndarray):
            assert left.dtype == right.dtype, name
            assert np.array_equal(left, right), name
        else:
            assert left == right, name
