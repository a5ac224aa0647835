"""The Dispatcher: the one object that owns requests, offers and vehicle plans.

Every method takes ``now`` (seconds since midnight) and returns the events it caused; nothing
reads a clock. The request pipeline follows MATSim DRT: snapshot the vehicles (timings),
filter candidate vehicles, search insertions (pure, :mod:`dispatch.insertion`), then one place
(:meth:`Dispatcher._set_plan`) changes a plan and emits ``PlanChanged``.

Plan versions: ``Plan.version`` increases whenever a vehicle's stops change (added, removed,
reordered, a window changed); re-timing after a position update and locking do not count.
``PlanChanged`` is emitted exactly for the vehicles whose version increased.

Booking the same offer twice: the second call raises ``InvalidTransitionError`` (the request is
no longer ``offered``); nothing is booked twice.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dispatch.area import ServiceArea
from dispatch.codec import decode, encode
from dispatch.errors import (
    InvalidRequestError,
    InvalidTransitionError,
    OfferError,
    UnknownRequestError,
    UnknownVehicleError,
)
from dispatch.events import (
    Assigned,
    Booked,
    Cancelled,
    Completed,
    DispatchEvent,
    DroppedOff,
    Expired,
    NoShow,
    Offered,
    PickedUp,
    PlanChanged,
    PromiseAtRisk,
    Rejected,
)
from dispatch.insertion import (
    Insertion,
    MemoOracle,
    TripSpec,
    first_verified,
    scan_insertions,
    verify_insertion,
)
from dispatch.lifecycle import RequestRecord, transition
from dispatch.model import (
    Access,
    Booking,
    CancelledBy,
    Offer,
    OfferKind,
    Plan,
    PlannedStop,
    RejectionReason,
    Request,
    RequestStatus,
    StopKind,
    Vehicle,
    VehicleState,
)
from dispatch.params import ServiceParams
from dispatch.schedule import (
    PlanTiming,
    Tolerance,
    dwell_seconds,
    retimed_stops,
    time_plan,
    tolerance_of,
    vehicle_start,
)
from routing.oracle import TravelTimeOracle
from routing.types import NodeId, Seconds

if TYPE_CHECKING:  # imported lazily: the re-optimizer loads OR-Tools
    from dispatch.reoptimize import ReoptimizationProblem, ReoptimizationSolution

__all__ = ["Dispatcher", "QuoteResult", "max_ride_seconds", "request_trip", "validate_request"]

SNAPSHOT_FORMAT = 1
ALTERNATIVE_ATTEMPTS = 6
"""Candidates fully checked, at most, when looking for an earlier-arrival or later-pickup
offer (the scan's times are lower bounds; the first few candidates nearly always decide)."""
S = RequestStatus


@dataclass(frozen=True, slots=True)
class QuoteResult:
    """Answer to a quote: offers (best first), or a rejection reason when there are none."""

    request_id: str
    offers: tuple[Offer, ...]
    rejection: RejectionReason | None
    events: tuple[DispatchEvent, ...]


def _stop_key(stop: PlannedStop) -> tuple[object, ...]:
    """What makes a stop the same stop for plan versioning (times excluded)."""
    return (
        stop.request_id,
        stop.kind,
        stop.access,
        stop.earliest,
        stop.latest,
        stop.passengers,
        stop.wheelchairs,
        stop.max_ride_s,
        stop.picked_up_at,
    )


def trip_of_stops(pickup: PlannedStop, dropoff: PlannedStop) -> TripSpec:
    """The trip a planned pickup/drop-off pair promises (to move it to another vehicle)."""
    return TripSpec(
        request_id=pickup.request_id,
        pickup=pickup.access,
        dropoff=dropoff.access,
        pickup_earliest=pickup.earliest,
        pickup_latest=pickup.latest,
        dropoff_earliest=dropoff.earliest,
        dropoff_latest=dropoff.latest,
        passengers=pickup.passengers,
        wheelchairs=pickup.wheelchairs,
        max_ride_s=pickup.max_ride_s if pickup.max_ride_s is not None else 10**9,
    )


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
        self._oracle = oracle
        self._area = area
        self._params = params
        self._vehicles: dict[str, VehicleState] = {}
        self._records: dict[str, RequestRecord] = {}
        self._offers: dict[str, Offer] = {}
        self._offer_seq = 0
        self._state_version = 0
        self._last_reoptimized: Seconds | None = None
        self._at_risk: dict[str, set[tuple[str, str]]] = {}
        self._timings: dict[str, tuple[tuple[int, bool, NodeId, Seconds], PlanTiming]] = {}
        # Offered requests by expiry, so a tick touches only the offers that are due:
        # (latest expiry of the request's offers, arrival, request id). Entries go stale when
        # the request is booked, re-quoted or forgotten; expire_offers skips those. Arrival
        # numbers the requests in the order they entered _records (events keep that order).
        self._expiry_heap: list[tuple[Seconds, int, str]] = []
        self._arrival: dict[str, int] = {}
        self._arrivals = 0
        for vehicle in vehicles:
            self.add_vehicle(vehicle, vehicle.shift_start)

    # --- properties --------------------------------------------------------------------
    @property
    def params(self) -> ServiceParams:
        """The service rules."""
        return self._params

    @property
    def oracle(self) -> TravelTimeOracle:
        """The travel-time oracle."""
        return self._oracle

    @property
    def state_version(self) -> int:
        """Increases whenever a plan, a lock or a request's state changes."""
        return self._state_version

    @property
    def last_reoptimized(self) -> Seconds | None:
        """When ``tick`` last re-optimized (None: never)."""
        return self._last_reoptimized

    # --- fleet -------------------------------------------------------------------------
    def add_vehicle(self, vehicle: Vehicle, now: Seconds) -> list[DispatchEvent]:
        """Add a vehicle at its depot (available from ``max(now, shift_start)``).

        Raises ``InvalidRequestError`` when the id is taken or the capacity is negative.
        """
        if vehicle.id in self._vehicles:
            raise InvalidRequestError(f"vehicle {vehicle.id!r} exists already; use another id")
        if vehicle.seats < 0 or vehicle.wheelchair_places < 0:
            raise InvalidRequestError("seats and wheelchair_places must be >= 0")
        self._vehicles[vehicle.id] = VehicleState(
            vehicle=vehicle,
            node=vehicle.depot,
            time=max(now, vehicle.shift_start),
            plan=Plan(vehicle_id=vehicle.id),
        )
        self._state_version += 1
        return []

    def retire_vehicle(self, vehicle_id: str, now: Seconds) -> list[DispatchEvent]:
        """Stop giving the vehicle new work; booked riders are moved to others if possible.

        Riders on board and a pickup the vehicle is already driving to (locked) stay with it;
        a booked rider no other vehicle can take with the same promise also stays.
        """
        state = self._state(vehicle_id)
        self._vehicles[vehicle_id] = replace(state, retired=True)
        self._state_version += 1
        events: list[DispatchEvent] = []
        plan = self._plan_of(vehicle_id)
        movable = [
            s.request_id
            for k, s in enumerate(plan.stops)
            if s.kind is StopKind.PICKUP and not (k == 0 and plan.locked)
        ]
        for request_id in movable:
            events.extend(self._move_request(request_id, vehicle_id, now))
        return events

    # --- riders ------------------------------------------------------------------------
    def quote(self, request: Request, now: Seconds) -> QuoteResult:
        """Up to three offers (best, earlier arrival, later pickup) or a rejection reason.

        Raises ``InvalidRequestError`` for a malformed request and ``InvalidTransitionError``
        when the request id is already booked.
        """
        validate_request(request)
        previous = self._records.get(request.id)
        if previous is not None and previous.status not in (S.OFFERED, S.REJECTED, S.EXPIRED):
            raise InvalidTransitionError(
                f"request {request.id!r} is {previous.status.value}; quote a new request id"
            )
        if previous is not None:
            for offer_id in previous.offer_ids:
                self._offers.pop(offer_id, None)
        rejection, offers = self._find_offers(request, now)
        record = RequestRecord(request=request, status=S.SUBMITTED, updated_at=now)
        event: DispatchEvent
        if rejection is not None:
            record = transition(record, S.REJECTED, now, rejection=rejection)
            event = Rejected(time=now, request_id=request.id, reason=rejection)
        else:
            for offer in offers:
                self._offers[offer.id] = offer
            record = transition(record, S.OFFERED, now, offer_ids=tuple(o.id for o in offers))
            event = Offered(time=now, request_id=request.id, offers=offers)
        if request.id not in self._arrival:
            self._arrival[request.id] = self._arrivals
            self._arrivals += 1
        if offers:
            expiry = max(offer.expires_at for offer in offers)
            heapq.heappush(self._expiry_heap, (expiry, self._arrival[request.id], request.id))
        self._records[request.id] = record
        self._state_version += 1
        return QuoteResult(
            request_id=request.id, offers=offers, rejection=rejection, events=(event,)
        )

    def book(self, offer_id: str, now: Seconds) -> list[DispatchEvent]:
        """Accept an offer; raises ``OfferError`` if expired or no longer feasible.

        The trip is inserted with the offer's promised windows into the offered vehicle's
        current plan, or else into any other vehicle that can keep the promise.
        """
        offer = self.offer(offer_id)
        record = self._record(offer.request_id)
        if record.status is not S.OFFERED or offer_id not in record.offer_ids:
            raise InvalidTransitionError(
                f"offer {offer_id!r} cannot be booked: request {record.request.id!r} is "
                f"{record.status.value}"
            )
        if now > offer.expires_at:
            raise OfferError(
                f"offer {offer_id!r} expired at {offer.expires_at}; ask for a new quote",
                reason=RejectionReason.OFFER_EXPIRED.value,
            )
        request = record.request
        direct = self._oracle.seconds(offer.pickup.node, offer.dropoff.node)
        trip = TripSpec(
            request_id=request.id,
            pickup=offer.pickup,
            dropoff=offer.dropoff,
            pickup_earliest=offer.pickup_earliest,
            pickup_latest=offer.pickup_latest,
            dropoff_earliest=0,
            dropoff_latest=offer.latest_arrival,
            passengers=request.passengers,
            wheelchairs=request.wheelchairs,
            max_ride_s=max_ride_seconds(direct, self._params),
        )
        found = None
        offered = self._vehicles.get(offer.vehicle_id)
        if offered is not None and not offered.retired:
            found = self._best_insertion(trip, now, [offer.vehicle_id])
        if found is None:
            found = self._best_insertion(trip, now, self._active_vehicle_ids())
        if found is None:
            raise OfferError(
                f"offer {offer_id!r} can no longer be kept (the plans changed); quote again",
                reason=RejectionReason.OFFER_NO_LONGER_FEASIBLE.value,
            )
        insertion, timing = found
        record = transition(record, S.BOOKED, now, booked_offer_id=offer_id)
        record = transition(
            record, S.ASSIGNED, now, vehicle_id=insertion.vehicle_id, max_ride_s=trip.max_ride_s
        )
        self._records[request.id] = record
        events: list[DispatchEvent] = [
            Booked(time=now, request_id=request.id, offer_id=offer_id),
            Assigned(time=now, request_id=request.id, vehicle_id=insertion.vehicle_id),
        ]
        events.extend(self._set_plan(insertion.vehicle_id, timing.stops, now))
        return events

    def cancel(
        self, request_id: str, by: CancelledBy, now: Seconds, *, reason: str = ""
    ) -> list[DispatchEvent]:
        """Cancel an offered, booked or assigned (not yet onboard) request; remove its stops."""
        record = self._record(request_id)
        events: list[DispatchEvent] = []
        vehicle_id = record.vehicle_id
        record = transition(
            record, S.CANCELLED, now, cancelled_by=by, cancel_reason=reason, vehicle_id=None
        )
        self._records[request_id] = record
        events.append(Cancelled(time=now, request_id=request_id, by=by, reason=reason))
        if vehicle_id is not None:
            events.extend(self._remove_request_stops(vehicle_id, request_id, now))
        self._state_version += 1
        return events

    def no_show(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider did not appear at the pickup: drop both stops.

        The vehicle is taken to be at the pickup stop at ``now`` and leaves for its next stop.
        """
        record = self._record(request_id)
        vehicle_id = record.vehicle_id
        record = transition(record, S.NO_SHOW, now, vehicle_id=None)
        assert vehicle_id is not None  # assigned requests always have one
        self._records[request_id] = record
        state = self._state(vehicle_id)
        pickup = next(
            (
                s
                for s in self._plan_of(vehicle_id).stops
                if s.request_id == request_id and s.kind is StopKind.PICKUP
            ),
            None,
        )
        if pickup is not None:
            self._vehicles[vehicle_id] = replace(
                state, node=pickup.access.node, time=max(state.time, now)
            )
        events: list[DispatchEvent] = [
            NoShow(time=now, request_id=request_id, vehicle_id=vehicle_id)
        ]
        events.extend(self._remove_request_stops(vehicle_id, request_id, now, lock_next=True))
        self._state_version += 1
        return events

    # --- vehicles ----------------------------------------------------------------------
    def on_position(self, vehicle_id: str, node: NodeId, now: Seconds) -> list[DispatchEvent]:
        """The vehicle is at ``node`` at ``now``; re-times its plan from there.

        A vehicle that moved (``node`` differs from its last node) to a node other than its next
        stop's is driving there: the next stop is locked (``params.lock_next_stop``). A vehicle
        reporting the node it already was at (parked, waiting) locks nothing. Promises the new
        timing breaks are kept in the plan (insertion and re-optimization may not make them
        later) and reported once each as ``PromiseAtRisk``.
        """
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        locked = plan.locked
        if (
            plan.stops
            and node != state.node
            and node != plan.stops[0].access.node
            and self._params.lock_next_stop
        ):
            locked = True
        if locked != plan.locked:
            self._state_version += 1
        self._vehicles[vehicle_id] = replace(
            state, node=node, time=now, plan=replace(plan, locked=locked)
        )
        return self._retime(vehicle_id, now)

    def on_departure(self, vehicle_id: str, now: Seconds) -> list[DispatchEvent]:
        """The vehicle left its last node at ``now`` for its next stop (the driver's
        ``stop.departed``): the next stop is locked (``params.lock_next_stop``) and the plan
        re-timed from that departure. Without a next stop only the time is updated."""
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        locked = bool(plan.stops) and self._params.lock_next_stop
        if locked != plan.locked:
            self._state_version += 1
        self._vehicles[vehicle_id] = replace(
            state, time=max(now, state.time), plan=replace(plan, locked=locked or plan.locked)
        )
        return self._retime(vehicle_id, now)

    def on_pickup(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider boarded (TDS ``performed`` at pickup); call it when the vehicle may leave.

        The vehicle is at the pickup stop at ``now``; the ride-time clock starts; the next stop
        is locked.
        """
        record, vehicle_id, state, plan, pickup = self._reported_stop(
            request_id,
            status=S.ASSIGNED,
            kind=StopKind.PICKUP,
            who="an assigned rider can board",
            whose="the request is assigned to",
        )
        stops = tuple(
            replace(s, picked_up_at=now)
            if s.request_id == request_id and s.kind is StopKind.DROPOFF
            else s
            for s in plan.stops
            if s is not pickup
        )
        self._records[request_id] = transition(record, S.ONBOARD, now, picked_up_at=now)
        self._vehicles[vehicle_id] = replace(
            state, node=pickup.access.node, time=now, onboard=(*state.onboard, request_id)
        )
        events: list[DispatchEvent] = [
            PickedUp(time=now, request_id=request_id, vehicle_id=vehicle_id)
        ]
        events.extend(self._set_plan(vehicle_id, stops, now, locked=self._params.lock_next_stop))
        return events

    def on_dropoff(self, request_id: str, now: Seconds) -> list[DispatchEvent]:
        """The rider alighted; the request is completed. The next stop is locked."""
        record, vehicle_id, state, plan, dropoff = self._reported_stop(
            request_id,
            status=S.ONBOARD,
            kind=StopKind.DROPOFF,
            who="a rider on board can alight",
            whose="the rider is on",
        )
        stops = tuple(s for s in plan.stops if s is not dropoff)
        self._records[request_id] = transition(record, S.COMPLETED, now, dropped_off_at=now)
        self._vehicles[vehicle_id] = replace(
            state,
            node=dropoff.access.node,
            time=now,
            onboard=tuple(r for r in state.onboard if r != request_id),
        )
        events: list[DispatchEvent] = [
            DroppedOff(time=now, request_id=request_id, vehicle_id=vehicle_id),
            Completed(time=now, request_id=request_id),
        ]
        events.extend(self._set_plan(vehicle_id, stops, now, locked=self._params.lock_next_stop))
        return events

    def tick(self, now: Seconds) -> list[DispatchEvent]:
        """Expire old offers and re-optimize when due (synchronously).

        An offer is bookable while ``now <= expires_at``. Re-optimization runs when
        ``params.reoptimize_interval_s > 0`` and that long has passed since the last run.
        """
        events: list[DispatchEvent] = list(self.expire_offers(now))
        interval = self._params.reoptimize_interval_s
        if interval > 0 and (
            self._last_reoptimized is None or now - self._last_reoptimized >= interval
        ):
            from dispatch.reoptimize import solve_reoptimization

            self._last_reoptimized = now
            problem = self.reoptimization_problem(now)
            solution = solve_reoptimization(problem)
            events.extend(self.apply_reoptimization(solution, now))
        return events

    def expire_offers(self, now: Seconds) -> list[DispatchEvent]:
        """Mark offered requests whose offers all expired before ``now`` as expired.

        Events come in the order the requests were first quoted. Cost: the offers due, not
        all requests (a server holds tens of thousands of open quotes).
        """
        due: dict[str, int] = {}
        heap = self._expiry_heap
        while heap and heap[0][0] < now:
            _, arrival, request_id = heapq.heappop(heap)
            record = self._records.get(request_id)
            if record is None or record.status is not S.OFFERED:
                continue  # stale: booked, expired or forgotten since
            expiry = max((self._offers[o].expires_at for o in record.offer_ids), default=now - 1)
            if now > expiry:  # else re-quoted: its newer entry is still in the heap
                due[request_id] = arrival
        events: list[DispatchEvent] = []
        for request_id in sorted(due, key=due.__getitem__):
            self._records[request_id] = transition(self._records[request_id], S.EXPIRED, now)
            events.append(Expired(time=now, request_id=request_id))
            self._state_version += 1
        return events

    def forget(self, request_ids: Iterable[str]) -> int:
        """Drop expired and rejected requests and their offers; returns how many were dropped.

        Other requests (open offers, bookings and everything after) are kept whatever the
        ids say. A server calls this to keep memory and snapshots small; the result is the
        same as a snapshot without those requests restored with :meth:`from_snapshot`.
        """
        dropped = 0
        for request_id in request_ids:
            record = self._records.get(request_id)
            if record is None or record.status not in (S.EXPIRED, S.REJECTED):
                continue
            for offer_id in record.offer_ids:
                self._offers.pop(offer_id, None)
            del self._records[request_id]
            self._arrival.pop(request_id, None)
            dropped += 1
        return dropped

    # --- re-optimization in three steps, so a server can run the solve off its event loop --
    def reoptimization_problem(self, now: Seconds) -> ReoptimizationProblem:
        """A self-contained, picklable snapshot of what the solver needs (pure).

        Returns a :class:`dispatch.reoptimize.ReoptimizationProblem`; solve it with
        :func:`dispatch.reoptimize.solve_reoptimization` (in any process), then pass the result
        to :meth:`apply_reoptimization`.
        """
        from dispatch.reoptimize import build_problem

        return build_problem(self, now)

    def apply_reoptimization(
        self, solution: ReoptimizationSolution, now: Seconds
    ) -> list[DispatchEvent]:
        """Adopt a solved problem's plans if still consistent, feasible and cheaper."""
        from dispatch.reoptimize import apply_solution

        return apply_solution(self, solution, now)

    def adopt_plans(
        self, stops_by_vehicle: Mapping[str, Sequence[PlannedStop]], now: Seconds
    ) -> list[DispatchEvent]:
        """Install already verified stop sequences (used by :mod:`dispatch.reoptimize`).

        Emits ``PlanChanged`` for each plan whose stops changed and ``Assigned`` for each
        request now on another vehicle. Locks are kept when the first stop is unchanged.
        """
        events: list[DispatchEvent] = []
        moved: dict[str, str] = {}
        for vehicle_id, stops in stops_by_vehicle.items():
            for stop in stops:
                record = self._records.get(stop.request_id)
                if record is not None and record.vehicle_id != vehicle_id:
                    moved[stop.request_id] = vehicle_id
            events.extend(self._set_plan(vehicle_id, stops, now))
        for request_id, vehicle_id in sorted(moved.items()):
            self._records[request_id] = replace(self._records[request_id], vehicle_id=vehicle_id)
            events.append(Assigned(time=now, request_id=request_id, vehicle_id=vehicle_id))
        return events

    # --- queries -----------------------------------------------------------------------
    def status(self, request_id: str) -> RequestStatus:
        """Lifecycle state of a request; raises ``dispatch.errors.UnknownRequestError``."""
        return self._record(request_id).status

    def record(self, request_id: str) -> RequestRecord:
        """Everything known about a request (status, offers, vehicle, times)."""
        return self._record(request_id)

    def request(self, request_id: str) -> Request:
        """The request as submitted."""
        return self._record(request_id).request

    def requests(self) -> Mapping[str, RequestRecord]:
        """Every request's record by id (a read-only view)."""
        return dict(self._records)

    def offer(self, offer_id: str) -> Offer:
        """An offer by id (offers of the latest quote of each request are kept)."""
        offer = self._offers.get(offer_id)
        if offer is None:
            raise UnknownRequestError(
                f"no offer {offer_id!r}; use an id from the latest quote of the request"
            )
        return offer

    def offers(self, request_id: str) -> tuple[Offer, ...]:
        """The offers of the request's latest quote, best first."""
        return tuple(self._offers[o] for o in self._record(request_id).offer_ids)

    def booking(self, request_id: str) -> Booking:
        """The booked offer with current vehicle and planned times; raises
        ``UnknownRequestError`` when the request was never booked."""
        record = self._record(request_id)
        if record.booked_offer_id is None:
            raise UnknownRequestError(
                f"request {request_id!r} has no booking ({record.status.value}); book an offer"
            )
        planned_pickup: Seconds | None = None
        planned_dropoff: Seconds | None = None
        if record.vehicle_id is not None:
            for stop in self._plan_of(record.vehicle_id).stops:
                if stop.request_id == request_id:
                    if stop.kind is StopKind.PICKUP:
                        planned_pickup = stop.arrival
                    else:
                        planned_dropoff = stop.arrival
        return Booking(
            request=record.request,
            offer=self._offers[record.booked_offer_id],
            status=record.status,
            vehicle_id=record.vehicle_id,
            planned_pickup=planned_pickup,
            planned_dropoff=planned_dropoff,
            picked_up_at=record.picked_up_at,
            dropped_off_at=record.dropped_off_at,
            max_ride_s=record.max_ride_s if record.max_ride_s is not None else 0,
        )

    def plan(self, vehicle_id: str) -> Plan:
        """The vehicle's current plan."""
        return self._plan_of(vehicle_id)

    def vehicle(self, vehicle_id: str) -> VehicleState:
        """One vehicle's state."""
        return self._state(vehicle_id)

    def vehicles(self) -> Mapping[str, VehicleState]:
        """Every vehicle's state by id."""
        return dict(self._vehicles)

    def timing(self, vehicle_id: str, now: Seconds) -> PlanTiming:
        """The vehicle's plan timed from its position as seen at ``now``."""
        return self._timing(vehicle_id, now)

    # --- persistence -------------------------------------------------------------------
    def snapshot(self, *, statuses: Collection[RequestStatus] | None = None) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (for storage and crash recovery).

        ``statuses``: keep only the requests in these statuses and their offers (None: all).
        A server storing only booked requests passes them here, so that the open quotes it
        holds (tens of thousands) are not encoded with every booking only to be dropped.
        """
        records = list(self._records.values())
        offers = list(self._offers.values())
        if statuses is not None:
            records = [r for r in records if r.status in statuses]
            kept = {r.request.id for r in records}
            offers = [o for o in offers if o.request_id in kept]
        return {
            "format": SNAPSHOT_FORMAT,
            "vehicles": [encode(v) for v in self._vehicles.values()],
            "records": [encode(r) for r in records],
            "offers": [encode(o) for o in offers],
            "offer_seq": self._offer_seq,
            "state_version": self._state_version,
            "last_reoptimized": self._last_reoptimized,
            "at_risk": {
                vid: sorted([list(k) for k in keys]) for vid, keys in self._at_risk.items()
            },
        }

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
        if data.get("format") != SNAPSHOT_FORMAT:
            raise InvalidRequestError(
                f"snapshot format {data.get('format')!r} is not {SNAPSHOT_FORMAT}; "
                "take the snapshot with this version of Noriai"
            )
        dispatcher = cls(oracle=oracle, area=area, params=params)
        for item in data["vehicles"]:
            state: VehicleState = decode(VehicleState, item)
            dispatcher._vehicles[state.vehicle.id] = state
        for item in data["records"]:
            record: RequestRecord = decode(RequestRecord, item)
            dispatcher._records[record.request.id] = record
        for item in data["offers"]:
            offer: Offer = decode(Offer, item)
            dispatcher._offers[offer.id] = offer
        for arrival, (request_id, record) in enumerate(dispatcher._records.items()):
            dispatcher._arrival[request_id] = arrival
            if record.status is S.OFFERED:
                offers = dispatcher._offers
                expiry = max(
                    (offers[o].expires_at for o in record.offer_ids if o in offers),
                    default=-(2**62),  # no offer left: expires at the next tick
                )
                dispatcher._expiry_heap.append((expiry, arrival, request_id))
        heapq.heapify(dispatcher._expiry_heap)
        dispatcher._arrivals = len(dispatcher._records)
        dispatcher._offer_seq = int(data["offer_seq"])
        dispatcher._state_version = int(data["state_version"])
        dispatcher._last_reoptimized = data["last_reoptimized"]
        dispatcher._at_risk = {
            vid: {(k[0], k[1]) for k in keys} for vid, keys in data["at_risk"].items()
        }
        return dispatcher

    # --- internals: lookups --------------------------------------------------------------
    def _state(self, vehicle_id: str) -> VehicleState:
        state = self._vehicles.get(vehicle_id)
        if state is None:
            raise UnknownVehicleError(f"no vehicle {vehicle_id!r}; add it with add_vehicle first")
        return state

    def _plan_of(self, vehicle_id: str) -> Plan:
        state = self._state(vehicle_id)
        return state.plan if state.plan is not None else Plan(vehicle_id=vehicle_id)

    def _reported_stop(
        self,
        request_id: str,
        *,
        status: S,
        kind: StopKind,
        who: str,
        whose: str,
    ) -> tuple[RequestRecord, str, VehicleState, Plan, PlannedStop]:
        """Record, vehicle id, vehicle state, plan and planned ``kind`` stop of a reported
        pickup or drop-off (shared by :meth:`on_pickup` and :meth:`on_dropoff`).

        Parameters
        ----------
        request_id : str
            The request reported.
        status : RequestStatus
            The status the request must have (ASSIGNED to board, ONBOARD to alight).
        kind : StopKind
            The planned stop looked for.
        who, whose : str
            Message parts: who may do it ("an assigned rider can board") and which vehicle
            it must be reported for ("the request is assigned to").

        Raises
        ------
        InvalidTransitionError
            The request is not in ``status``, or its vehicle's plan has no such stop.
        """
        record = self._record(request_id)
        if record.status is not status or record.vehicle_id is None:
            raise InvalidTransitionError(
                f"request {request_id!r} is {record.status.value}; only {who}"
            )
        vehicle_id = record.vehicle_id
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        stop = next(
            (s for s in plan.stops if s.request_id == request_id and s.kind is kind),
            None,
        )
        if stop is None:
            name = "pickup" if kind is StopKind.PICKUP else "drop-off"
            raise InvalidTransitionError(
                f"the plan of {vehicle_id!r} has no {name} of {request_id!r}; report the "
                f"{name} for the vehicle {whose}"
            )
        return record, vehicle_id, state, plan, stop

    def _record(self, request_id: str) -> RequestRecord:
        record = self._records.get(request_id)
        if record is None:
            raise UnknownRequestError(f"no request {request_id!r}; quote it first")
        return record

    def _active_vehicle_ids(self) -> list[str]:
        return [vid for vid, state in self._vehicles.items() if not state.retired]

    def _timing(self, vehicle_id: str, now: Seconds) -> PlanTiming:
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        start = vehicle_start(state, now)
        key = (plan.version, start.locked, start.node, start.time)
        cached = self._timings.get(vehicle_id)
        if cached is not None and cached[0] == key and cached[1].stops is plan.stops:
            return cached[1]
        timing = time_plan(plan.stops, start, self._oracle, self._params)
        self._timings[vehicle_id] = (key, timing)
        return timing

    # --- internals: the one place that changes plans ------------------------------------
    def _set_plan(
        self,
        vehicle_id: str,
        stops: Sequence[PlannedStop],
        now: Seconds,
        *,
        locked: bool | None = None,
    ) -> list[DispatchEvent]:
        """Replace the vehicle's stops (re-timed from its position); PlanChanged if they
        changed. ``locked`` None keeps the lock while the first stop stays the same."""
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        stops = tuple(stops)
        if locked is None:
            locked = bool(
                plan.locked
                and stops
                and plan.stops
                and _stop_key(stops[0]) == _stop_key(plan.stops[0])
            )
        locked = bool(locked and stops)
        changed = [_stop_key(s) for s in stops] != [_stop_key(s) for s in plan.stops]
        version = plan.version + 1 if changed else plan.version
        new_plan = Plan(vehicle_id=vehicle_id, stops=stops, locked=locked, version=version)
        state = replace(state, plan=new_plan)
        timing = time_plan(stops, vehicle_start(state, now), self._oracle, self._params)
        new_plan = replace(new_plan, stops=retimed_stops(timing))
        self._vehicles[vehicle_id] = replace(state, plan=new_plan)
        self._state_version += 1
        events: list[DispatchEvent] = []
        if changed:
            events.append(PlanChanged(time=now, vehicle_id=vehicle_id, version=version))
        events.extend(self._risk_events(vehicle_id, timing, now))
        return events

    def _retime(self, vehicle_id: str, now: Seconds) -> list[DispatchEvent]:
        state = self._state(vehicle_id)
        plan = self._plan_of(vehicle_id)
        timing = time_plan(plan.stops, vehicle_start(state, now), self._oracle, self._params)
        self._vehicles[vehicle_id] = replace(state, plan=replace(plan, stops=retimed_stops(timing)))
        return self._risk_events(vehicle_id, timing, now)

    def _risk_events(
        self, vehicle_id: str, timing: PlanTiming, now: Seconds
    ) -> list[DispatchEvent]:
        """PromiseAtRisk for each item ``timing`` breaks that was not reported before."""
        broken = tolerance_of(timing)
        current: dict[tuple[str, str], tuple[int, int]] = {}
        latest_of = {(s.request_id, s.kind): s.latest for s in timing.stops}
        for (request_id, kind), planned in broken.latest.items():
            current[(request_id, kind.value)] = (planned, latest_of[(request_id, kind)])
        max_ride_of = {s.request_id: s.max_ride_s for s in timing.stops}
        for request_id, ride in broken.ride.items():
            current[(request_id, "ride")] = (ride, max_ride_of[request_id] or 0)
        if broken.shift_end is not None:
            current[("", "shift_end")] = (broken.shift_end, timing.start.shift_end)
        reported = self._at_risk.get(vehicle_id, set())
        events: list[DispatchEvent] = [
            PromiseAtRisk(
                time=now,
                vehicle_id=vehicle_id,
                request_id=key[0],
                kind=key[1],
                planned=value[0],
                limit=value[1],
            )
            for key, value in sorted(current.items())
            if key not in reported
        ]
        if current:
            self._at_risk[vehicle_id] = set(current)
        else:
            self._at_risk.pop(vehicle_id, None)
        return events

    def _remove_request_stops(
        self, vehicle_id: str, request_id: str, now: Seconds, *, lock_next: bool = False
    ) -> list[DispatchEvent]:
        plan = self._plan_of(vehicle_id)
        stops = tuple(s for s in plan.stops if s.request_id != request_id)
        locked: bool | None = None
        if lock_next:
            locked = self._params.lock_next_stop
        elif plan.stops and plan.stops[0].request_id == request_id:
            locked = False  # the stop it was driving to is gone
        return self._set_plan(vehicle_id, stops, now, locked=locked)

    def _move_request(
        self, request_id: str, from_vehicle: str, now: Seconds
    ) -> list[DispatchEvent]:
        """Move a booked (not onboard) request to the best other vehicle keeping its promise."""
        plan = self._plan_of(from_vehicle)
        pickup = next(
            s for s in plan.stops if s.request_id == request_id and s.kind is StopKind.PICKUP
        )
        dropoff = next(
            s for s in plan.stops if s.request_id == request_id and s.kind is StopKind.DROPOFF
        )
        trip = trip_of_stops(pickup, dropoff)
        others = [v for v in self._active_vehicle_ids() if v != from_vehicle]
        found = self._best_insertion(trip, now, others)
        if found is None:
            return []
        insertion, timing = found
        events = self._remove_request_stops(from_vehicle, request_id, now)
        events.extend(self._set_plan(insertion.vehicle_id, timing.stops, now))
        self._records[request_id] = replace(
            self._records[request_id], vehicle_id=insertion.vehicle_id
        )
        events.append(Assigned(time=now, request_id=request_id, vehicle_id=insertion.vehicle_id))
        return events

    # --- internals: insertion search ----------------------------------------------------
    def _best_insertion(
        self, trip: TripSpec, now: Seconds, vehicle_ids: Iterable[str]
    ) -> tuple[Insertion, PlanTiming] | None:
        """Cheapest verified insertion of ``trip`` into the given vehicles."""
        oracle = MemoOracle(self._oracle)
        candidates: list[Insertion] = []
        timings: dict[str, PlanTiming] = {}
        for vehicle_id in vehicle_ids:
            timing = self._timing(vehicle_id, now)
            timings[vehicle_id] = timing
            candidates.extend(
                scan_insertions(
                    timing, trip, vehicle_id=vehicle_id, oracle=oracle, params=self._params
                )
            )
        candidates.sort(key=_cost_order)
        tolerances: dict[str, Tolerance] = {}

        def verify(candidate: Insertion) -> PlanTiming | None:
            timing = timings[candidate.vehicle_id]
            if candidate.vehicle_id not in tolerances:
                tolerances[candidate.vehicle_id] = tolerance_of(timing)
            return verify_insertion(
                timing,
                candidate,
                oracle=oracle,
                params=self._params,
                tolerance=tolerances[candidate.vehicle_id],
            )

        return first_verified(candidates, verify)

    def _find_offers(
        self, request: Request, now: Seconds
    ) -> tuple[RejectionReason | None, tuple[Offer, ...]]:
        params = self._params
        asked = request.arrive_by if request.arrive_by is not None else request.depart_at
        assert asked is not None  # validated
        if (request.depart_at is not None and asked < now) or (
            request.arrive_by is not None and asked <= now
        ):
            return RejectionReason.IN_THE_PAST, ()
        if asked - now > params.booking_horizon_s:
            return RejectionReason.TOO_FAR_AHEAD, ()
        area = self._area
        door = request.door_to_door
        # A point with a virtual stop within walking distance is inside the area; the (slower)
        # area test only decides between the two rejections, or for door-to-door trips.
        pickups = [] if door else self._accesses(request.origin, door=False)
        dropoffs = [] if door else self._accesses(request.destination, door=False)
        if door or not pickups or not dropoffs:
            if not area.contains(request.origin) or not area.contains(request.destination):
                return RejectionReason.OUTSIDE_SERVICE_AREA, ()
            if not door:
                return RejectionReason.NO_STOP_WITHIN_WALK, ()
        if request.origin == request.destination:
            return RejectionReason.SAME_ORIGIN_AND_DESTINATION, ()
        if door:
            pickups = self._accesses(request.origin, door=True)
            dropoffs = self._accesses(request.destination, door=True)
        pairs = [(p, d) for p in pickups for d in dropoffs if p.node != d.node]
        if not pairs:
            return RejectionReason.SAME_ORIGIN_AND_DESTINATION, ()
        active = [self._vehicles[v] for v in self._active_vehicle_ids()]
        if not active:
            return RejectionReason.NO_VEHICLES, ()
        seats = request.passengers - request.wheelchairs
        fitting = [
            s
            for s in active
            if s.vehicle.seats >= seats and s.vehicle.wheelchair_places >= request.wheelchairs
        ]
        if not fitting:
            return RejectionReason.CAPACITY, ()
        oracle = MemoOracle(self._oracle)
        trips = [
            t for t in (self._constraint_trip(request, p, d, now, oracle) for p, d in pairs) if t
        ]
        if not trips:
            return RejectionReason.NO_VEHICLE_IN_TIME, ()
        if not any(self._fits_shift(s.vehicle, t, oracle) for s in fitting for t in trips):
            return RejectionReason.SHIFT_END, ()
        vehicle_ids = self._candidate_vehicles(fitting, trips, now, oracle)
        candidates: list[Insertion] = []
        timings: dict[str, PlanTiming] = {}
        weight = params.walk_cost_weight
        for trip in trips:
            walk_cost = round(weight * (trip.pickup.walk_s + trip.dropoff.walk_s))
            for vehicle_id in vehicle_ids:
                timing = timings.get(vehicle_id)
                if timing is None:
                    timing = timings[vehicle_id] = self._timing(vehicle_id, now)
                candidates.extend(
                    scan_insertions(
                        timing,
                        trip,
                        vehicle_id=vehicle_id,
                        oracle=oracle,
                        params=params,
                        walk_cost=walk_cost,
                    )
                )
        if not candidates:
            return RejectionReason.NO_VEHICLE_IN_TIME, ()
        tolerances: dict[str, Tolerance] = {}
        verdicts: dict[int, Insertion | None] = {}

        def verified(candidate: Insertion) -> Insertion | None:
            """The candidate with its verified times, or None when it breaks a rule."""
            key = id(candidate)
            if key not in verdicts:
                timing = timings[candidate.vehicle_id]
                if candidate.vehicle_id not in tolerances:
                    tolerances[candidate.vehicle_id] = tolerance_of(timing)
                new_timing = verify_insertion(
                    timing,
                    candidate,
                    oracle=oracle,
                    params=params,
                    tolerance=tolerances[candidate.vehicle_id],
                )
                verdicts[key] = (
                    replace(
                        candidate,
                        pickup_time=new_timing.service[candidate.pickup_index],
                        dropoff_time=new_timing.service[candidate.dropoff_index + 1],
                    )
                    if new_timing is not None
                    else None
                )
            return verdicts[key]

        candidates.sort(key=_cost_order)
        best = next((v for v in map(verified, candidates) if v is not None), None)
        if best is None:
            return RejectionReason.NO_VEHICLE_IN_TIME, ()

        def offer_for(kind: OfferKind, insertion: Insertion) -> Offer:
            late = request.arrive_by is not None and kind is not OfferKind.EARLIER_ARRIVAL
            return self._make_offer(
                request,
                kind,
                insertion,
                now,
                timing=timings[insertion.vehicle_id],
                tolerance=tolerances[insertion.vehicle_id],
                oracle=oracle,
                late=late,
            )

        offers = [offer_for(OfferKind.BEST, best)]
        earlier = sorted(
            (c for c in candidates if c.dropoff_time < offers[0].expected_arrival),
            key=lambda c: (c.dropoff_time, *_cost_order(c)),
        )
        found = next(
            (
                v
                for v in map(verified, earlier[:ALTERNATIVE_ATTEMPTS])
                if v is not None and v.dropoff_time < offers[0].expected_arrival
            ),
            None,
        )
        if found is not None:
            offers.append(offer_for(OfferKind.EARLIER_ARRIVAL, found))
        later = sorted(
            (c for c in candidates if c.pickup_time > offers[0].expected_pickup),
            key=lambda c: (-c.pickup_time, *_cost_order(c)),
        )
        found = next(
            (
                v
                for v in map(verified, later[:ALTERNATIVE_ATTEMPTS])
                if v is not None and v.pickup_time > offers[0].expected_pickup
            ),
            None,
        )
        if found is not None:
            candidate_offer = offer_for(OfferKind.LATER_PICKUP, found)
            if all(_promise(candidate_offer) != _promise(o) for o in offers):
                offers.append(candidate_offer)
        return None, tuple(offers)

    def _accesses(self, point: Any, *, door: bool) -> list[Access]:
        if door:
            return [self._area.door(point)]
        found = self._area.access(point, max_walk_m=self._params.max_walk_m)
        return list(found[: self._params.candidate_stops])

    def _constraint_trip(
        self, request: Request, pickup: Access, dropoff: Access, now: Seconds, oracle: MemoOracle
    ) -> TripSpec | None:
        return request_trip(request, pickup, dropoff, now, oracle=oracle, params=self._params)

    def _fits_shift(self, vehicle: Vehicle, trip: TripSpec, oracle: MemoOracle) -> bool:
        """Could an empty ``vehicle`` serve ``trip`` alone within its shift?"""
        params = self._params
        pickup_at = max(
            trip.pickup_earliest,
            vehicle.shift_start + oracle.seconds(vehicle.depot, trip.pickup.node),
        )
        if pickup_at > trip.pickup_latest:
            return False
        dropoff_at = (
            pickup_at
            + dwell_seconds(trip.passengers, params)
            + oracle.seconds(trip.pickup.node, trip.dropoff.node)
        )
        back = (
            dropoff_at
            + dwell_seconds(trip.passengers, params)
            + oracle.seconds(trip.dropoff.node, vehicle.depot)
        )
        return dropoff_at <= trip.dropoff_latest and back <= vehicle.shift_end

    def _candidate_vehicles(
        self,
        fitting: Sequence[VehicleState],
        trips: Sequence[TripSpec],
        now: Seconds,
        oracle: MemoOracle,
    ) -> list[str]:
        """At most ``params.candidate_vehicles`` vehicles, nearest by a travel-time bound.

        The bound for a vehicle is the driving time to the nearest pickup stop from where the
        vehicle is last planned to be before the pickup's latest time; vehicles that cannot
        leave for the pickup in time (or whose shift ends before it) are dropped.
        """
        ranked: list[tuple[int, str]] = []
        # The bound only depends on the pickup stop and window: one per distinct pickup.
        pickup_trips = list(
            {(t.pickup.node, t.pickup_earliest, t.pickup_latest): t for t in trips}.values()
        )
        for state in fitting:
            vehicle = state.vehicle
            timing = self._timing(vehicle.id, now)
            first = 1 if timing.start.locked else 0
            bound = math.inf
            for trip in pickup_trips:
                if vehicle.shift_end < trip.pickup_earliest:
                    continue
                last = bisect_right(timing.prev_departure, trip.pickup_latest) - 1
                if last < first:
                    continue
                drive = oracle.seconds(timing.prev_node[last], trip.pickup.node)
                if timing.prev_departure[first] + drive > trip.pickup_latest and last == first:
                    continue
                bound = min(bound, drive)
            if bound < math.inf:
                ranked.append((int(bound), vehicle.id))
        ranked.sort()
        return [vid for _, vid in ranked[: self._params.candidate_vehicles]]

    def _make_offer(
        self,
        request: Request,
        kind: OfferKind,
        insertion: Insertion,
        now: Seconds,
        *,
        timing: PlanTiming,
        tolerance: Tolerance,
        oracle: TravelTimeOracle,
        late: bool,
    ) -> Offer:
        """The promise for a verified insertion.

        The pickup window is ``pickup_window_s`` wide inside the request's limits. By default
        it is centred on the planned pickup (the plan stays as verified). With ``late`` (an
        arrive-by rider who would rather leave late) it is moved as late as the plan allows,
        found by checking the plan with the window in place (bisection, a few steps).
        """
        params = self._params
        trip = insertion.trip
        width = params.pickup_window_s
        planned = insertion.pickup_time
        start = max(trip.pickup_earliest, min(planned - width // 2, trip.pickup_latest - width))
        expected = (insertion.pickup_time, insertion.dropoff_time)

        def latest_arrival_for(window_latest: Seconds) -> Seconds:
            if request.arrive_by is not None:
                return trip.dropoff_latest
            return min(
                trip.dropoff_latest,
                window_latest + dwell_seconds(request.passengers, params) + trip.max_ride_s,
            )

        def try_window(window_start: Seconds) -> tuple[Seconds, Seconds] | None:
            window_latest = min(trip.pickup_latest, window_start + width)
            promised = replace(
                trip,
                pickup_earliest=window_start,
                pickup_latest=window_latest,
                dropoff_latest=latest_arrival_for(window_latest),
            )
            new_timing = verify_insertion(
                timing,
                replace(insertion, trip=promised),
                oracle=oracle,
                params=params,
                tolerance=tolerance,
            )
            if new_timing is None:
                return None
            return (
                new_timing.service[insertion.pickup_index],
                new_timing.service[insertion.dropoff_index + 1],
            )

        if late and trip.pickup_latest - width > start:
            high = trip.pickup_latest - width
            times = try_window(high)
            if times is not None:
                start, expected = high, times
            else:
                low = start
                for _ in range(6):
                    if high - low <= 60:
                        break
                    middle = (low + high) // 2
                    times = try_window(middle)
                    if times is None:
                        high = middle
                    else:
                        low, expected = middle, times
                start = low
        latest = min(trip.pickup_latest, start + width)
        self._offer_seq += 1
        return Offer(
            id=f"offer-{self._offer_seq}",
            request_id=request.id,
            kind=kind,
            vehicle_id=insertion.vehicle_id,
            pickup=trip.pickup,
            dropoff=trip.dropoff,
            pickup_earliest=start,
            pickup_latest=latest,
            latest_arrival=latest_arrival_for(latest),
            expected_pickup=expected[0],
            expected_arrival=expected[1],
            expires_at=now + params.offer_ttl_s,
        )


def _promise(offer: Offer) -> tuple[object, ...]:
    """What the rider is promised (two offers promising the same are one offer)."""
    return (
        offer.pickup.stop_id,
        offer.dropoff.stop_id,
        offer.pickup_earliest,
        offer.pickup_latest,
        offer.latest_arrival,
    )


def _cost_order(c: Insertion) -> tuple[int, int, str, int, int, int]:
    return (
        c.cost,
        c.pickup_time,
        c.vehicle_id,
        c.pickup_index,
        c.dropoff_index,
        c.trip.pickup.node,
    )


def request_trip(
    request: Request,
    pickup: Access,
    dropoff: Access,
    now: Seconds,
    *,
    oracle: TravelTimeOracle,
    params: ServiceParams,
) -> TripSpec | None:
    """The request's hard limits for one stop pair (wider than an offer's promise), or None
    when its pickup window is empty.

    Arrive-by: latest arrival at the drop-off stop is ``arrive_by`` minus the walk from it;
    latest pickup leaves time for the direct ride and the pickup dwell; the earliest pickup is
    ``max_early_pickup_s`` before that, and not before the rider can walk to the stop.
    Depart-at: pickup within ``[depart_at + walk, + pickup_window_s]``; the latest arrival
    follows from the maximum ride time.
    """
    direct = oracle.seconds(pickup.node, dropoff.node)
    max_ride = max_ride_seconds(direct, params)
    pickup_dwell = dwell_seconds(request.passengers, params)
    if request.arrive_by is not None:
        dropoff_latest = request.arrive_by - dropoff.walk_s
        pickup_latest = dropoff_latest - direct - pickup_dwell
        pickup_earliest = max(now + pickup.walk_s, pickup_latest - params.max_early_pickup_s)
    else:
        assert request.depart_at is not None
        pickup_earliest = max(request.depart_at, now) + pickup.walk_s
        pickup_latest = pickup_earliest + params.pickup_window_s
        dropoff_latest = pickup_latest + pickup_dwell + max_ride
    if pickup_earliest > pickup_latest:
        return None
    return TripSpec(
        request_id=request.id,
        pickup=pickup,
        dropoff=dropoff,
        pickup_earliest=pickup_earliest,
        pickup_latest=pickup_latest,
        dropoff_earliest=0,
        dropoff_latest=dropoff_latest,
        passengers=request.passengers,
        wheelchairs=request.wheelchairs,
        max_ride_s=max_ride,
    )


def max_ride_seconds(direct: Seconds, params: ServiceParams) -> Seconds:
    """Maximum ride time for a trip whose direct drive takes ``direct`` seconds."""
    return int(params.ride_alpha * direct) + params.ride_beta_s


def validate_request(request: Request) -> None:
    """Raise ``InvalidRequestError`` when the request breaks a basic rule."""
    if request.passengers < 1:
        raise InvalidRequestError(f"passengers is {request.passengers}; it must be at least 1")
    if not 0 <= request.wheelchairs <= request.passengers:
        raise InvalidRequestError(
            f"wheelchairs is {request.wheelchairs}; it must be between 0 and passengers "
            f"({request.passengers})"
        )
    if (request.arrive_by is None) == (request.depart_at is None):
        raise InvalidRequestError("give exactly one of arrive_by and depart_at")
    if not request.id:
        raise InvalidRequestError("the request id is empty; give a unique id")
