"""Shared fixtures: the read-only shared data folder and CI behaviour."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_data_dir() -> Path:
    """``NORIAI_SHARED_DATA`` or ``../shared/data`` beside the project root."""
    return Path(os.environ.get("NORIAI_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()


def need(condition: bool, why: str) -> None:
    """Skip locally when a resource is missing; fail under CI=true, where it must exist."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{why} (required when CI=true)")
        pytest.skip(why)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; fails under CI when absent."""
    path = shared_data_dir()
    need(path.is_dir(), f"shared data folder {path} is missing; set NORIAI_SHARED_DATA")
    return path


OSM_EXTRACTS = ("krems", "north-bayreuth", "andorra", "monaco")


@pytest.fixture(scope="session")
def osm_path(shared_data: Path):  # type: ignore[no-untyped-def]
    """Function returning the path of a named extract, e.g. ``osm_path("krems")``."""

    def _path(name: str) -> Path:
        path = shared_data / "osm" / f"{name}.osm.bz2"
        need(path.is_file(), f"OSM extract {path} is missing")
        return path

    return _path
