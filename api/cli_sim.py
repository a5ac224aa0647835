"""``noriai simulate``, ``noriai replay`` and ``noriai sweep`` (see :mod:`simulations`)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli_common import fail, print_json
from simulations.errors import ScenarioError
from simulations.eventlog import write_event_log
from simulations.kpis import kpi_rows
from simulations.policies import POLICIES, POLICY_LABELS
from simulations.replay import replay_event_log
from simulations.report import write_report
from simulations.requestlog import write_request_log
from simulations.run import SimulationResult, run_scenario
from simulations.scenario import Scenario, load_scenario, parse_override, with_overrides
from simulations.sweep import check_vary, grid, run_sweep, write_sweep
from simulations.world import build_world

__all__ = ["kpi_table", "progress_bar", "register", "simulate_and_write"]


def kpi_table(kpis: Mapping[str, Any], *, title: str = "KPIs") -> Table:
    """The KPI table as a rich Table."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for label, value in kpi_rows(kpis):
        table.add_row(label, value)
    return table


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr as a ``progress(done, total)`` callback (None if disabled)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _apply_options(scenario: Scenario, *, policy: str | None, seed: int | None) -> Scenario:
    overrides: dict[str, Any] = {}
    if policy is not None:
        if policy not in POLICIES:
            fail(f"--policy {policy!r}: allowed: {', '.join(POLICIES)}")
        overrides["policy"] = policy
    if seed is not None:
        if seed < 0:
            fail(f"--seed {seed}: must be >= 0")
        overrides["seed"] = seed
    return with_overrides(scenario, overrides) if overrides else scenario


def simulate_and_write(
    scenario: Scenario,
    *,
    out_dir: Path,
    report_dir: Path | None,
    show_progress: bool,
    status: Callable[[str], None],
) -> tuple[SimulationResult, dict[str, str]]:
    """Build the world, run the day, write the event log, request log and (optional) report."""
    status(f"loading map: {scenario.map.describe()}")
    world = build_world(scenario)
    status(
        f"map: {world.map_description}; {len(world.stops)} virtual stops; "
        f"{len(world.vehicles)} vehicles; policy {POLICY_LABELS[scenario.policy]}"
    )
    with progress_bar(show_progress, f"simulating {scenario.name}") as progress:
        result = run_scenario(scenario, world=world, progress=progress)
    paths = {
        "event_log": str(write_event_log(out_dir / "events.jsonl", result.log)),
        "request_log": str(write_request_log(out_dir / "requests.csv", result.requests)),
    }
    if report_dir is not None:
        status("drawing the report")
        paths["report"] = str(
            write_report(
                report_dir,
                title=f"Noriai simulation: {scenario.name}",
                kpis=result.kpis,
                records=result.log.records,
                graph=world.graph,
                stops=world.stops,
                facts=[
                    ("map", world.map_description),
                    ("virtual stops", str(len(world.stops))),
                    ("vehicles", str(len(world.vehicles))),
                    ("policy", POLICY_LABELS[scenario.policy]),
                    ("seed", str(scenario.seed)),
                    ("simulated in", f"{result.wall_seconds:.1f} s"),
                ],
            )
        )
    return result, paths


