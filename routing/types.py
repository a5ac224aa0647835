"""Scalar aliases shared by every Noriai package.

All times inside the core are integer seconds (durations, or seconds since the service day's
local midnight); all distances are integer metres. Node ids index the compiled road graph's
node arrays (0 .. n_nodes - 1), never OSM ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["LatLon", "Metres", "NodeId", "Seconds"]

Seconds: TypeAlias = int
Metres: TypeAlias = int
NodeId: TypeAlias = int


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 point.

    Attributes
    ----------
    lat : float
        Latitude in degrees, -90 .. 90.
    lon : float
        Longitude in degrees, -180 .. 180.
    """

    lat: float
    lon: float
