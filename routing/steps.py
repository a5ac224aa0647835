"""Turn-by-turn steps: a :class:`routing.paths.Path` becomes an OSRM v5-shaped route.

The shape follows Project-OSRM ``docs/http.md`` (see ../shared/design/CONVENTIONS.md)::

    {"code": "Ok",
     "routes": [{"distance", "duration", "geometry", "weight_name", "weight",
                 "legs": [{"distance", "duration", "summary", "steps": [...]}]}],
     "waypoints": [{"name", "location", "distance"}]}

Rules, as OSRM does them:

- Bearings come from the first/last segment of an edge's polyline (0-359, 0 north).
- The heading change at a node picks the modifier: straight <= 20 degrees, slight 20-40,
  normal 40-120, sharp beyond 120; going back to the node we came from is a U-turn.
- Consecutive edges with the same name (and ref) that go straight on, or bend where there is
  no other way to go, stay in one step. A name change going straight is "new name"; a turn
  staying on the same road is "continue"; a turn where no way goes straight on is
  "end of road"; entering a roundabout is one "roundabout" step with its exit number.
- Steps shorter than 30 m (other than depart, arrive and roundabouts) are merged into their
  neighbours: a short step followed by a turn becomes one combined maneuver at the first
  location; before the arrival it is added to the previous step.

Step distances and durations are sums of the edges' integer metres and seconds, so they add
up exactly to the leg and route totals.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from routing.geo import bearing_deg, haversine_m, signed_turn_deg
from routing.graph import RoadGraph
from routing.instructions import LANGUAGES, arrival_sentence, instruction
from routing.paths import Path, shortest_path

__all__ = [
    "MIN_STEP_M",
    "leg_response",
    "modifier_for_turn",
    "multi_stop_route",
    "route_response",
]

MIN_STEP_M = 30
"""Steps shorter than this many metres are merged into a neighbour."""

_STRAIGHT_DEG = 20.0
_SLIGHT_DEG = 40.0
_NORMAL_DEG = 120.0
_END_OF_ROAD_DEG = 45.0
"""A turn is "end of road" when no way out of the node is within this many degrees of straight."""

_COORDINATE_DECIMALS = 6


def modifier_for_turn(turn_deg: float) -> str:
    """OSRM modifier for a heading change in degrees (positive right, negative left)."""
    size = abs(turn_deg)
    if size <= _STRAIGHT_DEG:
        return "straight"
    side = "right" if turn_deg > 0 else "left"
    if size <= _SLIGHT_DEG:
        return f"slight {side}"
    if size <= _NORMAL_DEG:
        return side
    if size >= 179.0:
        return "uturn"
    return f"sharp {side}"


class _Geometry:
    """Per-edge polyline access and first/last-segment bearings of one graph."""

    def __init__(self, graph: RoadGraph) -> None:
        self.graph = graph

    def points(self, edge: int) -> list[tuple[float, float]]:
        """``(lat, lon)`` vertices of the edge, source first."""
        start = int(self.graph.geometry_offsets[edge])
        stop = int(self.graph.geometry_offsets[edge + 1])
        return list(
            zip(
                self.graph.geometry_lat[start:stop].tolist(),
                self.graph.geometry_lon[start:stop].tolist(),
                strict=True,
            )
        )

    def _fallback(self, edge: int) -> tuple[float, float, float, float]:
        source = int(self.graph.edge_source[edge])
        target = int(self.graph.edge_target[edge])
        return (
            float(self.graph.node_lat[source]),
            float(self.graph.node_lon[source]),
            float(self.graph.node_lat[target]),
            float(self.graph.node_lon[target]),
        )

    def bearing_out(self, edge: int) -> float:
        """Heading when leaving the edge's source: its first non-degenerate segment."""
        points = self.points(edge)
        for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
            if haversine_m(lat1, lon1, lat2, lon2) > 0.05:
                return bearing_deg(lat1, lon1, lat2, lon2)
        return bearing_deg(*self._fallback(edge))

    def bearing_in(self, edge: int) -> float:
        """Heading when arriving at the edge's target: its last non-degenerate segment."""
        points = self.points(edge)
        for (lat1, lon1), (lat2, lon2) in zip(points[-2::-1], points[:0:-1], strict=True):
            if haversine_m(lat1, lon1, lat2, lon2) > 0.05:
                return bearing_deg(lat1, lon1, lat2, lon2)
        return bearing_deg(*self._fallback(edge))


