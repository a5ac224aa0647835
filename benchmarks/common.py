"""Helpers shared by the benchmark scripts (not a package of the product)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``NORIAI_SHARED_DATA`` or ``../shared/data`` beside the project root."""
    return Path(os.environ.get("NORIAI_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; values need not be sorted."""
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))
