"""``noriai serve``: the booking service on uvicorn (see api.app)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def serve(
    osm: Annotated[Path | None, typer.Option("--osm", help="map extract (.osm / .osm.bz2)")] = None,
    place: Annotated[
        str | None, typer.Option("--place", help="place name fetched online via OSMnx")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="sqlite:///FILE.sqlite (default sqlite:///noriai.sqlite) or postgresql URL"
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    places: Annotated[
        Path | None, typer.Option("--places", help="JSON file of named places")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="service time zone (default Asia/Tokyo)")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Start the booking service: one Dispatcher per service day, storage, rider API.

    Without --osm or --place the seeded synthetic town is served (offline). The operator token
    is read from NORIAI_OPERATOR_TOKEN, or generated and printed at the first start.
    """
    import uvicorn

    from api.app import create_app
    from api.area import build_service_area
    from api.settings import Settings
    from api.storage.engine import OwnerLock, make_engine, migrate

    settings = Settings.from_env(
        {
            "osm": osm,
            "place": place,
            "db_url": db,
            "host": host,
            "port": port,
            "places_file": places,
            "timezone": timezone,
        }
    )
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    # Pre-flight outside uvicorn, so a bad map or database is one line on stderr, not a trace.
    bundle = build_service_area(settings)
    engine = make_engine(settings.db_url)
    migrate(engine)
    OwnerLock.acquire(
        engine, wait_s=settings.owner_lock_wait_s
    )  # held until exit; the app's own acquire is re-entrant
    typer.echo(
        f"noriai: serving {bundle.description} ({len(bundle.stops)} virtual stops) "
        f"on http://{settings.host}:{settings.port} (docs at /docs)",
        err=True,
    )
    uvicorn.run(
        create_app(settings, bundle=bundle),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the noriai app."""
    app.command("serve")(serve)


def main() -> None:
    """``python -m api.cli_serve ...``: the serve command alone (same as ``noriai serve``)."""
    import sys

    from api.errors import ApiError
    from dispatch.errors import DispatchError
    from routing.errors import RoutingError

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(serve)
    try:
        app()
    except (ApiError, DispatchError, RoutingError, FileNotFoundError) as error:
        print(f"noriai: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