@dataclass
class _Step:
    """A step being built (mutable, internal)."""

    kind: str
    modifier: str
    node: int
    bearing_before: float
    bearing_after: float
    name: str
    ref: str
    edges: list[int] = field(default_factory=list)
    exit_number: int = 0
    arrive_text: str = ""


def _is_roundabout(graph: RoadGraph, edge: int) -> bool:
    return int(graph.edge_flags[edge]) & RoadGraph.FLAG_JUNCTION != 0


def _is_roundabout_loop(graph: RoadGraph, entry_node: int) -> bool:
    """True when junction-flagged edges lead from ``entry_node`` round back to it.

    OSM ``junction`` also tags plain intersection areas (``junction=yes``); only a loop of
    at least three junction edges is treated as a roundabout.
    """
    previous, node = -1, entry_node
    for hops in range(1, 64):
        ways = [
            edge
            for edge in range(int(graph.indptr[node]), int(graph.indptr[node + 1]))
            if _is_roundabout(graph, edge) and int(graph.edge_target[edge]) != previous
        ]
        if not ways:
            return False
        previous, node = node, int(graph.edge_target[ways[0]])
        if node == entry_node:
            return hops >= 3
    return False


def _road_key(graph: RoadGraph, edge: int) -> tuple[str, str]:
    return graph.edge_name[edge], graph.edge_ref[edge]


def _ways_out(graph: RoadGraph, node: int, came_from: int) -> list[int]:
    """Edges leaving ``node`` other than straight back to ``came_from`` (one per target)."""
    seen: set[int] = set()
    ways = []
    for edge in range(int(graph.indptr[node]), int(graph.indptr[node + 1])):
        target = int(graph.edge_target[edge])
        if target != came_from and target != node and target not in seen:
            seen.add(target)
            ways.append(edge)
    return ways


def _length(graph: RoadGraph, edges: Sequence[int]) -> int:
    return sum(int(graph.edge_length_m[edge]) for edge in edges)


def _raw_steps(graph: RoadGraph, path: Path, geometry: _Geometry) -> list[_Step]:
    """One step per maneuver, before short steps are merged (no arrive step yet)."""
    edges = path.edges
    first = edges[0]
    steps = [
        _Step(
            kind="depart",
            modifier="",
            node=path.nodes[0],
            bearing_before=0.0,
            bearing_after=geometry.bearing_out(first),
            name=graph.edge_name[first],
            ref=graph.edge_ref[first],
            edges=[first],
        )
    ]
    index = 1
    while index < len(edges):
        previous, current = edges[index - 1], edges[index]
        node = path.nodes[index]
        bearing_before = geometry.bearing_in(previous)
        if (
            _is_roundabout(graph, current)
            and not _is_roundabout(graph, previous)
            and _is_roundabout_loop(graph, node)
        ):
            index = _roundabout_step(graph, path, geometry, index, steps)
            continue
        turn = signed_turn_deg(bearing_before, geometry.bearing_out(current))
        came_from = int(graph.edge_source[previous])
        uturn = int(graph.edge_target[current]) == came_from
        modifier = "uturn" if uturn else modifier_for_turn(turn)
        same_road = _road_key(graph, current) == (steps[-1].name, steps[-1].ref)
        ways = _ways_out(graph, node, came_from)
        index += 1
        if same_road and modifier == "straight":
            steps[-1].edges.append(current)
            continue
        if len(ways) <= 1 and not uturn:
            # No decision to make here: a bend of the same road needs no instruction.
            if same_road:
                steps[-1].edges.append(current)
                continue
            kind = "new name" if modifier == "straight" else "turn"
        elif same_road:
            kind = "continue"
        elif modifier == "straight":
            kind = "new name"
        elif not uturn and all(
            abs(signed_turn_deg(bearing_before, geometry.bearing_out(way))) > _END_OF_ROAD_DEG
            for way in ways
        ):
            kind = "end of road"
        else:
            kind = "turn"
        steps.append(
            _Step(
                kind=kind,
                modifier=modifier,
                node=node,
                bearing_before=bearing_before,
                bearing_after=geometry.bearing_out(current),
                name=graph.edge_name[current],
                ref=graph.edge_ref[current],
                edges=[current],
            )
        )
    return steps


