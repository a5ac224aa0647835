"""The dispatch domain model: requests, offers, planned stops, plans and vehicles.

Times are integer seconds since the service day's local midnight; distances integer metres.
Every value is a frozen, slotted dataclass: a change returns a new object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from routing.types import LatLon, Metres, NodeId, Seconds

__all__ = [
    "Access",
    "Booking",
    "CancelledBy",
    "Channel",
    "Offer",
    "OfferKind",
    "Plan",
    "PlannedStop",
    "RejectionReason",
    "Request",
    "RequestStatus",
    "StopKind",
    "Vehicle",
    "VehicleState",
]

RequestId = str
VehicleId = str
OfferId = str


class Channel(StrEnum):
    """How the rider reached us."""

    APP = "app"
    TV = "tv"
    PHONE = "phone"


class RequestStatus(StrEnum):
    """Request lifecycle: submitted -> offered -> booked -> assigned -> onboard -> completed.

    Terminal side exits: rejected (with a :class:`RejectionReason`), cancelled (by whom),
    no_show, expired (an offer nobody booked).
    """

    SUBMITTED = "submitted"
    OFFERED = "offered"
    BOOKED = "booked"
    ASSIGNED = "assigned"
    ONBOARD = "onboard"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


class RejectionReason(StrEnum):
    """Why no offer could be made or a booking failed. Every rejection names one."""

    NO_VEHICLE_IN_TIME = "no_vehicle_in_time"
    OUTSIDE_SERVICE_AREA = "outside_service_area"
    NO_STOP_WITHIN_WALK = "no_stop_within_walk"
    CAPACITY = "capacity"
    SHIFT_END = "shift_end"
    NO_VEHICLES = "no_vehicles"
    TOO_FAR_AHEAD = "too_far_ahead"
    IN_THE_PAST = "in_the_past"
    SAME_ORIGIN_AND_DESTINATION = "same_origin_and_destination"
    OFFER_EXPIRED = "offer_expired"
    OFFER_NO_LONGER_FEASIBLE = "offer_no_longer_feasible"


class CancelledBy(StrEnum):
    """Who cancelled (TDS vocabulary)."""

    RIDER = "rider"
    CLIENT = "client"
    PROVIDER = "provider"


class StopKind(StrEnum):
    """What happens at a planned stop."""

    PICKUP = "pickup"
    DROPOFF = "dropoff"


class OfferKind(StrEnum):
    """Which of the (up to three) alternatives an offer is."""

    BEST = "best"
    EARLIER_ARRIVAL = "earlier_arrival"
    LATER_PICKUP = "later_pickup"


@dataclass(frozen=True, slots=True)
class Access:
    """A place a rider boards or alights and how they get there on foot.

    Attributes
    ----------
    node : NodeId
        Road-graph node the vehicle stops at.
    stop_id : str
        Virtual stop id, or ``"door:<node>"`` for door-to-door pickup.
    name : str
        Display name of the stop (may be "").
    point : LatLon
        Where the rider waits.
    walk_m : Metres
        Walking distance from the rider's point to the stop (0 for door-to-door).
    walk_s : Seconds
        Walking time for ``walk_m``.
    """

    node: NodeId
    stop_id: str
    name: str
    point: LatLon
    walk_m: Metres
    walk_s: Seconds


@dataclass(frozen=True, slots=True)
class Request:
    """A rider's trip request (TDS "trip request").

    Exactly one of ``arrive_by`` (TDS ``appointmentTime``) and ``depart_at`` is set.

    Attributes
    ----------
    id : RequestId
        Unique id chosen by the caller.
    origin, destination : LatLon
        Where the rider is and wants to go.
    arrive_by : Seconds or None
        Latest acceptable arrival at the destination stop, seconds since midnight.
    depart_at : Seconds or None
        Earliest departure from the origin stop, seconds since midnight.
    passengers : int
        Riders travelling together (>= 1).
    wheelchairs : int
        How many of them need a wheelchair place (0 .. passengers). A wheelchair rider takes a
        wheelchair place, every other rider a seat: the party uses ``passengers - wheelchairs``
        seats and ``wheelchairs`` wheelchair places.
    channel : Channel
        App, TV or phone.
    rider_id : str or None
        Rider or household id (for "my bookings"); None for anonymous quotes.
    door_to_door : bool
        True in door-to-door zones: pickup at the origin's nearest road node.
    """

    id: RequestId
    origin: LatLon
    destination: LatLon
    arrive_by: Seconds | None = None
    depart_at: Seconds | None = None
    passengers: int = 1
    wheelchairs: int = 0
    channel: Channel = Channel.APP
    rider_id: str | None = None
    door_to_door: bool = False


@dataclass(frozen=True, slots=True)
class Offer:
    """A promise (TDS "proposal"). Later re-planning must keep it once booked.

    Attributes
    ----------
    id : OfferId
        Unique offer id.
    request_id : RequestId
        The request this answers.
    kind : OfferKind
        Best, earlier arrival, or later pickup.
    vehicle_id : VehicleId
        Vehicle the insertion was found for (re-optimization may move the booking).
    pickup, dropoff : Access
        Virtual stops with walking metres.
    pickup_earliest, pickup_latest : Seconds
        The promised pickup window (the vehicle arrives within it).
    latest_arrival : Seconds
        The promised latest arrival at the drop-off stop.
    expected_pickup, expected_arrival : Seconds
        Times in the plan found at quote time.
    expires_at : Seconds
        After this the offer can no longer be booked.
    """

    id: OfferId
    request_id: RequestId
    kind: OfferKind
    vehicle_id: VehicleId
    pickup: Access
    dropoff: Access
    pickup_earliest: Seconds
    pickup_latest: Seconds
    latest_arrival: Seconds
    expected_pickup: Seconds
    expected_arrival: Seconds
    expires_at: Seconds


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """One pickup or drop-off of one request in a vehicle's plan.

    Attributes
    ----------
    request_id : RequestId
        Whose stop this is.
    kind : StopKind
        Pickup or drop-off.
    access : Access
        Where (node and virtual stop).
    earliest, latest : Seconds
        Hard window for the vehicle's arrival (the promise).
    arrival : Seconds
        Planned arrival time.
    departure : Seconds
        Planned departure time (after waiting for ``earliest`` and dwelling).
    passengers, wheelchairs : int
        Boarding (pickup) or alighting (drop-off) counts; seats used are
        ``passengers - wheelchairs``.
    max_ride_s : Seconds or None
        The request's maximum ride time (drop-off arrival minus pickup departure); None means
        no limit.
    picked_up_at : Seconds or None
        On a drop-off stop of a rider already on board: when the vehicle left the pickup
        (the ride-time clock started); None otherwise.
    """

    request_id: RequestId
    kind: StopKind
    access: Access
    earliest: Seconds
    latest: Seconds
    arrival: Seconds
    departure: Seconds
    passengers: int
    wheelchairs: int
    max_ride_s: Seconds | None = None
    picked_up_at: Seconds | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A vehicle's ordered future stops.

    Attributes
    ----------
    vehicle_id : VehicleId
        Owner.
    stops : tuple of PlannedStop
        In visiting order; index 0 is the next stop.
    locked : bool
        True when ``stops[0]`` is locked (the vehicle is already driving there).
    version : int
        Increases by one every time the plan changes (the tablet's ``route_version``): a stop
        added, removed, reordered or its window changed. Re-timing alone (new ``arrival`` /
        ``departure`` after a position update) and locking do not count as a change.
    """

    vehicle_id: VehicleId
    stops: tuple[PlannedStop, ...] = ()
    locked: bool = False
    version: int = 0


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle's fixed description.

    Attributes
    ----------
    id : VehicleId
        Unique id ("bus-1").
    seats : int
        Passenger seats.
    wheelchair_places : int
        Wheelchair places (not counted in ``seats``).
    depot : NodeId
        Road node where the shift starts and ends.
    shift_start, shift_end : Seconds
        Service window; the vehicle must be back at the depot by ``shift_end``.
    """

    id: VehicleId
    seats: int
    wheelchair_places: int
    depot: NodeId
    shift_start: Seconds
    shift_end: Seconds


@dataclass(frozen=True, slots=True)
class VehicleState:
    """A vehicle's dynamic state.

    Attributes
    ----------
    vehicle : Vehicle
        Fixed description.
    node : NodeId
        Last known node (or the locked next stop's node when driving to it).
    time : Seconds
        When the vehicle is (or will be) free at ``node``.
    onboard : tuple of RequestId
        Requests currently on board.
    plan : Plan
        Future stops.
    retired : bool
        True once retired: takes no new requests.
    """

    vehicle: Vehicle
    node: NodeId
    time: Seconds
    onboard: tuple[RequestId, ...] = ()
    plan: Plan | None = None
    retired: bool = False


@dataclass(frozen=True, slots=True)
class Booking:
    """A booked request as the rider and the operator see it.

    Attributes
    ----------
    request : Request
        What the rider asked for.
    offer : Offer
        The offer that was booked (the promise: windows and stops).
    status : RequestStatus
        Current lifecycle state (assigned, onboard, completed, cancelled, no_show ...).
    vehicle_id : VehicleId or None
        Vehicle currently serving it (None once cancelled or a no-show).
    planned_pickup, planned_dropoff : Seconds or None
        Planned vehicle arrival at the pickup / drop-off stop in the current plan; None when
        that stop is no longer planned (done or cancelled).
    picked_up_at, dropped_off_at : Seconds or None
        When the rider boarded / alighted (None until it happened).
    max_ride_s : Seconds
        Maximum ride time promised for this trip.
    """

    request: Request
    offer: Offer
    status: RequestStatus
    vehicle_id: VehicleId | None
    planned_pickup: Seconds | None
    planned_dropoff: Seconds | None
    picked_up_at: Seconds | None
    dropped_off_at: Seconds | None
    max_ride_s: Seconds
