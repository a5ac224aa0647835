"""Export a compiled road graph to other tools' structures."""

from __future__ import annotations

import networkx as nx

from routing.graph import RoadGraph

__all__ = ["to_networkx_digraph"]


def to_networkx_digraph(graph: RoadGraph) -> nx.DiGraph:
    """The graph as a ``networkx.DiGraph`` weighted by travel time.

    Nodes are the compiled node ids ``0 .. n_nodes - 1``; the edge attribute ``weight`` is the
    travel time in whole seconds. Parallel edges keep the fastest one, as the compiled graph's
    matrices do, so networkx shortest paths equal :func:`routing.matrix.build_matrix`.
    """
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(graph.n_nodes))
    for u, v, seconds in zip(
        graph.edge_source.tolist(),
        graph.edge_target.tolist(),
        graph.edge_travel_time_s.tolist(),
        strict=True,
    ):
        if not digraph.has_edge(u, v) or digraph[u][v]["weight"] > seconds:
            digraph.add_edge(u, v, weight=seconds)
    return digraph
