"""``noriai stops generate`` and ``noriai route``: virtual stops and turn-by-turn routes.

Both take ``--osm FILE`` or ``--place NAME`` (see :mod:`api.cli_routing`); without either
they use the seeded synthetic town and say so on stderr. A malformed coordinate, a point off
the map, an unknown language or a bad spacing is one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli_common import fail, parse_latlon, print_json
from api.cli_routing import CacheDirOption, JsonOption, LoadedMap, OsmOption, PlaceOption, load_map
from routing.errors import PointOffMapError

__all__ = ["MAX_SPACING_M", "MIN_SPACING_M", "register"]

MIN_SPACING_M = 20
"""Smallest accepted ``--spacing`` in metres."""
MAX_SPACING_M = 5000
"""Largest accepted ``--spacing`` in metres."""

_LANGUAGES = ("ja", "en")


def _load(osm: Path | None, place: str | None, cache_dir: Path | None) -> LoadedMap:
    loaded = load_map(osm, place, cache_dir)
    print(f"noriai: map: {loaded.description}", file=sys.stderr)
    return loaded


def register(app: typer.Typer) -> None:
    """Add ``stops generate`` and ``route`` to the noriai app."""
    stops_app = typer.Typer(
        name="stops",
        help="Virtual stops: generate them along suitable roads.",
        no_args_is_help=True,
    )

    @stops_app.command("generate")
    def generate(
        osm: OsmOption = None,
        place: PlaceOption = None,
        cache_dir: CacheDirOption = None,
        spacing: Annotated[
            int, typer.Option("--spacing", help="Target metres between stops.")
        ] = 250,
        out: Annotated[Path, typer.Option("--out", help="GeoJSON file to write.")] = Path(
            "stops.geojson"
        ),
        as_json: JsonOption = False,
    ) -> None:
        """Generate virtual stops about SPACING metres apart and write them as GeoJSON."""
        from routing.stops import generate_stops, write_geojson

        if not MIN_SPACING_M <= spacing <= MAX_SPACING_M:
            fail(
                f"--spacing {spacing} is out of range; use {MIN_SPACING_M}..{MAX_SPACING_M} metres"
            )
        loaded = _load(osm, place, cache_dir)
        stops = generate_stops(loaded.graph, spacing_m=spacing)
        try:
            written = write_geojson(stops, out)
        except OSError as error:
            fail(f"cannot write {out} ({error.strerror}); choose another --out path")
        if as_json:
            print_json(
                {
                    "stops": len(stops),
                    "file": str(written),
                    "spacing_m": spacing,
                    "map": loaded.description,
                }
            )
        else:
            print(f"{len(stops)} virtual stops ({spacing} m spacing) written to {written}")

    app.add_typer(stops_app)

    @app.command("route")
    def route(
        origin: Annotated[
            str, typer.Option("--from", help="Start as LAT,LON in degrees.", show_default=False)
        ],
        destination: Annotated[
            str, typer.Option("--to", help="Destination as LAT,LON in degrees.", show_default=False)
        ],
        osm: OsmOption = None,
        place: PlaceOption = None,
        cache_dir: CacheDirOption = None,
        lang: Annotated[str, typer.Option("--lang", help="Instruction language: ja or en.")] = "ja",
        max_snap: Annotated[
            int, typer.Option("--max-snap", help="Farthest metres from a point to its road node.")
        ] = 1000,
        as_json: JsonOption = False,
    ) -> None:
        """Fastest driving route with turn-by-turn steps, as OSRM v5 JSON on stdout.

        The output is always JSON (``--json`` is accepted for symmetry with other commands).
        """
        from routing.paths import shortest_path
        from routing.snap import nearest_node
        from routing.steps import route_response

        del as_json
        if lang not in _LANGUAGES:
            fail(f"--lang {lang!r} is not supported; use ja or en")
        start = parse_latlon(origin, option="--from")
        end = parse_latlon(destination, option="--to")
        graph = _load(osm, place, cache_dir).graph
        try:
            origin_node = nearest_node(graph, *start, max_distance_m=max_snap)
        except PointOffMapError as error:
            fail(f"--from: {error}")
        try:
            destination_node = nearest_node(graph, *end, max_distance_m=max_snap)
        except PointOffMapError as error:
            fail(f"--to: {error}")
        path = shortest_path(graph, origin_node, destination_node)
        print_json(route_response(graph, path, lang=lang, requested_points=[start, end]))
