"""Events the Dispatcher emits; ``api`` turns them into messages, ``simulations`` into its log."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.model import CancelledBy, Offer, RejectionReason
from routing.types import Seconds

__all__ = [
    "Assigned",
    "Booked",
    "Cancelled",
    "Completed",
    "DispatchEvent",
    "DroppedOff",
    "Expired",
    "NoShow",
    "Offered",
    "PickedUp",
    "PlanChanged",
    "PromiseAtRisk",
    "Rejected",
    "Reoptimized",
]


@dataclass(frozen=True, slots=True)
class DispatchEvent:
    """Base of every event. ``time`` is seconds since midnight when it happened."""

    time: Seconds


@dataclass(frozen=True, slots=True)
class Offered(DispatchEvent):
    request_id: str
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class Rejected(DispatchEvent):
    request_id: str
    reason: RejectionReason


@dataclass(frozen=True, slots=True)
class Booked(DispatchEvent):
    request_id: str
    offer_id: str


@dataclass(frozen=True, slots=True)
class Assigned(DispatchEvent):
    request_id: str
    vehicle_id: str


@dataclass(frozen=True, slots=True)
class PlanChanged(DispatchEvent):
    vehicle_id: str
    version: int


@dataclass(frozen=True, slots=True)
class Cancelled(DispatchEvent):
    request_id: str
    by: CancelledBy
    reason: str


@dataclass(frozen=True, slots=True)
class PickedUp(DispatchEvent):
    request_id: str
    vehicle_id: str


@dataclass(frozen=True, slots=True)
class DroppedOff(DispatchEvent):
    request_id: str
    vehicle_id: str


@dataclass(frozen=True, slots=True)
class Completed(DispatchEvent):
    request_id: str


@dataclass(frozen=True, slots=True)
class NoShow(DispatchEvent):
    request_id: str
    vehicle_id: str


@dataclass(frozen=True, slots=True)
class Expired(DispatchEvent):
    request_id: str


@dataclass(frozen=True, slots=True)
class PromiseAtRisk(DispatchEvent):
    """A position update made a planned stop later than its promise (or ride/shift limit).

    ``kind`` is "pickup", "dropoff", "ride" or "shift_end"; ``planned`` the planned time (or
    ride seconds) and ``limit`` the promised latest (or maximum). Emitted once per broken item.
    """

    vehicle_id: str
    request_id: str
    kind: str
    planned: Seconds
    limit: Seconds


@dataclass(frozen=True, slots=True)
class Reoptimized(DispatchEvent):
    """A re-optimization ran. ``adopted`` tells whether its plans replaced the current ones;
    costs are total driving plus dwelling seconds of all plans before and after."""

    adopted: bool
    cost_before: int
    cost_after: int
    reason: str
