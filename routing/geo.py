"""Small geodesy helpers: great-circle distances, bearings and a local metric projection.

All angles are degrees; all distances metres. Latitude/longitude are WGS84 degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "EARTH_RADIUS_M",
    "LocalProjection",
    "bearing_deg",
    "haversine_m",
    "point_in_ring",
    "signed_turn_deg",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius in metres (IUGG)."""

FloatArray = npt.NDArray[np.float64]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlmb = math.radians(lon2 - lon1) / 2.0
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlmb) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial compass bearing from point 1 to point 2: 0 north, 90 east, in ``[0, 360)``."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlmb = math.radians(lon2 - lon1)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return math.degrees(math.atan2(y, x)) % 360.0


def signed_turn_deg(bearing_before: float, bearing_after: float) -> float:
    """Heading change in ``(-180, 180]``: positive turns right (clockwise), negative left."""
    delta = (bearing_after - bearing_before) % 360.0
    return delta - 360.0 if delta > 180.0 else delta


def point_in_ring(lat: float, lon: float, ring: list[tuple[float, float]]) -> bool:
    """True when the point lies inside a polygon ring of ``(lat, lon)`` vertices (even-odd rule).

    The ring may be open or closed (first vertex repeated); points exactly on an edge may
    go either way.
    """
    inside = False
    count = len(ring)
    if count < 3:
        return False
    j = count - 1
    for i in range(count):
        lat_i, lon_i = ring[i]
        lat_j, lon_j = ring[j]
        if (lat_i > lat) != (lat_j > lat):
            lon_cross = lon_i + (lat - lat_i) * (lon_j - lon_i) / (lat_j - lat_i)
            if lon < lon_cross:
                inside = not inside
        j = i
    return inside


@dataclass(frozen=True, slots=True)
class LocalProjection:
    """Equirectangular projection to metres around a reference point.

    ``x`` grows east and ``y`` north, in metres from ``(lat0, lon0)``. Accurate to well under
    1 % within a few tens of kilometres of the reference, which is all a town needs.

    Attributes
    ----------
    lat0, lon0 : float
        Reference point in degrees.
    """

    lat0: float
    lon0: float

    @property
    def metres_per_degree_lat(self) -> float:
        """Metres per degree of latitude."""
        return math.radians(1.0) * EARTH_RADIUS_M

    @property
    def metres_per_degree_lon(self) -> float:
        """Metres per degree of longitude at ``lat0``."""
        return math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(self.lat0))

    def to_xy(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Project arrays of degrees to ``(x, y)`` arrays of metres."""
        x = (np.asarray(lon, dtype=np.float64) - self.lon0) * self.metres_per_degree_lon
        y = (np.asarray(lat, dtype=np.float64) - self.lat0) * self.metres_per_degree_lat
        return x, y

    def point_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Project one point to ``(x, y)`` metres."""
        return (
            (lon - self.lon0) * self.metres_per_degree_lon,
            (lat - self.lat0) * self.metres_per_degree_lat,
        )

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        """Inverse of :meth:`point_xy`: metres back to ``(lat, lon)`` degrees."""
        return (
            self.lat0 + y / self.metres_per_degree_lat,
            self.lon0 + x / self.metres_per_degree_lon,
        )
