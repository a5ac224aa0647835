"""Stop matrices and the GraphOracle: hand-checked values, networkx equality, cache bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from graph_builders import Road, build_graph, grid_graph, real_graph
from hypothesis import given, settings
from hypothesis import strategies as st

import routing.matrix as matrix_module
from routing.errors import NoPathError
from routing.export import to_networkx_digraph
from routing.graph import RoadGraph
from routing.matrix import GraphOracle, build_matrix
from routing.oracle import TravelTimeOracle
from routing.paths import shortest_path
from routing.synthetic import synthetic_town


def detour_graph() -> RoadGraph:
    """A -> B on the bypass is fast but long; A -> C -> B is short but slow.

    Nodes (metres east, north): A (0, 0), B (600, 0), C (300, 100); all roads two-way.
    """
    nodes = [(0.0, 0.0), (600.0, 0.0), (300.0, 100.0)]
    roads = [
        # Direct road bending north: 2 * sqrt(300^2 + 900^2) = 2 * 948.7 = 1897 m, 40 s.
        Road(0, 1, name="Bypass", via=((300.0, 900.0),), seconds=40),
        # Via C: 2 * sqrt(300^2 + 100^2) = 2 * 316.2 = 632 m, 2 * 60 = 120 s.
        Road(0, 2, name="Old Road", seconds=60),
        Road(2, 1, name="Old Road", seconds=60),
    ]
    return build_graph(nodes, roads)


def test_detour_graph_fastest_versus_shortest() -> None:
    graph = detour_graph()
    seconds = build_matrix(graph, [0, 1, 2])
    metres = build_matrix(graph, [0, 1, 2], weight="length")
    # A->B 40 s on the bypass; A->C 60 s; C->B 60 s (C->A->B would be 100 s).
    assert seconds.tolist() == [[0, 40, 60], [40, 0, 60], [60, 60, 0]]
    # Shortest A->B is via C: 316 + 316 = 632 m (the bypass is 1897 m).
    assert metres[0, 1] == 632
    oracle = GraphOracle(graph)
    assert oracle.seconds(0, 1) == 40
    assert oracle.metres(0, 1) == 1897  # the length of the fastest path, not the shortest
    assert oracle.metres(0, 2) == 316
    assert oracle.metres(1, 1) == 0


def test_parallel_edges_count_only_the_fastest() -> None:
    # Two roads 0-1: 100 m at 36 km/h (10 s) and a forced 99 s one; 1-2 100 m (10 s).
    nodes = [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)]
    roads = [Road(0, 1, name="Slow", seconds=99), Road(0, 1, name="Fast"), Road(1, 2)]
    graph = build_graph(nodes, roads)
    assert graph.n_edges == 6
    assert build_matrix(graph, [0, 2]).tolist() == [[0, 20], [20, 0]]
    assert GraphOracle(graph).metres(0, 2) == 200


def test_one_way_street_makes_the_matrix_asymmetric() -> None:
    # Triangle 0 -> 1 -> 2 -> 0 one way, 100 m blocks at 10 m/s: 0->1 = 10 s, 1->0 = 1->2->0.
    nodes = [(0.0, 0.0), (100.0, 0.0), (50.0, 86.6)]
    roads = [Road(0, 1, oneway=True), Road(1, 2, oneway=True), Road(2, 0, oneway=True)]
    graph = build_graph(nodes, roads)
    assert build_matrix(graph, [0, 1, 2]).tolist() == [[0, 10, 20], [20, 0, 10], [10, 20, 0]]


def test_grid_matrix_is_manhattan_blocks_times_ten_seconds() -> None:
    # 4 x 4 grid of 100 m blocks at 10 m/s: node r*4+c; (0,0) to (3,3) is 6 blocks = 60 s.
    graph = grid_graph(4, 4)
    result = build_matrix(graph, [0, 3, 12, 15])
    assert result.tolist() == [[0, 30, 30, 60], [30, 0, 60, 30], [30, 60, 0, 30], [60, 30, 30, 0]]
    assert result.dtype == np.int32


def test_repeated_nodes_and_empty_requests() -> None:
    graph = grid_graph(3, 3)
    assert build_matrix(graph, [4, 4]).tolist() == [[0, 0], [0, 0]]
    assert build_matrix(graph, []).shape == (0, 0)


def test_bad_node_and_bad_weight_are_errors() -> None:
    graph = grid_graph(3, 3)
    with pytest.raises(NoPathError, match="not in the graph"):
        build_matrix(graph, [0, 9])
    with pytest.raises(ValueError, match="weight"):
        build_matrix(graph, [0, 1], weight="fuel")
    with pytest.raises(NoPathError, match="not in the graph"):
        GraphOracle(graph).seconds(0, -1)


def test_unreachable_pair_is_a_no_path_error() -> None:
    # Hand-built graph that is not strongly connected: 0 -> 1 only.
    graph = build_graph([(0.0, 0.0), (100.0, 0.0)], [Road(0, 1, oneway=True)])
    with pytest.raises(NoPathError, match="no drivable path"):
        build_matrix(graph, [0, 1])
    with pytest.raises(NoPathError, match="no drivable path"):
        GraphOracle(graph).seconds(1, 0)


def assert_equal_to_networkx_on_1000_random_pairs(graph: RoadGraph, seed: int) -> None:
    """Acceptance: integer seconds equal networkx Dijkstra for 1,000 random pairs, exactly."""
    rng = np.random.default_rng(seed)
    digraph = to_networkx_digraph(graph)
    # 40 origins x 25 destinations = 1,000 random pairs, answered by the oracle's row cache.
    origins = rng.choice(graph.n_nodes, size=40, replace=False)
    oracle = GraphOracle(graph)
    compared = 0
    for origin in origins.tolist():
        lengths = nx.single_source_dijkstra_path_length(digraph, origin, weight="weight")
        for destination in rng.choice(graph.n_nodes, size=25).tolist():
            assert oracle.seconds(origin, destination) == lengths[destination]
            compared += 1
    assert compared == 1000
    # The matrix path (build_matrix) on 60 random nodes: 3,600 more pairs.
    nodes = rng.choice(graph.n_nodes, size=60, replace=False)
    result = build_matrix(graph, nodes)
    for i, origin in enumerate(nodes.tolist()[:10]):
        lengths = nx.single_source_dijkstra_path_length(digraph, origin, weight="weight")
        assert result[i].tolist() == [lengths[node] for node in nodes.tolist()]


@pytest.mark.timeout(120)
def test_travel_times_equal_networkx_on_north_bayreuth(osm_path: Callable[[str], Path]) -> None:
    graph = real_graph(osm_path("north-bayreuth"))
    assert_equal_to_networkx_on_1000_random_pairs(graph, seed=11)


def test_travel_times_equal_networkx_on_the_synthetic_town() -> None:
    assert_equal_to_networkx_on_1000_random_pairs(synthetic_town(), seed=12)


def test_metres_are_those_of_the_path_the_seconds_measure() -> None:
    graph = synthetic_town(seed=5, rows=20, cols=20)
    rng = np.random.default_rng(5)
    oracle = GraphOracle(graph, nodes=rng.choice(graph.n_nodes, 30, replace=False).tolist())
    for _ in range(200):
        origin, destination = (int(x) for x in rng.integers(0, graph.n_nodes, 2))
        path = shortest_path(graph, origin, destination)
        assert oracle.seconds(origin, destination) == path.seconds
        assert oracle.metres(origin, destination) == path.metres
    assert oracle.path(3, 8).nodes[0] == 3


def test_oracle_is_a_travel_time_oracle_and_its_matrix_is_build_matrix() -> None:
    graph = grid_graph(5, 5)
    oracle = GraphOracle(graph, nodes=[0, 24, 12])
    assert isinstance(oracle, TravelTimeOracle)
    assert oracle.nodes == (0, 24, 12)
    assert np.array_equal(oracle.matrix, build_matrix(graph, [0, 24, 12]))
    assert oracle.seconds(0, 24) == 80  # 8 blocks of 10 s, from the matrix
    assert oracle.row_searches == 0
    assert oracle.seconds(1, 24) == 70  # off the matrix: one row search
    assert oracle.row_searches == 1


def test_add_nodes_extends_the_matrix_in_both_directions() -> None:
    graph = synthetic_town(seed=2, rows=12, cols=12)
    oracle = GraphOracle(graph, nodes=[5, 40, 77])
    oracle.add_nodes([40, 100, 5, 130, 100])  # duplicates and known nodes skipped
    assert oracle.nodes == (5, 40, 77, 100, 130)
    assert np.array_equal(oracle.matrix, build_matrix(graph, [5, 40, 77, 100, 130]))
    searches = oracle.row_searches
    assert oracle.seconds(130, 5) == int(oracle.matrix[4, 0])
    assert oracle.row_searches == searches


def test_row_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    graph = grid_graph(5, 5)  # 25 nodes
    oracle = GraphOracle(graph, cache_size=50)  # 50 // 25 = 2 rows
    oracle.seconds(0, 24)
    oracle.seconds(1, 24)
    oracle.seconds(0, 23)  # row 0 still cached; now the most recent
    assert oracle.row_searches == 2
    oracle.seconds(2, 24)  # evicts row 1
    oracle.seconds(0, 22)  # row 0 survived
    assert oracle.row_searches == 3
    oracle.seconds(1, 0)  # row 1 was evicted: searched again
    assert oracle.row_searches == 4


def test_worker_threads_give_the_same_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = synthetic_town(seed=1, rows=15, cols=15)
    nodes = np.random.default_rng(1).choice(graph.n_nodes, 40, replace=False)
    monkeypatch.setattr(matrix_module, "_PARALLEL_MIN_WORK", 0)
    one = build_matrix(graph, nodes, workers=1)
    assert np.array_equal(build_matrix(graph, nodes, workers=2), one)
    assert np.array_equal(build_matrix(graph, nodes, workers=3), one)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        build_matrix(graph, nodes, workers=0)


@pytest.fixture(scope="module")
def small_town() -> RoadGraph:
    return synthetic_town(seed=9, rows=10, cols=10)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matrix_has_zero_diagonal_and_obeys_the_triangle_inequality(
    small_town: RoadGraph, data: st.DataObject
) -> None:
    nodes = data.draw(
        st.lists(st.integers(0, small_town.n_nodes - 1), min_size=1, max_size=12), label="nodes"
    )
    result = build_matrix(small_town, nodes).astype(np.int64)
    assert (np.diag(result) == 0).all()
    assert (result[np.array(nodes)[:, None] != np.array(nodes)[None, :]] > 0).all()
    # d(i, k) <= d(i, j) + d(j, k) for every i, j, k.
    assert (result[:, None, :] <= result[:, :, None] + result[None, :, :]).all()


def test_threads_sharing_one_oracle_get_the_same_answers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    graph = synthetic_town(seed=4, rows=12, cols=12)
    pairs = [
        (int(a), int(b)) for a, b in np.random.default_rng(4).integers(0, graph.n_nodes, (400, 2))
    ]
    expected = [GraphOracle(graph).seconds(a, b) for a, b in pairs]
    shared = GraphOracle(graph, cache_size=3 * graph.n_nodes)  # 3 rows: constant eviction
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda pair: shared.seconds(*pair), pairs))
        pool.submit(shared.add_nodes, [0, 5, 9]).result()
        metres = list(pool.map(lambda pair: shared.metres(*pair), pairs[:50]))
    assert answers == expected
    assert metres == [shortest_path(graph, a, b).metres for a, b in pairs[:50]]


def test_an_arc_longer_than_the_bucket_ring_falls_back_to_scipy() -> None:
    # A ferry-like road of 2,000,000 s (> routing.dial.MAX_WEIGHT = 1,048,576) then 10 s.
    nodes = [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)]
    roads = [Road(0, 1, name="Ferry", seconds=2_000_000), Road(1, 2, name="Pier")]
    graph = build_graph(nodes, roads)
    # 100 m at the default road speed is 10 s (see test_parallel_edges_count_only_the_fastest).
    assert build_matrix(graph, [0, 1, 2]).tolist() == [
        [0, 2_000_000, 2_000_010],
        [2_000_000, 0, 10],
        [2_000_010, 10, 0],
    ]
