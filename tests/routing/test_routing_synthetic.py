"""The seeded synthetic town: deterministic, strongly connected, arterials, one-ways, bridges."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from routing.graph import RoadGraph
from routing.synthetic import synthetic_town


def strong_component_count(graph: RoadGraph) -> int:
    adjacency = csr_matrix(
        (np.ones(graph.n_edges), graph.edge_target, graph.indptr),
        shape=(graph.n_nodes, graph.n_nodes),
    )
    count, _ = connected_components(adjacency, directed=True, connection="strong")
    return int(count)


@pytest.fixture(scope="module")
def town() -> RoadGraph:
    return synthetic_town()


def test_same_seed_gives_the_same_town() -> None:
    first, second = synthetic_town(seed=3), synthetic_town(seed=3)
    for name in ("node_lat", "node_lon", "indptr", "edge_target", "edge_travel_time_s"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.edge_name == second.edge_name
    assert first.source == second.source == "synthetic town seed=3 30x30 spacing=120 m"


def test_another_seed_gives_another_town() -> None:
    first, second = synthetic_town(seed=3), synthetic_town(seed=4)
    assert not np.array_equal(
        first.node_lat[: min(first.n_nodes, second.n_nodes)],
        second.node_lat[: min(first.n_nodes, second.n_nodes)],
    )


def test_default_town_is_strongly_connected_around_aizuwakamatsu(town: RoadGraph) -> None:
    assert strong_component_count(town) == 1
    # 30 x 30 grid: at most 900 nodes; removed segments may cut off only a few.
    assert 850 <= town.n_nodes <= 900
    # Centred on (37.4947, 139.9297); the grid spans 29 * 120 m = 3.48 km, +-1.74 km.
    assert float(town.node_lat.mean()) == pytest.approx(37.4947, abs=0.002)
    assert float(town.node_lon.mean()) == pytest.approx(139.9297, abs=0.002)
    assert float(np.ptp(town.node_lat)) * 111_195 == pytest.approx(3480, rel=0.05)


def test_arterials_are_faster_named_and_numbered(town: RoadGraph) -> None:
    secondary = [e for e in range(town.n_edges) if town.edge_highway[e] == "secondary"]
    tertiary = [e for e in range(town.n_edges) if town.edge_highway[e] == "tertiary"]
    assert secondary
    assert tertiary
    assert all(town.edge_name[e].startswith("国道") for e in secondary)
    assert all(town.edge_ref[e].isdigit() for e in secondary + tertiary)
    assert {float(town.edge_speed_kph[e]) for e in secondary} == {50.0}
    assert {float(town.edge_speed_kph[e]) for e in tertiary} == {40.0}
    residential = [e for e in range(town.n_edges) if town.edge_highway[e] == "residential"]
    assert {float(town.edge_speed_kph[e]) for e in residential} == {30.0}
    assert all(town.edge_name[e] for e in residential)
    # Travel time = ceil(length / speed): e.g. 120 m at 50 km/h = 8.64 s -> 9 s.
    for edge in secondary[:50] + residential[:50]:
        length, speed = int(town.edge_length_m[edge]), float(town.edge_speed_kph[edge])
        assert town.edge_travel_time_s[edge] == max(1, math.ceil(length * 3.6 / speed - 1e-9))


def test_some_streets_are_one_way_and_the_river_has_bridges(town: RoadGraph) -> None:
    pairs = set(zip(town.edge_source.tolist(), town.edge_target.tolist(), strict=True))
    one_way = [(u, v) for u, v in pairs if (v, u) not in pairs]
    assert len(one_way) > 20
    bridges = np.flatnonzero(town.edge_flags & RoadGraph.FLAG_BRIDGE)
    # Rows 0, 4, 8, ..., 28 cross the river (8 rows, 2 directions each), when still connected.
    assert 10 <= bridges.size <= 16


def test_blocks_are_about_120_metres(town: RoadGraph) -> None:
    # Jitter is at most 8 % of 120 m on each axis of each end.
    assert 90 <= float(np.median(town.edge_length_m)) <= 150
    assert town.edge_length_m.max() <= 120 * 1.3


def test_big_town_has_about_15000_nodes() -> None:
    graph = synthetic_town(rows=123, cols=123)
    assert 14_500 <= graph.n_nodes <= 123 * 123
    assert strong_component_count(graph) == 1


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(3, 12), cols=st.integers(3, 12))
def test_any_seed_and_size_gives_a_strongly_connected_csr_graph(
    seed: int, rows: int, cols: int
) -> None:
    graph = synthetic_town(seed=seed, rows=rows, cols=cols)
    assert graph.n_nodes >= 2
    assert strong_component_count(graph) == 1
    assert np.array_equal(
        graph.edge_source, np.repeat(np.arange(graph.n_nodes), np.diff(graph.indptr))
    )
    assert graph.geometry_offsets[-1] == graph.geometry_lat.size == 2 * graph.n_edges


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="rows >= 2"):
        synthetic_town(rows=1)
    with pytest.raises(ValueError, match="spacing_m"):
        synthetic_town(spacing_m=0)