def _roundabout_step(
    graph: RoadGraph, path: Path, geometry: _Geometry, index: int, steps: list[_Step]
) -> int:
    """Append one "roundabout" step from ``path.edges[index]``; return the next edge index.

    The step covers the roundabout edges and the exit edge. The exit number counts the nodes
    passed inside the roundabout that have a way out of it, the exit node included.
    """
    edges = path.edges
    entry_before = geometry.bearing_in(edges[index - 1])
    end = index
    exits = 0
    while end < len(edges) and _is_roundabout(graph, edges[end]):
        end += 1
        node = path.nodes[end]
        has_exit = any(
            not _is_roundabout(graph, edge)
            for edge in range(int(graph.indptr[node]), int(graph.indptr[node + 1]))
        )
        exits += int(has_exit)
    covered = list(edges[index : end + 1])
    leaving = edges[end] if end < len(edges) else edges[end - 1]
    turn = signed_turn_deg(entry_before, geometry.bearing_out(leaving))
    steps.append(
        _Step(
            kind="roundabout",
            modifier=modifier_for_turn(turn),
            node=path.nodes[index],
            bearing_before=entry_before,
            bearing_after=geometry.bearing_out(edges[index]),
            name=graph.edge_name[leaving],
            ref=graph.edge_ref[leaving],
            edges=covered,
            exit_number=exits if end < len(edges) else 0,
        )
    )
    return end + 1


def _merge_short_steps(graph: RoadGraph, steps: list[_Step]) -> list[_Step]:
    """Merge steps shorter than MIN_STEP_M into neighbours (not depart, arrive, roundabout).

    ``steps`` ends with the arrive step. A short step before the arrival is appended to the
    previous step; otherwise it is combined with the next step into one maneuver at the short
    step's location, whose modifier is the total heading change of both.
    """
    index = 1
    while index < len(steps) - 1:
        short = steps[index]
        if short.kind == "roundabout" or _length(graph, short.edges) >= MIN_STEP_M:
            index += 1
            continue
        following = steps[index + 1]
        previous = steps[index - 1]
        if following.kind in {"arrive", "roundabout"}:
            previous.edges.extend(short.edges)
            del steps[index]
            continue
        turn = signed_turn_deg(short.bearing_before, following.bearing_after)
        modifier = modifier_for_turn(turn)
        same_as_previous = (following.name, following.ref) == (previous.name, previous.ref)
        if modifier == "straight" and same_as_previous:
            previous.edges.extend(short.edges + following.edges)
            del steps[index : index + 2]
            continue
        if modifier == "straight":
            kind = "new name"
        elif same_as_previous:
            kind = "continue"
        elif "end of road" in (short.kind, following.kind):
            kind = "end of road"
        else:
            kind = "turn"
        steps[index : index + 2] = [
            _Step(
                kind=kind,
                modifier=modifier,
                node=short.node,
                bearing_before=short.bearing_before,
                bearing_after=short.bearing_after,
                name=following.name,
                ref=following.ref,
                edges=short.edges + following.edges,
            )
        ]
    return steps


