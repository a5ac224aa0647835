"""Fastest paths: hand-checkable graphs, parallel and one-way edges, and networkx on a real map."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from graph_builders import Road, build_graph, grid_graph, real_graph

from routing.errors import NoPathError
from routing.graph import RoadGraph
from routing.paths import Path, path_from_nodes, shortest_path


def assert_is_walkable(graph: RoadGraph, path: Path) -> None:
    """Each edge joins consecutive nodes and the totals are the edge sums."""
    assert len(path.edges) == len(path.nodes) - 1
    for edge, u, v in zip(path.edges, path.nodes[:-1], path.nodes[1:], strict=True):
        assert (int(graph.edge_source[edge]), int(graph.edge_target[edge])) == (u, v)
    assert path.seconds == sum(int(graph.edge_travel_time_s[e]) for e in path.edges)
    assert path.metres == sum(int(graph.edge_length_m[e]) for e in path.edges)


def test_corner_to_corner_of_a_grid() -> None:
    # 5 x 5 grid, 100 m blocks at 36 km/h = 10 m/s: 8 blocks => 800 m, 80 s.
    graph = grid_graph(5, 5)
    path = shortest_path(graph, 0, 24)
    assert (path.nodes[0], path.nodes[-1], path.metres, path.seconds) == (0, 24, 800, 80)
    assert_is_walkable(graph, path)


def test_parallel_edges_use_the_faster_one() -> None:
    # Two roads 0 -> 1 of 200 m: the old road at 18 km/h (5 m/s, 40 s), the bypass at
    # 72 km/h (20 m/s, 10 s). The path must take the bypass's edge.
    graph = build_graph(
        [(0, 0), (200, 0)],
        [Road(0, 1, name="Old Road", speed_kph=18), Road(0, 1, name="Bypass", speed_kph=72)],
    )
    path = shortest_path(graph, 0, 1)
    assert path.seconds == 10
    assert graph.edge_name[path.edges[0]] == "Bypass"


def test_one_way_street_forces_the_detour() -> None:
    # Square 0 (0,0), 1 (100,0), 2 (100,100), 3 (0,100); 0 -> 1 is one-way 1 -> 0 only,
    # so 0 -> 1 goes round: 0 -> 3 -> 2 -> 1 = 300 m, 30 s.
    graph = build_graph(
        [(0, 0), (100, 0), (100, 100), (0, 100)],
        [Road(1, 0, oneway=True), Road(1, 2), Road(2, 3), Road(3, 0)],
    )
    path = shortest_path(graph, 0, 1)
    assert path.nodes == (0, 3, 2, 1)
    assert (path.metres, path.seconds) == (300, 30)
    assert shortest_path(graph, 1, 0).nodes == (1, 0)


def test_same_node_is_an_empty_path() -> None:
    assert shortest_path(grid_graph(2, 2), 3, 3) == Path(nodes=(3,), edges=(), seconds=0, metres=0)


def test_unknown_node_and_unreachable_node_raise_no_path() -> None:
    graph = build_graph([(0, 0), (100, 0), (500, 0)], [Road(0, 1)])
    with pytest.raises(NoPathError, match="not in the graph"):
        shortest_path(graph, 0, 7)
    with pytest.raises(NoPathError, match="no drivable path"):
        shortest_path(graph, 0, 2)
    with pytest.raises(NoPathError, match="no edge"):
        path_from_nodes(graph, [0, 2])


@pytest.mark.timeout(120)
def test_travel_times_equal_networkx_on_krems(osm_path) -> None:  # type: ignore[no-untyped-def]
    graph = real_graph(osm_path("krems"))
    reference = nx.DiGraph()
    for edge in range(graph.n_edges):
        u, v = int(graph.edge_source[edge]), int(graph.edge_target[edge])
        seconds = int(graph.edge_travel_time_s[edge])
        if not reference.has_edge(u, v) or reference[u][v]["weight"] > seconds:
            reference.add_edge(u, v, weight=seconds)
    rng = np.random.default_rng(3)
    for origin, destination in rng.integers(0, graph.n_nodes, size=(40, 2)).tolist():
        path = shortest_path(graph, origin, destination)
        assert path.seconds == nx.dijkstra_path_length(reference, origin, destination)
        assert_is_walkable(graph, path)
