"""``noriai demo``: one simulated town day, offline, with its KPI table and report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.cli_common import fail
from api.cli_sim import kpi_table, simulate_and_write
from simulations.scenario import load_scenario
from simulations.world import build_world

__all__ = ["DEMO_SCENARIO", "register"]

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "aizu-town.toml"


def _dispatcher_ready() -> bool:
    """False while dispatch.Dispatcher is still the interface stub."""
    from dispatch.dispatcher import Dispatcher
    from dispatch.params import ServiceParams

    try:
        Dispatcher(oracle=None, area=None, params=ServiceParams(), vehicles=())  # type: ignore[arg-type]
    except NotImplementedError:
        return False
    except Exception:  # any other complaint means the real constructor ran
        return True
    return True


def _show_map_only(console: Console, scenario_path: Path) -> None:
    """Fallback while the Dispatcher is not there: the graph, its stops and one route."""
    from routing.paths import shortest_path

    scenario = load_scenario(scenario_path)
    world = build_world(scenario)
    graph = world.graph
    console.print(f"map: {world.map_description}")
    console.print(f"road graph: {graph.n_nodes} nodes, {graph.n_edges} edges")
    console.print(f"virtual stops: {len(world.stops)} (spacing {scenario.stops.spacing_m} m)")
    if len(world.stops) >= 2:
        first, last = world.stops[0], world.stops[-1]
        path = shortest_path(graph, first.node, last.node)
        console.print(
            f"route {first.id} -> {last.id}: {path.metres} m, {path.seconds} s, "
            f"{len(path.nodes)} nodes"
        )
    console.print("the Dispatcher is not available yet: no simulation was run")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the noriai app."""

    @app.command()
    def demo(
        scenario_path: Annotated[
            Path, typer.Option("--scenario", help="Scenario to run (default: the town day).")
        ] = DEMO_SCENARIO,
        report: Annotated[
            Path, typer.Option("--report", help="Where the HTML report goes.")
        ] = Path("reports/demo"),
    ) -> None:
        """Run the Aizuwakamatsu-like town day offline; print the KPIs and the report path."""
        if not scenario_path.is_file():
            fail(f"demo scenario {scenario_path} is missing; run from a Noriai checkout")
        console = Console(soft_wrap=True)
        if not _dispatcher_ready():
            _show_map_only(console, scenario_path)
            return
        scenario = load_scenario(scenario_path)
        result, paths = simulate_and_write(
            scenario,
            out_dir=report,
            report_dir=report,
            show_progress=sys.stderr.isatty(),
            status=console.print,
        )
        console.print(kpi_table(result.kpis, title=f"{scenario.name} ({scenario.policy})"))
        console.print(
            f"simulated {result.kpis['requests']} requests in {result.wall_seconds:.1f} s on "
            f"{result.world.map_description}"
        )
        console.print(f"report: {paths['report']}")
        console.print(f"event log: {paths['event_log']}")
