"""Building the service area: road graph, virtual stops, travel-time oracle, named places.

The map comes from ``--osm FILE``, ``--place NAME`` (online, OSMnx) or, with neither, the seeded
synthetic town (offline; used by tests and benchmarks). Named places (station, hospital, city
hall ...) come from a JSON file (``--places``) or, for the synthetic town, from fixed positions
in the town.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.config_files import is_valid_position, read_json_file
from api.errors import ConfigError
from api.settings import Settings
from dispatch.area import ServiceArea
from dispatch.model import Access
from dispatch.params import ServiceParams
from routing.graph import RoadGraph
from routing.oracle import TravelTimeOracle
from routing.snap import node_snapper
from routing.stops import VirtualStop
from routing.types import LatLon, Metres, NodeId

__all__ = ["NamedPlaceSpec", "ServiceAreaBundle", "build_service_area", "load_places"]


@dataclass(frozen=True, slots=True)
class NamedPlaceSpec:
    """A named destination: id (slug), display names, kind and position (degrees)."""

    id: str
    name: str
    lat: float
    lon: float
    kind: str = ""
    name_ja: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class ServiceAreaBundle:
    """Everything the Dispatcher and the API need about the service area.

    Attributes
    ----------
    graph : RoadGraph
        Drivable road graph.
    stops : tuple of VirtualStop
        Virtual stops.
    oracle : TravelTimeOracle
        Driving seconds and metres between nodes.
    area : ServiceArea
        Walking access to the virtual stops.
    places : tuple of NamedPlaceSpec
        Named destinations.
    description : str
        Where the map came from (for logs).
    """

    graph: RoadGraph
    stops: tuple[VirtualStop, ...]
    oracle: TravelTimeOracle
    area: ServiceArea
    places: tuple[NamedPlaceSpec, ...]
    description: str

    def node_position(self, node: NodeId) -> LatLon:
        """Position of a road node, degrees."""
        return LatLon(float(self.graph.node_lat[node]), float(self.graph.node_lon[node]))

    def snap(self, point: LatLon) -> tuple[NodeId, Metres]:
        """Nearest road node and its straight-line distance, metres."""
        return node_snapper(self.graph).nearest(point.lat, point.lon)


_SYNTHETIC_PLACES = (
    # (id, English name, Japanese name, kind, row share, column share) of the town's grid box
    ("station", "Station", "駅", "station", 0.5, 0.5),
    ("hospital", "General Hospital", "総合病院", "hospital", 0.8, 0.25),
    ("city-hall", "City Hall", "市役所", "town_hall", 0.35, 0.7),
    ("clinic", "Clinic", "診療所", "clinic", 0.15, 0.15),
    ("supermarket", "Supermarket", "スーパー", "supermarket", 0.65, 0.85),
)


def synthetic_places(graph: RoadGraph) -> tuple[NamedPlaceSpec, ...]:
    """Named places at fixed shares of the graph's bounding box, snapped to a road node."""
    lat_min, lat_max = float(graph.node_lat.min()), float(graph.node_lat.max())
    lon_min, lon_max = float(graph.node_lon.min()), float(graph.node_lon.max())
    snapper = node_snapper(graph)
    places = []
    for place_id, name, name_ja, kind, row_share, col_share in _SYNTHETIC_PLACES:
        lat = lat_min + row_share * (lat_max - lat_min)
        lon = lon_min + col_share * (lon_max - lon_min)
        node, _ = snapper.nearest(lat, lon)
        places.append(
            NamedPlaceSpec(
                id=place_id,
                name=name,
                name_ja=name_ja,
                kind=kind,
                lat=float(graph.node_lat[node]),
                lon=float(graph.node_lon[node]),
            )
        )
    return tuple(places)


