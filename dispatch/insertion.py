"""Cheapest insertion of one trip into vehicle plans (pure: nothing here changes state).

For each vehicle and pickup/drop-off stop pair, every pickup index ``i`` and drop-off index
``j >= i`` is tried against the plan's precomputed timing (:class:`dispatch.schedule.PlanTiming`):

* ``pickup_index`` ``i``: 0 inserts before the first planned stop; ``k`` inserts after stop
  ``k - 1`` (``n`` appends after the last stop, before the return to the depot).
* ``dropoff_index`` ``j``: the drop-off goes before original stop ``j`` (``j == i``: right after
  the pickup; ``j == n``: after the last stop).

Time windows, the shift end, seats and wheelchair places and the trip's own ride time are checked
in constant time per ``(i, j)`` from the backward slack; the delay of the stops between ``i`` and
``j`` is propagated incrementally along ``j``. Ride times of riders already planned depend on two
shifted stops, so the candidates are then verified in full (:func:`dispatch.schedule.check_plan`)
in order of preference, and the first one that passes is taken.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dispatch.model import Access, PlannedStop, StopKind
from dispatch.params import ServiceParams
from dispatch.schedule import (
    PlanTiming,
    Tolerance,
    check_plan,
    dwell_seconds,
    time_plan,
    tolerance_of,
)
from routing.oracle import TravelTimeOracle
from routing.types import Metres, NodeId, Seconds

__all__ = [
    "Insertion",
    "MemoOracle",
    "TripSpec",
    "first_verified",
    "insert_stops",
    "scan_insertions",
    "trip_stops",
    "verify_insertion",
]


class MemoOracle:
    """A per-call cache in front of an oracle (insertion asks for the same pairs often)."""

    __slots__ = ("_cache", "_oracle")

    def __init__(self, oracle: TravelTimeOracle) -> None:
        self._oracle = oracle
        self._cache: dict[tuple[NodeId, NodeId], Seconds] = {}

    def seconds(self, origin: NodeId, destination: NodeId) -> Seconds:
        """Driving seconds (cached)."""
        key = (origin, destination)
        value = self._cache.get(key)
        if value is None:
            value = self._oracle.seconds(origin, destination)
            self._cache[key] = value
        return value

    def metres(self, origin: NodeId, destination: NodeId) -> Metres:
        """Driving metres (not cached)."""
        return self._oracle.metres(origin, destination)


@dataclass(frozen=True, slots=True)
class TripSpec:
    """One trip to insert: its stops, hard windows, party and ride limit.

    Attributes
    ----------
    request_id : str
        Owner.
    pickup, dropoff : Access
        Where the vehicle stops.
    pickup_earliest, pickup_latest : Seconds
        Window for the pickup service start.
    dropoff_earliest, dropoff_latest : Seconds
        Window for the drop-off service start.
    passengers, wheelchairs : int
        Party (seats used: ``passengers - wheelchairs``).
    max_ride_s : Seconds
        Drop-off service start minus pickup departure may not exceed this.
    """

    request_id: str
    pickup: Access
    dropoff: Access
    pickup_earliest: Seconds
    pickup_latest: Seconds
    dropoff_earliest: Seconds
    dropoff_latest: Seconds
    passengers: int
    wheelchairs: int
    max_ride_s: Seconds


@dataclass(frozen=True, slots=True)
class Insertion:
    """A feasible-looking insertion of a trip into one vehicle's plan.

    Attributes
    ----------
    vehicle_id : str
        The vehicle.
    trip : TripSpec
        What is inserted.
    pickup_index, dropoff_index : int
        Positions in the original plan (see the module docstring).
    pickup_time, dropoff_time : Seconds
        Service starts at the new pickup and drop-off found by the scan (lower bounds: the
        verified timing may serve the pickup later to shorten a ride, or delay both).
    added_seconds : Seconds
        Added driving plus dwelling seconds of the vehicle (depot return included).
    cost : int
        ``added_seconds`` plus the weighted walking seconds (the ranking key).
    """

    vehicle_id: str
    trip: TripSpec
    pickup_index: int
    dropoff_index: int
    pickup_time: Seconds
    dropoff_time: Seconds
    added_seconds: Seconds
    cost: int


def trip_stops(trip: TripSpec) -> tuple[PlannedStop, PlannedStop]:
    """The pickup and drop-off stops of ``trip`` (times are filled in by timing)."""
    pickup = PlannedStop(
        request_id=trip.request_id,
        kind=StopKind.PICKUP,
        access=trip.pickup,
        earliest=trip.pickup_earliest,
        latest=trip.pickup_latest,
        arrival=trip.pickup_earliest,
        departure=trip.pickup_earliest,
        passengers=trip.passengers,
        wheelchairs=trip.wheelchairs,
        max_ride_s=trip.max_ride_s,
    )
    dropoff = PlannedStop(
        request_id=trip.request_id,
        kind=StopKind.DROPOFF,
        access=trip.dropoff,
        earliest=trip.dropoff_earliest,
        latest=trip.dropoff_latest,
        arrival=trip.dropoff_earliest,
        departure=trip.dropoff_earliest,
        passengers=trip.passengers,
        wheelchairs=trip.wheelchairs,
        max_ride_s=trip.max_ride_s,
    )
    return pickup, dropoff


def insert_stops(
    stops: Sequence[PlannedStop], trip: TripSpec, pickup_index: int, dropoff_index: int
) -> tuple[PlannedStop, ...]:
    """``stops`` with the trip's pickup before ``pickup_index`` and drop-off before
    ``dropoff_index`` (indices into the original ``stops``)."""
    pickup, dropoff = trip_stops(trip)
    i, j = pickup_index, dropoff_index
    return (*stops[:i], pickup, *stops[i:j], dropoff, *stops[j:])


def scan_insertions(
    timing: PlanTiming,
    trip: TripSpec,
    *,
    vehicle_id: str,
    oracle: TravelTimeOracle,
    params: ServiceParams,
    walk_cost: int = 0,
) -> list[Insertion]:
    """Every insertion of ``trip`` into ``timing``'s plan passing the constant-time checks.

    Checks per ``(i, j)``: the trip's windows and ride time, the latest service (slack) of the
    stop after each new stop, seats and wheelchair places on every leg the trip rides, the
    locked first stop, and the no-pooling rule when ``params.pooling`` is False. Ride times
    of other riders are not checked here (see :func:`verify_insertion`).
    """
    start = timing.start
    seats = trip.passengers - trip.wheelchairs
    wheelchairs = trip.wheelchairs
    if seats > start.seats or wheelchairs > start.wheelchair_places:
        return []
    pe, pl = trip.pickup_earliest, trip.pickup_latest
    pickup_dwell = dwell_seconds(trip.passengers, params)
    prev_departure = timing.prev_departure
    latest_service = timing.latest_service
    # Index bounds from monotone arrays: the stop after the pickup must still be servable after
    # the pickup (latest_service is increasing), and the leg into the pickup must start no
    # later than the pickup's latest (prev_departure is non-decreasing).
    first = bisect_left(latest_service, pe + pickup_dwell)
    if start.locked and first < 1:
        first = 1
    last = bisect_right(prev_departure, pl) - 1
    if first > last:
        return []
    seconds = oracle.seconds
    n = timing.n
    nodes = timing.node
    floor = timing.service  # insertion only delays existing stops: old times are floors
    dwell = timing.dwell
    leg = timing.leg
    prev_node = timing.prev_node
    load_seats = timing.load_seats
    load_wheelchairs = timing.load_wheelchairs
    seat_room = start.seats - seats
    wheelchair_room = start.wheelchair_places - wheelchairs
    pickup_node = trip.pickup.node
    dropoff_node = trip.dropoff.node
    dropoff_dwell = pickup_dwell
    de, dl = trip.dropoff_earliest, trip.dropoff_latest
    max_ride = trip.max_ride_s
    pooling = params.pooling
    direct = seconds(pickup_node, dropoff_node)
    found: list[Insertion] = []
    for i in range(first, last + 1):
        if load_seats[i] > seat_room or load_wheelchairs[i] > wheelchair_room:
            continue
        if not pooling and (load_seats[i] or load_wheelchairs[i]):
            continue
        before = prev_node[i]
        to_pickup = seconds(before, pickup_node)
        reach_p = prev_departure[i] + to_pickup
        service_p = reach_p if reach_p >= pe else pe
        if service_p > pl:
            continue
        depart_p = service_p + pickup_dwell
        # j == i: the drop-off right after the pickup.
        reach_d = depart_p + direct
        service_d = reach_d if reach_d >= de else de
        if service_d <= dl and direct <= max_ride:
            after = nodes[i]
            depart_d = service_d + dropoff_dwell
            from_dropoff = seconds(dropoff_node, after)
            reach_next = depart_d + from_dropoff
            service_next = reach_next if reach_next >= floor[i] else floor[i]
            if service_next <= latest_service[i]:
                added = to_pickup + pickup_dwell + direct + dropoff_dwell + from_dropoff - leg[i]
                found.append(
                    Insertion(
                        vehicle_id, trip, i, i, service_p, service_d, added, added + walk_cost
                    )
                )
        if not pooling or i == n:
            continue
        # j > i: the stops i .. j-1 are delayed; propagate the new departure along j.
        pickup_to_next = seconds(pickup_node, nodes[i])
        reach_i = depart_p + pickup_to_next
        service_i = reach_i if reach_i >= floor[i] else floor[i]
        if service_i > latest_service[i]:
            continue
        # Waiting on board could be removed by serving the pickup later, so the trip's ride
        # is checked without it (a necessary condition; verification decides).
        waited = service_i - reach_i
        added_p = to_pickup + pickup_dwell + pickup_to_next - leg[i]
        new_departure = service_i + dwell[i]  # new departure of stop j-1
        for j in range(i + 1, n + 1):
            # the leg into stop j-1 and out of it carry the trip: room on the leg into j.
            if load_seats[j] > seat_room or load_wheelchairs[j] > wheelchair_room:
                break
            if new_departure > dl or new_departure - depart_p - waited > max_ride:
                break
            before_d = nodes[j - 1]
            to_dropoff = seconds(before_d, dropoff_node)
            reach_d = new_departure + to_dropoff
            service_d = reach_d if reach_d >= de else de
            if service_d <= dl and reach_d - depart_p - waited <= max_ride:
                after = nodes[j]
                depart_d = service_d + dropoff_dwell
                from_dropoff = seconds(dropoff_node, after)
                reach_next = depart_d + from_dropoff
                service_next = reach_next if reach_next >= floor[j] else floor[j]
                if service_next <= latest_service[j]:
                    added = added_p + to_dropoff + dropoff_dwell + from_dropoff - leg[j]
                    found.append(
                        Insertion(
                            vehicle_id, trip, i, j, service_p, service_d, added, added + walk_cost
                        )
                    )
            if j == n:
                break
            # stop j without the drop-off before it: its new service start.
            reach_j = new_departure + leg[j]
            service_j = reach_j if reach_j >= floor[j] else floor[j]
            if service_j > latest_service[j]:
                break
            waited += service_j - reach_j
            new_departure = service_j + dwell[j]
    return found


def verify_insertion(
    timing: PlanTiming,
    insertion: Insertion,
    *,
    oracle: TravelTimeOracle,
    params: ServiceParams,
    tolerance: Tolerance | None = None,
) -> PlanTiming | None:
    """Time the plan with ``insertion`` applied and check every rule; None when it fails.

    ``tolerance`` defaults to what ``timing``'s plan already breaks (it may not get worse).
    """
    stops = insert_stops(
        timing.stops, insertion.trip, insertion.pickup_index, insertion.dropoff_index
    )
    allowed = tolerance if tolerance is not None else tolerance_of(timing)
    new_timing = time_plan(
        stops,
        timing.start,
        oracle,
        params,
        slack=False,
        prefix=timing,
        prefix_length=insertion.pickup_index,
        ride_tolerance=allowed.ride,
    )
    if check_plan(new_timing, allowed) is not None:
        return None
    return new_timing


def first_verified(
    candidates: Iterable[Insertion],
    verify: Callable[[Insertion], PlanTiming | None],
) -> tuple[Insertion, PlanTiming] | None:
    """The first candidate (in the given order) that passes ``verify``, with its timing."""
    for candidate in candidates:
        verified = verify(candidate)
        if verified is not None:
            return candidate, verified
    return None
