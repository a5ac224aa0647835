"""``noriai darp INSTANCE.txt``: solve a Cordeau (2006) dial-a-ride instance.

File reading happens here; parsing and solving are pure (:mod:`dispatch.darp`). The feasibility
verdict comes from the independent checker (:mod:`dispatch.darp_check`). When a ``bks.csv``
(columns ``instance``, ``bks_cost``) lies beside the file or one folder up, the best known cost
and the gap to it are printed too. A missing or corrupt file is one line on stderr, exit 2.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_common import fail, print_json
from dispatch.darp import DarpFormatError, parse_cordeau, solve_darp
from dispatch.darp_check import check_solution

__all__ = ["darp_summary", "find_bks", "register"]


def find_bks(instance_path: Path, name: str) -> float | None:
    """Best known cost of ``name`` from a ``bks.csv`` beside the file or one folder up."""
    for folder in (instance_path.parent, instance_path.parent.parent):
        table = folder / "bks.csv"
        if not table.is_file():
            continue
        try:
            with table.open(newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get("instance") == name and row.get("bks_cost"):
                        return float(row["bks_cost"])
        except (OSError, ValueError, csv.Error):
            return None
    return None


def darp_summary(
    path: Path, *, time_limit_s: float, seed: int = 0, plain: bool = False
) -> dict[str, Any]:
    """Read, solve and check one instance file; the CLI's JSON as a dict.

    Raises FileNotFoundError / DarpFormatError for a missing or malformed file.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"instance file {path} not found; give a Cordeau .txt file"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DarpFormatError(f"cannot read {path}: {error}") from None
    instance = parse_cordeau(text, name=path.stem)
    result = solve_darp(instance, time_limit_s=time_limit_s, seed=seed, plain=plain)
    verdict = check_solution(instance, result.routes)
    summary: dict[str, Any] = {
        "instance": instance.name,
        "cost": round(verdict.cost, 6),
        "feasible": verdict.feasible,
        "vehicles_used": result.vehicles_used,
        "routes": [list(route) for route in result.routes if route],
        "seconds": round(result.seconds, 3),
        "served": verdict.served,
        "requests": instance.requests,
        "solver": "plain" if plain else "noriai",
    }
    if verdict.violations:
        summary["violations"] = [violation.message for violation in verdict.violations[:20]]
    bks = find_bks(path, instance.name)
    if bks is not None:
        summary["bks"] = bks
        summary["gap_percent"] = round(100.0 * (verdict.cost - bks) / bks, 3)
    return summary


def register(app: typer.Typer) -> None:
    """Add ``noriai darp`` to the app."""

    @app.command("darp")
    def darp(
        instance: Annotated[Path, typer.Argument(help="Cordeau instance file, e.g. a2-16.txt.")],
        time_limit: Annotated[
            float, typer.Option("--time-limit", help="Search time, seconds.", min=0.1)
        ] = 10.0,
        seed: Annotated[int, typer.Option("--seed", help="Search seed.")] = 0,
        plain: Annotated[
            bool, typer.Option("--plain", help="Textbook OR-Tools model (the baseline).")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    ) -> None:
        """Solve a dial-a-ride instance (Cordeau format) and check the answer independently."""
        try:
            summary = darp_summary(instance, time_limit_s=time_limit, seed=seed, plain=plain)
        except (FileNotFoundError, DarpFormatError) as error:
            fail(str(error))
        if as_json:
            print_json(summary)
            return
        gap = f", gap {summary['gap_percent']:.2f}% to {summary['bks']}" if "bks" in summary else ""
        print(
            f"{summary['instance']}: cost {summary['cost']:.2f}{gap}; "
            f"{'feasible' if summary['feasible'] else 'INFEASIBLE'} "
            f"({summary['served']}/{summary['requests']} served, "
            f"{summary['vehicles_used']} vehicles, {summary['seconds']:.1f} s)"
        )
        for number, route in enumerate(summary["routes"]):
            print(f"  route {number}: {' '.join(map(str, route))}")
        for message in summary.get("violations", []):
            print(f"  violation: {message}")