def _location(graph: RoadGraph, node: int) -> list[float]:
    return [
        round(float(graph.node_lon[node]), _COORDINATE_DECIMALS),
        round(float(graph.node_lat[node]), _COORDINATE_DECIMALS),
    ]


def _line(geometry: _Geometry, edges: Sequence[int]) -> list[list[float]]:
    """GeoJSON ``[lon, lat]`` coordinates of consecutive edges (shared vertices once)."""
    coordinates: list[list[float]] = []
    for edge in edges:
        for lat, lon in geometry.points(edge):
            point = [round(lon, _COORDINATE_DECIMALS), round(lat, _COORDINATE_DECIMALS)]
            if not coordinates or coordinates[-1] != point:
                coordinates.append(point)
    if len(coordinates) == 1:
        coordinates.append(list(coordinates[0]))
    return coordinates


def _step_json(graph: RoadGraph, geometry: _Geometry, step: _Step, lang: str) -> dict[str, Any]:
    arrive = step.kind == "arrive"
    if arrive:
        point = _location(graph, step.node)
        coordinates = [point, list(point)]
    else:
        coordinates = _line(geometry, step.edges)
    maneuver: dict[str, Any] = {
        "location": _location(graph, step.node),
        "bearing_before": round(step.bearing_before) % 360,
        "bearing_after": round(step.bearing_after) % 360,
        "type": step.kind,
    }
    if step.modifier:
        maneuver["modifier"] = step.modifier
    if step.kind == "roundabout" and step.exit_number:
        maneuver["exit"] = step.exit_number
    return {
        "distance": _length(graph, step.edges),
        "duration": sum(int(graph.edge_travel_time_s[edge]) for edge in step.edges),
        "geometry": {"type": "LineString", "coordinates": coordinates},
        "name": step.name,
        "ref": step.ref,
        "mode": "driving",
        "maneuver": maneuver,
        "instruction": instruction(
            step.kind,
            step.modifier,
            name=step.name,
            ref=step.ref,
            bearing_after=step.bearing_after,
            exit_number=step.exit_number,
            arrive=step.arrive_text,
            lang=lang,
        ),
    }


def _summary(steps: Sequence[dict[str, Any]]) -> str:
    """The two names driven longest, in route order (OSRM's leg summary)."""
    metres: dict[str, int] = {}
    for step in steps:
        name = step["name"] or step["ref"]
        if name:
            metres[name] = metres.get(name, 0) + int(step["distance"])
    longest = sorted(metres, key=lambda name: -metres[name])[:2]
    return ", ".join(name for name in metres if name in longest)


