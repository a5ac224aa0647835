"""The HTML report of a run: KPI table, KPI distributions, vehicle timelines and a map.

Plots are drawn with matplotlib (Agg backend, no display needed) and embedded in one
self-contained ``index.html`` as base64 PNGs. The map draws road edges from the graph's
geometry, the virtual stops, and each served trip's fastest path between its stops.
Map data © OpenStreetMap contributors (ODbL 1.0) when the graph came from OSM.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from routing.graph import RoadGraph
from routing.paths import shortest_path
from routing.stops import VirtualStop
from simulations.kpis import kpi_rows

__all__ = ["MAX_MAP_TRIPS", "render_report", "write_report"]

MAX_MAP_TRIPS = 400
"""At most this many trips are drawn on the map (the first ones by pickup time)."""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _served(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per served request: pickup/dropoff times and nodes, vehicle, ready time, direct time."""
    trips: dict[str, dict[str, Any]] = defaultdict(dict)
    for record in records:
        kind = record["type"]
        if kind == "pickup":
            trips[record["id"]].update(
                pickup_t=record["t"],
                pickup_node=record["node"],
                vehicle=record["vehicle"],
                ready_t=record["ready_t"],
                leave_t=record.get("leave_t", record["t"]),
            )
        elif kind == "dropoff":
            trips[record["id"]].update(dropoff_t=record["t"], dropoff_node=record["node"])
        elif kind == "booked":
            trips[record["id"]].update(direct_s=record["direct_s"])
        elif kind == "offered":
            trips[record["id"]].update(walk_m=record["pickup_walk_m"] + record["dropoff_walk_m"])
    return {rid: t for rid, t in trips.items() if "pickup_t" in t and "dropoff_t" in t}


def distributions_figure(records: Sequence[Mapping[str, Any]]) -> Figure:
    """Histograms of pickup wait, in-vehicle time, detour factor and walking distance."""
    trips = _served(records)
    waits = [(t["pickup_t"] - t["ready_t"]) / 60 for t in trips.values()]
    ride = [(t["dropoff_t"] - t["leave_t"]) / 60 for t in trips.values()]
    detour = [
        (t["dropoff_t"] - t["leave_t"]) / t["direct_s"] for t in trips.values() if t.get("direct_s")
    ]
    walk = [t["walk_m"] for t in trips.values() if "walk_m" in t]
    figure, axes = plt.subplots(1, 4, figsize=(14, 3))
    for axis, values, title in zip(
        axes,
        (waits, ride, detour, walk),
        ("pickup wait (min)", "in-vehicle time (min)", "detour factor", "walk (m)"),
        strict=True,
    ):
        if values:
            axis.hist(values, bins=20, color="#3874b5")
        axis.set_title(title)
    axes[0].set_ylabel("served requests")
    return figure


def timelines_figure(records: Sequence[Mapping[str, Any]]) -> Figure:
    """A Gantt chart per vehicle: driving empty / with riders, dwelling, waiting."""
    bars: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        kind = record["type"]
        if kind == "drive":
            key = "driving, empty" if record["load"] == 0 else "driving, riders on board"
        elif kind == "service":
            key = "boarding / alighting"
        elif kind == "wait":
            key = "waiting at stop"
        else:
            continue
        start = record["t0"] / 3600
        bars[record["vehicle"]][key].append((start, record["t1"] / 3600 - start))
    vehicles = sorted(bars, key=lambda v: (len(v), v))
    colours = {
        "driving, empty": "#bbbbbb",
        "driving, riders on board": "#3874b5",
        "boarding / alighting": "#2ca02c",
        "waiting at stop": "#ff9f1c",
    }
    figure, axis = plt.subplots(figsize=(14, max(2.0, 0.35 * len(vehicles) + 1)))
    for row, vehicle in enumerate(vehicles):
        for key, colour in colours.items():
            if bars[vehicle][key]:
                axis.broken_barh(bars[vehicle][key], (row - 0.4, 0.8), color=colour, label=key)
    handles, labels = axis.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        axis.legend(unique.values(), unique.keys(), loc="upper right", fontsize=8)
    axis.set_yticks(range(len(vehicles)), vehicles)
    axis.set_xlabel("hour of day")
    axis.set_title("vehicle timelines")
    return figure


def map_figure(
    graph: RoadGraph, stops: Sequence[VirtualStop], records: Sequence[Mapping[str, Any]]
) -> Figure:
    """Road edges, virtual stops and served trips (fastest path between their stops)."""
    figure, axis = plt.subplots(figsize=(9, 9))
    offsets = graph.geometry_offsets
    lines = [
        np.column_stack(
            (
                graph.geometry_lon[offsets[e] : offsets[e + 1]],
                graph.geometry_lat[offsets[e] : offsets[e + 1]],
            )
        )
        for e in range(graph.n_edges)
    ]
    axis.add_collection(LineCollection(lines, colors="#d0d0d0", linewidths=0.5))
    trips = sorted(_served(records).values(), key=lambda t: t["pickup_t"])[:MAX_MAP_TRIPS]
    trip_lines = []
    for trip in trips:
        path = shortest_path(graph, trip["pickup_node"], trip["dropoff_node"])
        for edge in path.edges:
            trip_lines.append(
                np.column_stack(
                    (
                        graph.geometry_lon[offsets[edge] : offsets[edge + 1]],
                        graph.geometry_lat[offsets[edge] : offsets[edge + 1]],
                    )
                )
            )
    if trip_lines:
        axis.add_collection(
            LineCollection(trip_lines, colors="#3874b5", linewidths=1.0, alpha=0.15)
        )
    if stops:
        axis.scatter(
            [s.lon for s in stops],
            [s.lat for s in stops],
            s=6,
            color="#d62728",
            zorder=3,
            label=f"{len(stops)} virtual stops",
        )
        axis.legend(loc="upper right")
    axis.set_aspect(1 / max(0.1, float(np.cos(np.radians(np.mean(graph.node_lat))))))
    axis.autoscale()
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(f"stops and {len(trips)} served trips")
    return figure


def render_report(
    *,
    title: str,
    kpis: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    graph: RoadGraph,
    stops: Sequence[VirtualStop],
    facts: Sequence[tuple[str, str]] = (),
) -> str:
    """The report as one HTML page (plots embedded)."""
    table = "\n".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>"
        for label, value in kpi_rows(kpis)
    )
    fact_rows = "\n".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in facts
    )
    images = [
        ("KPI distributions", _png(distributions_figure(records))),
        ("Vehicle timelines", _png(timelines_figure(records))),
        ("Map of stops and trips", _png(map_figure(graph, stops, records))),
    ]
    figures = "\n".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{data}">'
        for name, data in images
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1300px}}
table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:2px 8px}}
img{{max-width:100%}}</style></head>
<body><h1>{html.escape(title)}</h1>
<table>{fact_rows}</table>
<h2>KPIs</h2><table>{table}</table>
{figures}
<p>Map data © OpenStreetMap contributors (ODbL 1.0) when the map came from OSM.</p>
</body></html>
"""


def write_report(
    out_dir: Path | str,
    *,
    title: str,
    kpis: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    graph: RoadGraph,
    stops: Sequence[VirtualStop],
    facts: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write ``index.html`` into ``out_dir`` (created) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(
        render_report(
            title=title, kpis=kpis, records=records, graph=graph, stops=stops, facts=facts
        ),
        encoding="utf-8",
    )
    return path
