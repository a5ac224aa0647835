"""CLI commands (see api.cli). Filled in by the issue that owns this group."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this group's commands to the noriai app."""
