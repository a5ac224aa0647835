"""Reading the service area's configuration files (named places, zones): shared checks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from api.errors import ConfigError

__all__ = ["is_valid_position", "read_json_file"]


def read_json_file(path: Path, what: str) -> Any:
    """The parsed JSON of ``path`` (UTF-8).

    Raises
    ------
    ConfigError
        ``"{what} {path} is not readable JSON: ..."`` when the file cannot be read or parsed
        (``what`` names the file's role, e.g. "places file").
    """
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"{what} {path} is not readable JSON: {error}") from error


def is_valid_position(lat: float, lon: float) -> bool:
    """True when ``lat`` is finite in [-90, 90] and ``lon`` in [-180, 180] (degrees)."""
    return math.isfinite(lat) and -90 <= lat <= 90 and -180 <= lon <= 180
