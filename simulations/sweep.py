"""Scenario sweeps on Dask: a grid of overrides, one simulated day per cell.

Each task receives the scenario as plain data (the TOML mapping and its directory) plus its
overrides, and builds the map, Dispatcher and OR-Tools models inside the worker (they are not
picklable). By default a :class:`dask.distributed.LocalCluster` with two worker processes runs
the grid; ``scheduler="tcp://host:8786"`` uses an existing cluster instead.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulations.errors import ScenarioError, SimulationError
from simulations.scenario import Scenario, scenario_from_mapping, with_overrides

__all__ = ["SWEEP_COLUMNS", "SweepResult", "grid", "run_cell", "run_sweep", "write_sweep"]

SWEEP_COLUMNS = (
    "requests",
    "served_share",
    "rejected",
    "wait_mean_s",
    "in_vehicle_mean_s",
    "detour_mean",
    "on_time_share",
    "pooled_share",
    "occupancy",
    "vehicle_km",
    "empty_km",
    "vehicle_hours",
    "vehicle_hours_per_served_rider",
    "passengers_per_vehicle_hour",
    "errors",
    "wall_s",
)


@dataclass(frozen=True, slots=True)
class SweepResult:
    """The grid's rows (override values, then KPI columns) and where they were written."""

    keys: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]


def grid(vary: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the varied values, first key slowest."""
    keys = [key for key, _ in vary]
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in vary))
    ]


def run_cell(raw: Mapping[str, Any], base_dir: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Run one cell of the grid (inside a worker): build everything, simulate, return KPIs."""
    from simulations.run import run_scenario

    scenario = with_overrides(scenario_from_mapping(raw, base_dir=Path(base_dir)), overrides)
    result = run_scenario(scenario)
    row: dict[str, Any] = dict(overrides)
    for column in SWEEP_COLUMNS:
        row[column] = (
            result.kpis.get(column) if column != "wall_s" else round(result.wall_seconds, 2)
        )
    return row


def run_sweep(
    scenario: Scenario,
    vary: Sequence[tuple[str, Sequence[Any]]],
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
) -> SweepResult:
    """Run the grid on Dask and return its rows in grid order.

    Parameters
    ----------
    scenario : Scenario
        The base scenario.
    vary : sequence of (dotted key, values)
        What to vary, e.g. ``[("fleet.vehicles", [4, 6, 8])]``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default a LocalCluster.
    n_workers : int
        Worker processes of the LocalCluster.

    Raises
    ------
    ScenarioError
        When an override makes the scenario invalid (checked before any task starts).
    SimulationError
        When the scheduler cannot be reached or a task fails.
    """
    from dask.distributed import Client, LocalCluster

    cells = grid(vary)
    for cell in cells:  # validate every combination up front: fail fast, before the cluster
        with_overrides(scenario, cell)
    raw = dict(scenario.raw)
    base = str(scenario.base_dir)
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)  # type: ignore[no-untyped-call]
        else:
            try:
                client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as error:
                raise SimulationError(
                    f"cannot reach the Dask scheduler at {scheduler} ({error}); start one with "
                    "`dask scheduler` or leave out --scheduler for a local cluster"
                ) from error
        try:
            futures = [client.submit(run_cell, raw, base, cell, pure=False) for cell in cells]
            rows = client.gather(futures)  # type: ignore[no-untyped-call]
        finally:
            client.close()  # type: ignore[no-untyped-call]
    finally:
        if cluster is not None:
            cluster.close()
    return SweepResult(keys=tuple(key for key, _ in vary), rows=tuple(rows))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_sweep(result: SweepResult, out_dir: Path | str) -> dict[str, Path]:
    """Write ``sweep.csv``, ``sweep.md`` and ``sweep.png`` into ``out_dir``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = list(result.keys) + list(SWEEP_COLUMNS)
    csv_path = out / "sweep.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in result.rows:
            writer.writerow({c: row.get(c) for c in columns})
    md_path = out / "sweep.md"
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in result.rows),
    ]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    labels = [", ".join(f"{k}={row[k]}" for k in result.keys) for row in result.rows]
    figure, axes = plt.subplots(1, 3, figsize=(15, max(3.0, 0.4 * len(labels) + 1)))
    for axis, column, title in zip(
        axes,
        ("served_share", "vehicle_hours_per_served_rider", "wait_mean_s"),
        ("served share", "vehicle-hours per served rider", "mean pickup wait (s)"),
        strict=True,
    ):
        values = [row.get(column) or 0.0 for row in result.rows]
        axis.barh(range(len(labels)), values, color="#3874b5")
        axis.set_yticks(range(len(labels)), labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(title)
    png_path = out / "sweep.png"
    figure.savefig(png_path, dpi=90, bbox_inches="tight")
    plt.close(figure)
    return {"csv": csv_path, "markdown": md_path, "plot": png_path}


def check_vary(vary: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Reject an empty grid or a key varied twice."""
    if not vary:
        raise ScenarioError("give at least one --vary KEY=V1,V2 (e.g. fleet.vehicles=4,6,8)")
    keys = [key for key, _ in vary]
    if len(set(keys)) != len(keys):
        raise ScenarioError(f"--vary names a key twice: {keys}")
