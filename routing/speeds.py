"""Driving speeds: OSM ``maxspeed`` parsing and Japanese defaults per road class.

Where OSM has no usable ``maxspeed`` the road class decides the speed (km/h):

=================  =====  ==========================================================
highway            km/h   reasoning
=================  =====  ==========================================================
motorway            80    legal 100 km/h on expressways (道路交通法施行令 第27条); a
                          bus cruises below it and ramps and tolls cost time
trunk               60    legal default on general roads is 60 km/h (施行令 第11条);
                          national roads outside town centres are usually signed 50-60
primary             50    urban national/prefectural roads are mostly signed 40-50
secondary           40    prefectural roads in town: typical sign 40 km/h
tertiary            40    municipal through roads, same as secondary in practice
unclassified        30    narrow roads without a centre line: often 30 km/h signs
residential         30    "Zone 30" (ゾーン30) residential areas, narrow streets
living_street       10    shared spaces (walking pace plus a little)
service             15    access roads on premises (only when service roads are kept)
``*_link``          30-40 ramps and slip roads: half the parent class, at least 30
=================  =====  ==========================================================

The defaults are free-flow speeds for a small bus, not legal maxima: the legal default of
60 km/h applies to every unsigned general road in Japan, but a bus meets signals, narrow
streets and parked cars, so town roads get the lower, typically signed speeds. Every speed,
from OSM or default, is capped at :data:`MAX_BUS_SPEED_KPH` (100 km/h: the legal maximum for
large buses on Japanese expressways). Change the table in one place here; it is part of the
graph cache key, so a change rebuilds cached graphs.

``maxspeed`` values understood: ``"50"``, ``"30 mph"``, ``"50 km/h"``, ``"50;30"`` and lists
(the smallest wins: the conservative choice), country zone tags such as ``"JP:urban"``,
``"DE:urban"``, ``"AT:rural"``, ``"DE:zone30"``, ``"DE:living_street"``, ``"DE:motorway"``,
``"walk"`` and ``"none"``. Unknown values (``"signals"``, ``"variable"``) fall back to the
road-class default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "FALLBACK_SPEED_KPH",
    "MAX_BUS_SPEED_KPH",
    "default_speed_kph",
    "edge_speed_kph",
    "parse_maxspeed",
    "speed_settings",
    "travel_time_seconds",
]

MAX_BUS_SPEED_KPH = 100.0
"""Upper bound on any edge speed, km/h (large buses on Japanese expressways)."""

FALLBACK_SPEED_KPH = 30.0
"""Speed for a road class missing from the table, km/h."""

DEFAULT_SPEEDS_KPH: Mapping[str, float] = {
    "motorway": 80.0,
    "motorway_link": 40.0,
    "trunk": 60.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 30.0,
    "secondary": 40.0,
    "secondary_link": 30.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
}
"""Japanese free-flow defaults per OSM ``highway`` class, km/h (see the module docstring)."""

# Zone tags "CC:zone" -> km/h. Japan has one legal default for general roads (60 km/h) whether
# urban or rural; Germany/Austria/France use 50 in towns and 100 outside (France 80 since 2018).
_ZONE_SPEEDS_KPH: Mapping[str, float] = {
    "JP:urban": 60.0,
    "JP:rural": 60.0,
    "JP:nsl_single": 60.0,
    "JP:motorway": 100.0,
    "JP:expressway": 100.0,
    "FR:rural": 80.0,
}
_GENERIC_ZONE_SPEEDS_KPH: Mapping[str, float] = {
    "urban": 50.0,
    "rural": 100.0,
    "trunk": 100.0,
    "motorway": MAX_BUS_SPEED_KPH,
    "living_street": 7.0,
    "walk": 7.0,
    "bicycle_road": 30.0,
    "nsl_single": 100.0,
    "nsl_dual": 110.0,
}
_MPH_TO_KPH = 1.609344
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_ZONE_NUMBER = re.compile(r"zone:?(\d+)", re.IGNORECASE)


def _parse_one(text: str) -> float | None:
    """One ``maxspeed`` token in km/h, or None when it is not understood."""
    text = text.strip()
    if not text:
        return None
    match = _NUMBER.match(text)
    if match:
        value = float(match.group(1))
        if match.group(2) and match.group(2).lower() == "mph":
            value *= _MPH_TO_KPH
        return value if value > 0 else None
    lowered = text.lower()
    if lowered == "none":
        return MAX_BUS_SPEED_KPH
    if lowered == "walk":
        return _GENERIC_ZONE_SPEEDS_KPH["walk"]
    if ":" in text:
        if text in _ZONE_SPEEDS_KPH:
            return _ZONE_SPEEDS_KPH[text]
        zone = text.split(":", 1)[1]
        zone_number = _ZONE_NUMBER.search(zone)
        if zone_number:
            return float(zone_number.group(1))
        return _GENERIC_ZONE_SPEEDS_KPH.get(zone.lower())
    return None


def parse_maxspeed(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h.

    Parameters
    ----------
    value : str, list of str, number or None
        As OSM/OSMnx gives it: ``"50"``, ``"30 mph"``, ``"50;30"``, ``"JP:urban"``, a list of
        such strings after graph simplification, or None when the tag is missing.

    Returns
    -------
    float or None
        Speed in km/h (the smallest when several are given), capped at
        :data:`MAX_BUS_SPEED_KPH`; None when nothing could be understood.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number) or number <= 0:
            return None
        return min(number, MAX_BUS_SPEED_KPH)
    tokens: list[str] = []
    if isinstance(value, str):
        tokens = value.replace("|", ";").split(";")
    elif isinstance(value, Iterable):
        for item in value:
            if isinstance(item, str):
                tokens.extend(item.replace("|", ";").split(";"))
            elif isinstance(item, int | float) and not isinstance(item, bool):
                tokens.append(str(item))
    speeds = [speed for speed in (_parse_one(token) for token in tokens) if speed is not None]
    if not speeds:
        return None
    return min(min(speeds), MAX_BUS_SPEED_KPH)


def default_speed_kph(highway: str) -> float:
    """The Japanese default speed for an OSM ``highway`` class, km/h (see the table above)."""
    return DEFAULT_SPEEDS_KPH.get(highway, FALLBACK_SPEED_KPH)


def edge_speed_kph(highway: str, maxspeed: object = None) -> float:
    """Speed for an edge: parsed ``maxspeed`` when usable, else the road-class default, km/h."""
    parsed = parse_maxspeed(maxspeed)
    return parsed if parsed is not None else default_speed_kph(highway)


def travel_time_seconds(length_m: int, speed_kph: float) -> int:
    """Whole seconds to drive ``length_m`` metres at ``speed_kph``: ceil, at least 1.

    Examples: 100 m at 36 km/h (10 m/s) is exactly 10 s; 101 m is 10.1 s, so 11 s.
    """
    exact = length_m * 3.6 / speed_kph
    # Guard against 10.000000000000002 from binary floating point before the ceiling.
    return max(1, math.ceil(exact - 1e-9))


def speed_settings() -> dict[str, object]:
    """Everything in this module that changes travel times (part of the graph cache key)."""
    return {
        "defaults": dict(sorted(DEFAULT_SPEEDS_KPH.items())),
        "fallback": FALLBACK_SPEED_KPH,
        "cap": MAX_BUS_SPEED_KPH,
        "zones": dict(sorted(_ZONE_SPEEDS_KPH.items())),
        "generic_zones": dict(sorted(_GENERIC_ZONE_SPEEDS_KPH.items())),
    }
