"""``noriai households add|list``: register TV households from the office's command line.

Works on the service's database directly (``--db`` or ``NORIAI_DB_URL``, migrated first), so
the operator can register households while the service runs. The home point is checked
against the service area built from the same map options as ``noriai serve`` (skip with
``--no-area-check``). A PIN is read from stdin with ``--pin -`` so it stays out of the shell
history; only its salted hash is stored. A pairing code is printed once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from api.cli_common import fail, parse_latlon, print_json
from api.settings import Settings

__all__ = ["register"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="sqlite:///FILE.sqlite (default sqlite:///noriai.sqlite) or postgresql URL"
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _engine(
    db: str | None, osm: Path | None = None, place: str | None = None
) -> tuple[Settings, Engine]:
    from api.storage.engine import make_engine, migrate

    settings = Settings.from_env({"db_url": db, "osm": osm, "place": place})
    engine = make_engine(settings.db_url)
    migrate(engine)
    return settings, engine


def register(app: typer.Typer) -> None:
    """Add the ``households`` group to the noriai app."""
    group = typer.Typer(
        name="households",
        help="TV households (Minato channel): register and list them.",
        no_args_is_help=True,
    )

    @group.command("add")
    def add(
        name: Annotated[str, typer.Option("--name", help="Display name shown on the TV.")],
        home: Annotated[str, typer.Option("--home", help="Home point LAT,LON in degrees.")],
        consent: Annotated[
            bool, typer.Option("--consent", help="The household agreed that we keep its data.")
        ] = False,
        pin: Annotated[
            str | None, typer.Option("--pin", help="4-6 digit PIN, or '-' to read it from stdin.")
        ] = None,
        pairing_code: Annotated[
            bool, typer.Option("--pairing-code", help="Issue a one-time TV pairing code.")
        ] = False,
        number: Annotated[
            int | None, typer.Option("--number", help="Household number (next free if omitted).")
        ] = None,
        language: Annotated[str, typer.Option("--language", help="ja or en.")] = "ja",
        wheelchair: Annotated[
            bool, typer.Option("--wheelchair", help="A member travels in a wheelchair.")
        ] = False,
        db: DbOption = None,
        osm: Annotated[Path | None, typer.Option("--osm", help="Map of the service area.")] = None,
        place: Annotated[str | None, typer.Option("--place", help="Place name (online).")] = None,
        no_area_check: Annotated[
            bool, typer.Option("--no-area-check", help="Do not check the home point.")
        ] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Register a household; prints its number (and the pairing code, once)."""
        from pydantic import ValidationError
        from sqlmodel import Session

        from api.households import HouseholdCreate, LatLonBody, create_household
        from api.service import Problem
        from routing.types import LatLon

        lat, lon = parse_latlon(home, option="--home")
        if pin == "-":
            pin = sys.stdin.readline().strip()
        try:
            body = HouseholdCreate(
                display_name=name,
                home=LatLonBody(lat=lat, lon=lon),
                number=number,
                pin=pin,
                pairing_code=pairing_code,
                language=language,  # type: ignore[arg-type]
                wheelchair=wheelchair,
                consent=consent,
            )
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            fail(f"{field}: {str(first['msg']).removeprefix('Value error, ')}")
        settings, engine = _engine(db, osm, place)
        in_area = True
        if not no_area_check:
            from api.area import build_service_area

            in_area = build_service_area(settings).area.contains(LatLon(lat, lon))
        try:
            with Session(engine) as session:
                created = create_household(session, body, home_in_area=in_area)
        except Problem as problem:
            fail(problem.detail)
        if as_json:
            print_json(created.model_dump(mode="json"))
            return
        print(f"household {created.number} ({created.id}) registered: {created.display_name}")
        if created.pairing_code:
            print(f"pairing code (shown once): {created.pairing_code}")

    @group.command("list")
    def list_households(db: DbOption = None, as_json: JsonFlag = False) -> None:
        """List every household by number (never a PIN or a code)."""
        from sqlmodel import Session, col, select

        from api.households import household_public
        from api.storage.households import Household

        _, engine = _engine(db)
        with Session(engine) as session:
            rows = [
                household_public(row)
                for row in session.exec(select(Household).order_by(col(Household.number)))
            ]
        if as_json:
            print_json([row.model_dump(mode="json") for row in rows])
            return
        if not rows:
            print("no households yet; add one with `noriai households add`")
            return
        for row in rows:
            flags = ", ".join(
                flag
                for flag, on in (
                    ("PIN", row.has_pin),
                    ("pairing pending", row.pairing_pending),
                    ("wheelchair", row.wheelchair),
                )
                if on
            )
            print(
                f"{row.number:>6}  {row.id}  {row.display_name}  [{row.language}]"
                f"  {row.home.lat:.5f},{row.home.lon:.5f}  {flags}"
            )

    app.add_typer(group)
