"""Service zones: polygons of the service area's configuration and how riders board in each.

Two kinds of zone exist:

- ``door_to_door`` (e.g. Minato, a mountain district): the car picks the rider up at the road
  node nearest their home point (``dispatch.model.Request.door_to_door``);
- ``virtual_stops`` (the town): riders walk to a virtual stop. Every point outside all
  door-to-door zones is served this way, so a ``virtual_stops`` zone is documentation only.

Zones come from a GeoJSON file (``NORIAI_ZONES_FILE``; the shape of GTFS-Flex
``locations.geojson``: a FeatureCollection of Polygon features, coordinates ``[lon, lat]``,
``properties`` ``{"id", "name", "name_ja"?, "kind"?}`` with kind defaulting to
``door_to_door``). Without a file, the synthetic town gets one door-to-door zone "Minato"
over its south-western corner, and a real map gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from api.config_files import is_valid_position, read_json_file
from api.errors import ConfigError
from routing.geo import point_in_ring
from routing.graph import RoadGraph
from routing.types import LatLon

__all__ = [
    "ServiceZone",
    "ZoneKind",
    "door_to_door_rings",
    "load_zones",
    "synthetic_zones",
    "zone_of",
    "zones_for",
]

Ring = tuple[tuple[float, float], ...]
"""A polygon ring of ``(lat, lon)`` vertices in degrees (open: the first vertex not repeated)."""


class ZoneKind(StrEnum):
    """How riders board inside a zone."""

    DOOR_TO_DOOR = "door_to_door"
    VIRTUAL_STOPS = "virtual_stops"


@dataclass(frozen=True, slots=True)
class ServiceZone:
    """A named polygon of the service area.

    Attributes
    ----------
    id : str
        Slug, e.g. ``"minato"``.
    name : str
        English display name.
    name_ja : str or None
        Japanese display name.
    kind : ZoneKind
        Door-to-door or virtual stops.
    ring : tuple of (lat, lon)
        The outer ring in degrees, at least three vertices.
    """

    id: str
    name: str
    name_ja: str | None
    kind: ZoneKind
    ring: Ring

    def contains(self, point: LatLon) -> bool:
        """True when ``point`` lies inside the ring (even-odd rule)."""
        return point_in_ring(point.lat, point.lon, list(self.ring))


def zone_of(zones: Sequence[ServiceZone], point: LatLon) -> ServiceZone | None:
    """The first door-to-door zone containing ``point``, else the first other zone, else None."""
    inside = [zone for zone in zones if zone.contains(point)]
    for zone in inside:
        if zone.kind is ZoneKind.DOOR_TO_DOOR:
            return zone
    return inside[0] if inside else None


def door_to_door_rings(zones: Sequence[ServiceZone]) -> list[Ring]:
    """The rings of the door-to-door zones (what ``VirtualStopArea(zones=...)`` takes)."""
    return [zone.ring for zone in zones if zone.kind is ZoneKind.DOOR_TO_DOOR]


def synthetic_zones(graph: RoadGraph) -> tuple[ServiceZone, ...]:
    """Minato over the south-western 40 % x 40 % of the graph's bounding box.

    The box is widened by 1 % of its size on the outer sides so border nodes are inside.
    """
    lat_min, lat_max = float(graph.node_lat.min()), float(graph.node_lat.max())
    lon_min, lon_max = float(graph.node_lon.min()), float(graph.node_lon.max())
    pad_lat, pad_lon = 0.01 * (lat_max - lat_min), 0.01 * (lon_max - lon_min)
    south, west = lat_min - pad_lat, lon_min - pad_lon
    north = lat_min + 0.4 * (lat_max - lat_min)
    east = lon_min + 0.4 * (lon_max - lon_min)
    ring = ((south, west), (south, east), (north, east), (north, west))
    return (
        ServiceZone(
            id="minato",
            name="Minato",
            name_ja="湊",
            kind=ZoneKind.DOOR_TO_DOOR,
            ring=ring,
        ),
    )


def _ring(coordinates: Any, where: str) -> Ring:
    if not isinstance(coordinates, list) or not coordinates:
        raise ConfigError(f"{where}: Polygon coordinates must be a list of rings")
    outer = coordinates[0]
    if not isinstance(outer, list) or len(outer) < 3:
        raise ConfigError(f"{where}: the outer ring needs at least 3 [lon, lat] positions")
    ring: list[tuple[float, float]] = []
    for position in outer:
        try:
            lon, lat = float(position[0]), float(position[1])
        except (TypeError, ValueError, IndexError) as error:
            raise ConfigError(f"{where}: positions must be [lon, lat] numbers ({error})") from error
        if not is_valid_position(lat, lon):
            raise ConfigError(f"{where}: position [{lon}, {lat}] is out of range")
        ring.append((lat, lon))
    if len(ring) > 3 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise ConfigError(f"{where}: the outer ring needs at least 3 distinct positions")
    return tuple(ring)


def load_zones(path: Path) -> tuple[ServiceZone, ...]:
    """Read zones from a GeoJSON FeatureCollection of Polygon features.

    Raises
    ------
    ConfigError
        Naming the feature and what is wrong with it.
    """
    data = read_json_file(path, "zones file")
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ConfigError(f"zones file {path} must be a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise ConfigError(f"zones file {path}: 'features' must be a list")
    zones: list[ServiceZone] = []
    seen: set[str] = set()
    for index, feature in enumerate(features):
        where = f"zones file {path}, feature {index}"
        if not isinstance(feature, dict):
            raise ConfigError(f"{where}: expected a GeoJSON Feature object")
        geometry = feature.get("geometry") or {}
        if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
            raise ConfigError(f"{where}: geometry must be a Polygon")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise ConfigError(f"{where}: properties must be an object")
        zone_id = str(properties.get("id") or feature.get("id") or f"zone-{index}")
        kind_text = str(properties.get("kind", ZoneKind.DOOR_TO_DOOR.value))
        try:
            kind = ZoneKind(kind_text)
        except ValueError:
            allowed = ", ".join(k.value for k in ZoneKind)
            raise ConfigError(f"{where}: kind {kind_text!r} is not one of {allowed}") from None
        if zone_id in seen:
            raise ConfigError(f"{where}: duplicate zone id {zone_id!r}")
        seen.add(zone_id)
        name_ja = properties.get("name_ja")
        zones.append(
            ServiceZone(
                id=zone_id,
                name=str(properties.get("name", zone_id)),
                name_ja=None if name_ja is None else str(name_ja),
                kind=kind,
                ring=_ring(geometry.get("coordinates"), where),
            )
        )
    return tuple(zones)


def zones_for(
    *, zones_file: Path | None, graph: RoadGraph, synthetic: bool
) -> tuple[ServiceZone, ...]:
    """The configured zones: from ``zones_file``, else Minato for the synthetic town, else none."""
    if zones_file is not None:
        return load_zones(zones_file)
    if synthetic:
        return synthetic_zones(graph)
    return ()
