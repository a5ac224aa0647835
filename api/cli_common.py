"""Small helpers shared by the CLI command modules."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

__all__ = ["fail", "parse_latlon", "print_json"]


def fail(message: str) -> NoReturn:
    """Print one clear line on stderr and exit with code 2."""
    print(f"noriai: error: {message}", file=sys.stderr)
    raise typer.Exit(code=2)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (non-ASCII kept readable)."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def parse_latlon(text: str, *, option: str) -> tuple[float, float]:
    """Parse ``"LAT,LON"`` in degrees; exit 2 naming the option on malformed input."""
    parts = text.split(",")
    if len(parts) != 2:
        fail(f"{option} {text!r} is not LAT,LON (for example 48.41,15.60)")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        fail(f"{option} {text!r} is not LAT,LON with decimal degrees (for example 48.41,15.60)")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        fail(f"{option} {text!r} is out of range: latitude -90..90, longitude -180..180")
    return lat, lon