def leg_response(
    graph: RoadGraph,
    path: Path,
    *,
    lang: str = "ja",
    stop_number: int = 1,
    final: bool = True,
) -> dict[str, Any]:
    """One OSRM leg ``{distance, duration, summary, steps}`` for a path.

    Parameters
    ----------
    graph : RoadGraph
        The graph the path was found on.
    path : Path
        The path; a single-node path gives a depart and an arrive step of 0 m.
    lang : str
        "ja" or "en" for the instruction text.
    stop_number : int
        1-based number of the stop this leg arrives at (for intermediate arrivals).
    final : bool
        True when this leg ends at the route's destination.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
    geometry = _Geometry(graph)
    last_node = path.nodes[-1]
    if path.edges:
        steps = _raw_steps(graph, path, geometry)
        arrive_before = geometry.bearing_in(path.edges[-1])
        last_name, last_ref = graph.edge_name[path.edges[-1]], graph.edge_ref[path.edges[-1]]
    else:
        steps = [_Step("depart", "", last_node, 0.0, 0.0, "", "")]
        arrive_before, last_name, last_ref = 0.0, "", ""
    steps.append(
        _Step(
            kind="arrive",
            modifier="",
            node=last_node,
            bearing_before=arrive_before,
            bearing_after=0.0,
            name=last_name,
            ref=last_ref,
            arrive_text=arrival_sentence(stop_number, final=final, lang=lang),
        )
    )
    steps = _merge_short_steps(graph, steps)
    step_json = [_step_json(graph, geometry, step, lang) for step in steps]
    return {
        "distance": path.metres,
        "duration": path.seconds,
        "summary": _summary(step_json),
        "steps": step_json,
    }


def _waypoint(
    graph: RoadGraph, node: int, name: str, requested: tuple[float, float] | None
) -> dict[str, Any]:
    distance = 0.0
    if requested is not None:
        distance = haversine_m(
            requested[0], requested[1], float(graph.node_lat[node]), float(graph.node_lon[node])
        )
    return {"name": name, "location": _location(graph, node), "distance": round(distance, 1)}


def _route(
    graph: RoadGraph,
    paths: Sequence[Path],
    *,
    lang: str,
    requested_points: Sequence[tuple[float, float]] | None,
) -> dict[str, Any]:
    if requested_points is not None and len(requested_points) != len(paths) + 1:
        raise ValueError("requested_points needs one (lat, lon) per waypoint")
    legs = [
        leg_response(graph, path, lang=lang, stop_number=number, final=number == len(paths))
        for number, path in enumerate(paths, start=1)
    ]
    geometry = _Geometry(graph)
    all_edges = [edge for path in paths for edge in path.edges]
    coordinates = (
        _line(geometry, all_edges) if all_edges else [_location(graph, paths[0].nodes[0])] * 2
    )
    waypoint_nodes = [paths[0].nodes[0], *(path.nodes[-1] for path in paths)]
    names = [legs[0]["steps"][0]["name"], *(leg["steps"][-1]["name"] for leg in legs)]
    waypoints = [
        _waypoint(
            graph,
            node,
            name,
            None
            if requested_points is None
            else (float(requested_points[i][0]), float(requested_points[i][1])),
        )
        for i, (node, name) in enumerate(zip(waypoint_nodes, names, strict=True))
    ]
    duration = sum(path.seconds for path in paths)
    return {
        "code": "Ok",
        "routes": [
            {
                "distance": sum(path.metres for path in paths),
                "duration": duration,
                "weight_name": "duration",
                "weight": duration,
                "geometry": {"type": "LineString", "coordinates": coordinates},
                "legs": legs,
            }
        ],
        "waypoints": waypoints,
    }


def route_response(
    graph: RoadGraph,
    path: Path,
    *,
    lang: str = "ja",
    requested_points: Sequence[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """The OSRM v5 route response for one path (one route, one leg).

    Parameters
    ----------
    graph : RoadGraph
        The graph the path was found on.
    path : Path
        From :func:`routing.paths.shortest_path`.
    lang : str
        "ja" (default) or "en" instruction text.
    requested_points : sequence of (lat, lon), optional
        The coordinates the rider asked for, one per waypoint (origin, destination); each
        waypoint's ``distance`` is then the metres from it to the snapped node (else 0).

    Returns
    -------
    dict
        ``{"code": "Ok", "routes": [...], "waypoints": [...]}``; distances are integer metres,
        durations integer seconds, coordinates ``[lon, lat]``.
    """
    return _route(graph, [path], lang=lang, requested_points=requested_points)


def multi_stop_route(
    graph: RoadGraph,
    nodes: Sequence[int],
    *,
    lang: str = "ja",
    requested_points: Sequence[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """An OSRM route through several nodes in order: one leg per consecutive pair.

    Each leg is the fastest path (:func:`routing.paths.shortest_path`) and has its own depart
    and arrive steps, as in OSRM. Intermediate arrivals say "stop N".

    Raises
    ------
    ValueError
        With fewer than two nodes or an unknown language.
    NoPathError
        When a node id is invalid or two stops are not connected.
    """
    if len(nodes) < 2:
        raise ValueError("a multi-stop route needs at least two nodes")
    paths = [
        shortest_path(graph, int(origin), int(destination))
        for origin, destination in itertools.pairwise(nodes)
    ]
    return _route(graph, paths, lang=lang, requested_points=requested_points)
