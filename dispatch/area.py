"""The seam through which dispatch turns rider coordinates into places a vehicle can stop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from dispatch.model import Access
from routing.types import LatLon, Metres

__all__ = ["ServiceArea"]


class ServiceArea(Protocol):
    """Where riders can board: virtual stops within walking distance, or door-to-door.

    Implemented over :mod:`routing.stops` (virtual stops and walking access); tests use small
    fakes. Dispatch never reads files: the area is built by the caller and passed in.
    """

    def contains(self, point: LatLon) -> bool:
        """True when the point lies inside the service area (near the road graph)."""
        ...

    def access(self, point: LatLon, *, max_walk_m: Metres) -> Sequence[Access]:
        """Virtual stops reachable on foot within ``max_walk_m``, nearest first (may be empty)."""
        ...

    def door(self, point: LatLon) -> Access:
        """Door-to-door access: the road node nearest the point, with ``walk_m`` to reach it."""
        ...
