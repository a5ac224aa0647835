"""The ``noriai`` command line.

Each command group lives in its own module with a ``register(app)`` function. Known errors
become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from api import cli_darp, cli_demo, cli_households, cli_routing, cli_serve, cli_sim, cli_stops
from api.errors import ApiError
from dispatch.errors import DispatchError
from routing.errors import RoutingError
from simulations.errors import SimulationError

__all__ = ["app", "main"]

app = typer.Typer(
    name="noriai",
    help="Noriai: on-demand bus optimizer and dispatch service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the installed Noriai version."""
    from importlib.metadata import version as package_version

    print(package_version("noriai"))


for module in (cli_routing, cli_stops, cli_darp, cli_serve, cli_sim, cli_demo, cli_households):
    module.register(app)

KNOWN_ERRORS = (RoutingError, DispatchError, SimulationError, ApiError, FileNotFoundError)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; known errors become one line on stderr and exit code 2.

    Typer's standalone mode already turns bad arguments into a usage message with exit code 2.
    """
    try:
        app(args=argv)
    except KNOWN_ERRORS as error:
        print(f"noriai: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