def register(app: typer.Typer) -> None:
    """Add ``simulate``, ``replay`` and ``sweep`` to the noriai app."""

    @app.command()
    def simulate(
        scenario_path: Annotated[Path, typer.Argument(metavar="SCENARIO.toml")],
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
        report: Annotated[
            Path | None, typer.Option("--report", help="Write an HTML report into DIR.")
        ] = None,
        policy: Annotated[
            str | None, typer.Option("--policy", help=f"One of {', '.join(POLICIES)}.")
        ] = None,
        seed: Annotated[int | None, typer.Option("--seed", help="Override the seed.")] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Where events.jsonl and requests.csv go."),
        ] = None,
    ) -> None:
        """Simulate one service day of a scenario and print its KPI table."""
        scenario = _apply_options(load_scenario(scenario_path), policy=policy, seed=seed)
        out_dir = out or report or Path("reports") / f"sim-{scenario.name}"
        console = Console(stderr=json_output, soft_wrap=True)

        def status(line: str) -> None:
            if not json_output:
                console.print(line)

        result, paths = simulate_and_write(
            scenario,
            out_dir=out_dir,
            report_dir=report,
            show_progress=not json_output and sys.stderr.isatty(),
            status=status,
        )
        if json_output:
            print_json(
                {
                    "scenario": scenario.name,
                    "policy": scenario.policy,
                    "seed": scenario.seed,
                    "map": result.world.map_description,
                    "stops": len(result.world.stops),
                    "vehicles": len(result.world.vehicles),
                    "kpis": result.kpis,
                    "wall_seconds": round(result.wall_seconds, 3),
                    **paths,
                }
            )
        else:
            console.print(kpi_table(result.kpis, title=f"{scenario.name} ({scenario.policy})"))
            console.print(f"simulated in {result.wall_seconds:.1f} s")
            for name, path in paths.items():
                console.print(f"{name.replace('_', ' ')}: {path}")
        if result.kpis["errors"]:
            print(
                f"noriai: warning: {result.kpis['errors']} events failed; see the 'error' "
                f"records in {paths['event_log']}",
                file=sys.stderr,
            )

    @app.command()
    def replay(
        event_log: Annotated[Path, typer.Argument(metavar="EVENTLOG")],
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Re-run a recorded day from its event log; exit 1 if the outcome differs."""
        outcome = replay_event_log(event_log)
        records = len(outcome.result.log.records)
        if json_output:
            print_json(
                {
                    "matches": outcome.matches,
                    "records": records,
                    "differences": list(outcome.differences),
                    "kpis": outcome.result.kpis,
                }
            )
        elif outcome.matches:
            print(f"replay matches: {records} records and every KPI identical")
        if not outcome.matches:
            print("noriai: replay differs from the recorded run:", file=sys.stderr)
            for line in outcome.differences[:20]:
                print(f"  {line}", file=sys.stderr)
            raise typer.Exit(code=1)

    @app.command()
    def sweep(
        scenario_path: Annotated[Path, typer.Argument(metavar="SCENARIO.toml")],
        vary: Annotated[
            list[str],
            typer.Option("--vary", help="KEY=V1,V2,... (repeatable), e.g. fleet.vehicles=4,6,8"),
        ],
        scheduler: Annotated[
            str | None,
            typer.Option("--scheduler", help="Dask scheduler address (default: LocalCluster)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Directory for sweep.csv/.md/.png.")
        ] = None,
        json_output: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    ) -> None:
        """Run a grid of scenario variants on Dask and write a comparison table and plots."""
        scenario = load_scenario(scenario_path)
        try:
            grid_spec = [parse_override(text) for text in vary]
            check_vary(grid_spec)
            for cell in grid(grid_spec):  # every combination must be valid before we start
                with_overrides(scenario, cell)
        except ScenarioError as error:
            fail(str(error))
        if not json_output:
            cells = 1
            for _key, values in grid_spec:
                cells *= len(values)
            where = scheduler or "a local Dask cluster (2 worker processes)"
            print(f"running {cells} scenarios on {where}", file=sys.stderr)
        result = run_sweep(scenario, grid_spec, scheduler=scheduler)
        paths = write_sweep(result, out or Path("reports") / f"sweep-{scenario.name}")
        if json_output:
            print_json({"rows": list(result.rows), **{k: str(v) for k, v in paths.items()}})
            return
        table = Table(title=f"sweep of {scenario.name}")
        shown = [
            *result.keys,
            "served_share",
            "vehicle_hours_per_served_rider",
            "wait_mean_s",
            "pooled_share",
            "wall_s",
        ]
        for column in shown:
            table.add_column(column, justify="right")
        for row in result.rows:
            table.add_row(
                *(
                    "-"
                    if row.get(c) is None
                    else f"{row[c]:.3f}"
                    if isinstance(row.get(c), float)
                    else str(row[c])
                    for c in shown
                )
            )
        Console(width=None if sys.stdout.isatty() else 200).print(table)
        for name, path in paths.items():
            print(f"{name}: {path}")
