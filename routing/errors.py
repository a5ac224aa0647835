"""Routing errors. Every message says what to do.

Hierarchy::

    RoutingError
    ├── MapSourceError        a map file is missing, unreadable, corrupt or has no roads
    ├── UnknownPlaceError     OSMnx could not geocode a place name (or we are offline)
    ├── PointOffMapError      a coordinate is too far from every drivable road
    ├── NoPathError           no drivable path between two nodes (should not happen on an SCC)
    └── StopsFileError        a virtual-stop file is malformed
"""

from __future__ import annotations

__all__ = [
    "MapSourceError",
    "NoPathError",
    "PointOffMapError",
    "RoutingError",
    "StopsFileError",
    "UnknownPlaceError",
]


class RoutingError(Exception):
    """Base of every routing error."""


class MapSourceError(RoutingError):
    """The map file is missing, unreadable, corrupt or contains no drivable roads."""


class UnknownPlaceError(RoutingError):
    """A place name could not be geocoded (or there is no network to ask)."""


class PointOffMapError(RoutingError):
    """A coordinate is farther than the allowed snapping distance from every drivable road."""


class NoPathError(RoutingError):
    """No drivable path connects the two nodes."""


class StopsFileError(RoutingError):
    """A GeoJSON or CSV virtual-stop file could not be read."""
