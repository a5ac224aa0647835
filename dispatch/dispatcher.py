"""The Dispatcher: the one object that owns requests, offers and vehicle plans.

INTERFACE STUB — the dispatch issue fills in the bodies; the signatures are the contract that
``api`` and ``simulations`` are written against. Every method takes ``now`` (seconds since
midnight) and returns the events it caused; nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatch.area import ServiceArea
from dispatch.events import DispatchEvent
from dispatch.model import (
    CancelledBy,
    Offer,
    Plan,
    RejectionReason,
    Request,
    RequestStatus,
    Vehicle,
    VehicleState,
)
from dispatch.params import ServiceParams
from routing.oracle import TravelTimeOracle
from routing.types import NodeId, Seconds

__all__ = ["Dispatcher", "QuoteResult"]


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """Answer to a quote: offers (best first), or a rejection reason when there are none."""

    request_id: str
    offers: tuple[Offer, ...]
    rejection: RejectionReason | None
    events: tuple[DispatchEvent, ...]


class Dispatcher:
    """Quotes, books, cancels and re-plans requests over a fleet.

    Parameters
    ----------
    oracle : TravelTimeOracle
        Driving seconds and metres between road nodes.
    area : ServiceArea
        Virtual stops and walking access.
    params : ServiceParams
        Service rules.
    vehicles : sequence of Vehicle
        Initial fleet; each starts at its depot at ``shift_start``.
    """

    def __init__(
        self,
        *,
        oracle: TravelTimeOracle,
        area: ServiceArea,
        params: ServiceParams = ServiceParams(),
        vehicles: Sequence[Vehicle] = (),
    ) -> None:
        raise NotImplementedError

    # --- fleet -------------------------------------------------------------------------
    def add_vehicle(self, vehicle: Vehicle, now: Seconds) -> list[DispatchEvent]:
        """Add a vehicle at its depot (available from ``max(now, shift_start)``)."""
        raise NotImplementedError

    def retire_vehicle(self, vehicle_id: str, now: Seconds) -> list[DispatchEvent]:
        """Stop giving the vehicle new work; booked riders are moved to others if possible."""
        raise NotImplementedError

    # --- riders ------------------------------------------------------------------------
    def quote(self, request: Request, now: Seconds) -> QuoteResult:
        """Up to three offers (best, earlier arrival, later pickup) or a rejection reason."""
        raise NotImplementedError

    def book(self, offer_id: str, now: Seconds) -> list[DispatchEvent]:
        """Accept an offer; raises ``OfferError`` if expired or no longer feasible."""
        raise NotImplementedError

    def cancel(
        self, request_id: str, by: CancelledBy, now: Seconds, *, reason: str = ""
    ) -> list[DispatchEvent]:
        """Cancel a booked (not yet onboard) request and remove its stops."""
        raise NotImplementedError

    def no_show(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider did not appear at the pickup: drop both stops."""
        raise NotImplementedError

    # --- vehicles ----------------------------------------------------------------------
    def on_position(self, vehicle_id: str, node: NodeId, now: Seconds) -> list[DispatchEvent]:
        """The vehicle is at ``node`` at ``now``; re-times (or re-routes) its plan from there."""
        raise NotImplementedError

    def on_pickup(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider boarded (TDS ``performed`` at pickup)."""
        raise NotImplementedError

    def on_dropoff(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider alighted; the request is completed."""
        raise NotImplementedError

    def tick(self, now: Seconds) -> list[DispatchEvent]:
        """Expire old offers and re-optimize when due (synchronously)."""
        raise NotImplementedError

    # --- re-optimization in three steps, so a server can run the solve off its event loop --
    def reoptimization_problem(self, now: Seconds) -> Any:
        """A self-contained, picklable snapshot of what the solver needs (pure)."""
        raise NotImplementedError

    def apply_reoptimization(self, solution: Any, now: Seconds) -> list[DispatchEvent]:
        """Adopt a solved problem's plans if still consistent, feasible and cheaper."""
        raise NotImplementedError

    # --- queries -----------------------------------------------------------------------
    def status(self, request_id: str) -> RequestStatus:
        """Lifecycle state of a request; raises ``dispatch.errors.UnknownRequestError``."""
        raise NotImplementedError

    def plan(self, vehicle_id: str) -> Plan:
        """The vehicle's current plan."""
        raise NotImplementedError

    def vehicles(self) -> Mapping[str, VehicleState]:
        """Every vehicle's state by id."""
        raise NotImplementedError

    # --- persistence -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (for storage and crash recovery)."""
        raise NotImplementedError

    @classmethod
    def from_snapshot(
        cls,
        data: Mapping[str, Any],
        *,
        oracle: TravelTimeOracle,
        area: ServiceArea,
        params: ServiceParams = ServiceParams(),
    ) -> Dispatcher:
        """Rebuild a Dispatcher from :meth:`snapshot` output."""
        raise NotImplementedError
