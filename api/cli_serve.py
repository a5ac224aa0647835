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


vehicles_app = typer.Typer(
    help="Fleet of a running server (operator token from NORIAI_OPERATOR_TOKEN or --token).",
    no_args_is_help=True,
)

UrlOption = Annotated[str, typer.Option("--url", help="server base URL")]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="NORIAI_OPERATOR_TOKEN", help="operator token")
]


def _operator_call(
    method: str, url: str, path: str, token: str | None, body: object = None
) -> object:
    import httpx

    from api.cli_common import fail

    if not token:
        fail("the operator token is needed: set NORIAI_OPERATOR_TOKEN or pass --token")
    try:
        response = httpx.request(
            method,
            url.rstrip("/") + path,
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as error:
        fail(f"cannot reach {url} ({error}); start it with `noriai serve`")
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail")
        except ValueError:
            detail = response.text
        fail(f"{method} {path} answered {response.status_code}: {detail}")
    return response.json()


@vehicles_app.command("add")
def vehicles_add(
    vehicle_id: Annotated[str, typer.Argument(help="vehicle id, e.g. bus-1")],
    depot: Annotated[str, typer.Option(help="depot LAT,LON in degrees")],
    seats: Annotated[int, typer.Option(help="passenger seats")] = 8,
    wheelchair_places: Annotated[int, typer.Option(help="wheelchair places")] = 0,
    shift: Annotated[str, typer.Option(help="daily shift HH:MM-HH:MM (local)")] = "07:00-19:00",
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = None,
) -> None:
    """Add a vehicle; prints it with its driver token (shown once)."""
    from api.cli_common import fail, parse_latlon, print_json

    lat, lon = parse_latlon(depot, option="--depot")
    start, _, end = shift.partition("-")
    if not end:
        fail(f"--shift {shift!r} is not HH:MM-HH:MM (for example 07:00-19:00)")
    body = {
        "id": vehicle_id,
        "seats": seats,
        "wheelchair_places": wheelchair_places,
        "depot": {"lat": lat, "lon": lon},
        "shift_start": start,
        "shift_end": end,
    }
    print_json(_operator_call("POST", url, "/v1/vehicles", token, body))


@vehicles_app.command("list")
def vehicles_list(url: UrlOption = "http://127.0.0.1:8000", token: TokenOption = None) -> None:
    """List the vehicles in service."""
    from api.cli_common import print_json

    print_json(_operator_call("GET", url, "/v1/vehicles", token))


@vehicles_app.command("retire")
def vehicles_retire(
    vehicle_id: Annotated[str, typer.Argument(help="vehicle id")],
    url: UrlOption = "http://127.0.0.1:8000",
    token: TokenOption = None,
) -> None:
    """Retire a vehicle (booked riders move to others where possible)."""
    from api.cli_common import print_json

    print_json(_operator_call("POST", url, f"/v1/vehicles/{vehicle_id}/retire", token))


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``vehicles add|list|retire`` to the noriai app."""
    app.command("serve")(serve)
    app.add_typer(vehicles_app, name="vehicles")


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