def load_places(path: Path) -> tuple[NamedPlaceSpec, ...]:
    """Read ``[{"id", "name", "lat", "lon", "kind"?, "name_ja"?}, ...]`` from a JSON file.

    Raises
    ------
    ConfigError
        Naming the entry and the field that is wrong.
    """
    data = read_json_file(path, "places file")
    if not isinstance(data, list):
        raise ConfigError(f"places file {path} must hold a JSON list of places")
    places = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        where = f"places file {path}, entry {index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object with id, name, lat, lon")
        try:
            place = NamedPlaceSpec(
                id=str(entry["id"]),
                name=str(entry["name"]),
                lat=float(entry["lat"]),
                lon=float(entry["lon"]),
                kind=str(entry.get("kind", "")),
                name_ja=None if entry.get("name_ja") is None else str(entry["name_ja"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"{where}: needs id, name, lat, lon ({error})") from error
        if not is_valid_position(place.lat, place.lon):
            raise ConfigError(f"{where}: lat/lon out of range")
        if place.id in seen:
            raise ConfigError(f"{where}: duplicate id {place.id!r}")
        seen.add(place.id)
        places.append(place)
    return tuple(places)


class CachedServiceArea:
    """A :class:`dispatch.area.ServiceArea` remembering answers per point (LRU).

    Named places (station, hospital ...) and homes are asked about again and again; the
    walking search behind ``access`` costs milliseconds. Points are keyed to 1e-6 degrees
    (about 0.1 m). Not thread-safe by design: the Dispatcher thread is its only user.
    """

    def __init__(self, area: ServiceArea, *, maxsize: int = 8192) -> None:
        self._area = area
        self._maxsize = maxsize
        self._access: OrderedDict[tuple[int, int, int], tuple[Access, ...]] = OrderedDict()
        self._contains: OrderedDict[tuple[int, int], bool] = OrderedDict()

    @staticmethod
    def _key(point: LatLon) -> tuple[int, int]:
        return round(point.lat * 1e6), round(point.lon * 1e6)

    def _remember(self, cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        if len(cache) > self._maxsize:
            cache.popitem(last=False)

    def contains(self, point: LatLon) -> bool:
        """As the wrapped area, cached."""
        key = self._key(point)
        if key in self._contains:
            self._contains.move_to_end(key)
            return self._contains[key]
        value = self._area.contains(point)
        self._remember(self._contains, key, value)
        return value

    def access(self, point: LatLon, *, max_walk_m: Metres) -> Sequence[Access]:
        """As the wrapped area, cached."""
        key = (*self._key(point), max_walk_m)
        if key in self._access:
            self._access.move_to_end(key)
            return self._access[key]
        value = tuple(self._area.access(point, max_walk_m=max_walk_m))
        self._remember(self._access, key, value)
        return value

    def door(self, point: LatLon) -> Access:
        """As the wrapped area (cheap, not cached)."""
        return self._area.door(point)


def _walking_area(graph: RoadGraph, stops: tuple[VirtualStop, ...]) -> ServiceArea:
    """Walking access to the virtual stops at the default walking speed."""
    from dispatch.stop_area import VirtualStopArea

    return VirtualStopArea(graph, stops, walk_speed_mps=ServiceParams().walk_speed_mps)


def build_service_area(settings: Settings) -> ServiceAreaBundle:
    """Load the map, generate virtual stops, build the oracle and the walking-access area.

    Raises
    ------
    routing.errors.RoutingError
        When the map cannot be loaded (message says what to do).
    ConfigError
        When the places file is malformed.
    """
    from routing.load import load_graph
    from routing.matrix import GraphOracle
    from routing.stops import generate_stops

    if settings.osm is None and settings.place is None:
        from routing.synthetic import synthetic_town

        graph = synthetic_town(seed=settings.synthetic_seed)
    else:
        graph = load_graph(settings.osm, place=settings.place, cache_dir=settings.cache_dir)
    stops = generate_stops(graph)
    oracle = GraphOracle(graph, nodes=[stop.node for stop in stops])
    area = CachedServiceArea(_walking_area(graph, stops))
    if settings.places_file is not None:
        places = load_places(settings.places_file)
    elif settings.osm is None and settings.place is None:
        places = synthetic_places(graph)
    else:
        places = ()
    return ServiceAreaBundle(
        graph=graph,
        stops=stops,
        oracle=oracle,
        area=area,
        places=places,
        description=graph.source,
    )
