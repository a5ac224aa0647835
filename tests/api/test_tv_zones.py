"""Service zones (api.zones): GeoJSON loading, which zone a point is in, the synthetic Minato."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.errors import ConfigError
from api.zones import ZoneKind, door_to_door_rings, load_zones, synthetic_zones, zone_of, zones_for
from routing.synthetic import synthetic_town
from routing.types import LatLon


def square(lon0: float, lat0: float, size: float) -> list[list[float]]:
    """A closed GeoJSON ring ``[lon, lat]``: a square, south-west corner at (lon0, lat0)."""
    return [
        [lon0, lat0],
        [lon0 + size, lat0],
        [lon0 + size, lat0 + size],
        [lon0, lat0 + size],
        [lon0, lat0],
    ]


def write(path: Path, features: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


def feature(ring: list[list[float]], **properties: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_door_to_door_zone_wins_over_the_town_it_lies_in(tmp_path: Path) -> None:
    # Town: 139.90..139.95 E, 37.47..37.52 N; Minato: 139.90..139.91, 37.47..37.48 inside it.
    path = write(
        tmp_path / "zones.geojson",
        [
            feature(square(139.90, 37.47, 0.05), id="town", name="Town", kind="virtual_stops"),
            feature(square(139.90, 37.47, 0.01), id="minato", name="Minato", name_ja="湊"),
        ],
    )
    zones = load_zones(path)
    assert [z.id for z in zones] == ["town", "minato"]
    assert zones[1].kind is ZoneKind.DOOR_TO_DOOR  # the default kind
    assert len(zones[1].ring) == 4  # the closing vertex is dropped
    assert zones[1].ring[0] == (37.47, 139.90)  # (lat, lon), from GeoJSON's [lon, lat]
    in_minato = zone_of(zones, LatLon(37.475, 139.905))
    assert in_minato is not None
    assert in_minato.id == "minato"
    in_town = zone_of(zones, LatLon(37.50, 139.93))
    assert in_town is not None
    assert in_town.id == "town"
    assert zone_of(zones, LatLon(37.60, 139.93)) is None
    assert door_to_door_rings(zones) == [zones[1].ring]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not readable JSON"),
        (json.dumps({"type": "Feature"}), "FeatureCollection"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [{"geometry": {"type": "Point", "coordinates": [1, 2]}}],
                }
            ),
            "Polygon",
        ),
        (
            json.dumps(
                {"type": "FeatureCollection", "features": [feature([[1, 2], [3, 4]], id="x")]}
            ),
            "at least 3",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature(square(139.9, 37.4, 0.1), kind="teleport")],
                }
            ),
            "kind 'teleport'",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature([[1, 2], [3, "x"], [5, 6]], id="x")],
                }
            ),
            "[lon, lat] numbers",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [feature(square(200.0, 37.4, 0.1), id="x")],
                }
            ),
            "out of range",
        ),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        feature(square(139.9, 37.4, 0.1), id="a"),
                        feature(square(139.9, 37.4, 0.1), id="a"),
                    ],
                }
            ),
            "duplicate zone id 'a'",
        ),
    ],
)
def test_a_malformed_zones_file_names_what_is_wrong(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "zones.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_zones(path)


def test_synthetic_minato_is_the_south_western_corner_of_the_town() -> None:
    graph = synthetic_town(seed=7)
    (minato,) = synthetic_zones(graph)
    lat_min, lat_max = float(graph.node_lat.min()), float(graph.node_lat.max())
    lon_min, lon_max = float(graph.node_lon.min()), float(graph.node_lon.max())

    def at(row: float, col: float) -> LatLon:
        return LatLon(lat_min + row * (lat_max - lat_min), lon_min + col * (lon_max - lon_min))

    assert minato.contains(at(0.0, 0.0))  # the corner node itself (1 % padding)
    assert minato.contains(at(0.39, 0.39))
    assert not minato.contains(at(0.41, 0.2))
    assert not minato.contains(at(0.5, 0.5))  # the station
    assert zones_for(zones_file=None, graph=graph, synthetic=False) == ()
    assert zones_for(zones_file=None, graph=graph, synthetic=True) == (minato,)
