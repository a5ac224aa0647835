"""Timing, slack and feasibility of one vehicle's stop sequence (pure).

Index conventions used throughout dispatch:

* A plan with ``n`` stops has *positions* ``0 .. n``: position ``p < n`` is ``stops[p]``;
  position ``n`` is the return to the depot at the end of the shift.
* The *leg into* position ``p`` starts at the vehicle's start (``p == 0``) or at ``stops[p-1]``.
* Service start at a stop is ``max(drive arrival, earliest)`` (the vehicle waits if early);
  departure is service start plus dwell. The stored ``PlannedStop.arrival`` is the service start.
* A party uses ``passengers - wheelchairs`` seats and ``wheelchairs`` wheelchair places.
* Ride time of a request is drop-off service start minus pickup departure.

Feasibility is a value (a reason string or ``None``), never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from operator import add

from dispatch.model import PlannedStop, StopKind, VehicleState
from dispatch.params import ServiceParams
from routing.oracle import TravelTimeOracle
from routing.types import NodeId, Seconds

__all__ = [
    "NO_TOLERANCE",
    "PlanTiming",
    "Tolerance",
    "VehicleStart",
    "check_plan",
    "dwell_seconds",
    "plan_duration",
    "retimed_stops",
    "time_plan",
    "tolerance_of",
    "vehicle_start",
]


def dwell_seconds(riders: int, params: ServiceParams) -> Seconds:
    """Dwell at one stop visit where ``riders`` board or alight, in seconds."""
    return params.dwell_stop_s + params.dwell_per_rider_s * riders


@dataclass(frozen=True, slots=True)
class VehicleStart:
    """Where and when a vehicle's plan starts, and its capacity.

    Attributes
    ----------
    node : NodeId
        Node the vehicle leaves from.
    time : Seconds
        Earliest departure from ``node``.
    depot : NodeId
        Where the shift ends.
    shift_end : Seconds
        Latest return to ``depot``.
    seats, wheelchair_places : int
        Capacity.
    locked : bool
        True when ``stops[0]`` may not change (the vehicle is driving to it).
    """

    node: NodeId
    time: Seconds
    depot: NodeId
    shift_end: Seconds
    seats: int
    wheelchair_places: int
    locked: bool


def vehicle_start(state: VehicleState, now: Seconds) -> VehicleStart:
    """The start of ``state``'s plan as seen at ``now``.

    A vehicle driving to a locked next stop left ``state.node`` at ``state.time``; an idle or
    waiting vehicle cannot leave before ``now``.
    """
    stops = state.plan.stops if state.plan is not None else ()
    locked = bool(state.plan is not None and state.plan.locked and stops)
    time = state.time if locked else max(state.time, now)
    vehicle = state.vehicle
    return VehicleStart(
        node=state.node,
        time=time,
        depot=vehicle.depot,
        shift_end=vehicle.shift_end,
        seats=vehicle.seats,
        wheelchair_places=vehicle.wheelchair_places,
        locked=locked,
    )


@dataclass(slots=True, eq=False)
class PlanTiming:
    """Forward times and backward slack of a stop sequence; arrays indexed by position 0..n.

    Attributes
    ----------
    stops : tuple of PlannedStop
        The sequence timed.
    start : VehicleStart
        Its start.
    node, earliest, latest, dwell : list of int
        Per position; the depot position ``n`` has earliest 0, latest ``shift_end`` and dwell 0.
    leg : list of int
        Driving seconds of the leg into each position.
    reach, service, departure : list of int
        Drive arrival, service start and departure per position (depot: all its arrival).
    prev_node, prev_departure : list of int
        Node and departure time at the start of the leg into each position.
    load_seats, load_wheelchairs : list of int
        Occupied seats / wheelchair places on the leg into each position.
    latest_service : list of int
        Latest service start at each position that keeps every later window and the shift end
        (each relaxed to the current time when already late) — the backward slack.
    pickup_departure : dict
        Request id -> departure from its pickup (in this plan, or ``picked_up_at``).
    ride_pairs : list
        ``(pickup position, drop-off position, maximum ride)`` of riders picked up in the plan.
    infeasible : str or None
        Set (to the reason) when timing stopped early because the plan cannot be feasible;
        the time arrays are then incomplete.
    """

    stops: tuple[PlannedStop, ...]
    start: VehicleStart
    node: list[int] = field(default_factory=list)
    earliest: list[int] = field(default_factory=list)
    latest: list[int] = field(default_factory=list)
    dwell: list[int] = field(default_factory=list)
    leg: list[int] = field(default_factory=list)
    reach: list[int] = field(default_factory=list)
    service: list[int] = field(default_factory=list)
    departure: list[int] = field(default_factory=list)
    prev_node: list[int] = field(default_factory=list)
    prev_departure: list[int] = field(default_factory=list)
    load_seats: list[int] = field(default_factory=list)
    load_wheelchairs: list[int] = field(default_factory=list)
    latest_service: list[int] = field(default_factory=list)
    pickup_departure: dict[str, int] = field(default_factory=dict)
    ride_pairs: list[tuple[int, int, int]] = field(default_factory=list)
    infeasible: str | None = None

    @property
    def n(self) -> int:
        """Number of stops (the depot is position ``n``)."""
        return len(self.stops)

    @property
    def end_arrival(self) -> Seconds:
        """Arrival back at the depot."""
        return self.reach[-1]


def time_plan(
    stops: Sequence[PlannedStop],
    start: VehicleStart,
    oracle: TravelTimeOracle,
    params: ServiceParams,
    *,
    slack: bool = True,
    prefix: PlanTiming | None = None,
    prefix_length: int = 0,
    ride_tolerance: Mapping[str, Seconds] | None = None,
) -> PlanTiming:
    """Time ``stops`` from ``start``: the earliest schedule, loads and backward slack. No checks.

    The schedule is the least solution of: service after the drive from the previous stop,
    service not before ``earliest``, and each ride no longer than its maximum (a pickup is
    served later, the vehicle waiting, when that shortens a ride that is too long). It is the
    model of :mod:`dispatch.pdp`, so a sequence the solver can time, this can time too. Rides
    that no waiting can shorten are left too long (``check_plan`` reports them).

    Parameters
    ----------
    slack : bool
        Also compute ``latest_service`` (needed for insertion scans, not for checks).
    prefix, prefix_length : PlanTiming, int
        Reuse: ``stops[:prefix_length]`` equals ``prefix.stops[:prefix_length]`` with the same
        start, and ``stops`` only adds stops after them (an insertion). The prefix's times are
        valid lower bounds then (adding stops never makes an earlier stop earlier), so only
        the rest is computed, plus any ride-time delay reaching back into the prefix.
    ride_tolerance : mapping, optional
        With a prefix: rides already over their maximum (``Tolerance.ride``). A ride that
        exceeds its maximum even without waiting and is not among them ends the timing early
        with ``infeasible`` set (the sequence cannot be kept).
    """
    stops = tuple(stops)
    timing = PlanTiming(stops=stops, start=start)
    n = len(stops)
    k = prefix_length if prefix is not None else 0
    seconds = oracle.seconds
    pickup_position: dict[str, int] = {}
    ride_pairs: list[tuple[int, int, int]] = []  # (pickup position, drop-off position, max)
    if prefix is not None and k > 0:
        timing.node = prefix.node[:k]
        timing.earliest = prefix.earliest[:k]
        timing.latest = prefix.latest[:k]
        timing.dwell = prefix.dwell[:k]
        timing.leg = prefix.leg[:k]
        timing.prev_node = prefix.prev_node[:k]
        timing.load_seats = prefix.load_seats[:k]
        timing.load_wheelchairs = prefix.load_wheelchairs[:k]
        seats = prefix.load_seats[k]
        wheelchairs = prefix.load_wheelchairs[k]
        ride_pairs.extend(pair for pair in prefix.ride_pairs if pair[1] < k)
        for p in range(k):
            if stops[p].kind is StopKind.PICKUP:
                pickup_position[stops[p].request_id] = p
        prev_node = prefix.node[k - 1]
    else:
        k = 0
        in_plan_pickups = {s.request_id for s in stops if s.kind is StopKind.PICKUP}
        seats = 0
        wheelchairs = 0
        for s in stops:
            if s.kind is StopKind.DROPOFF and s.request_id not in in_plan_pickups:
                seats += s.passengers - s.wheelchairs
                wheelchairs += s.wheelchairs
        prev_node = start.node
    node = timing.node
    dwell_stop = params.dwell_stop_s
    dwell_rider = params.dwell_per_rider_s
    for p in range(k, n):
        s = stops[p]
        stop_node = s.access.node
        leg = seconds(prev_node, stop_node)
        node.append(stop_node)
        timing.earliest.append(s.earliest)
        timing.latest.append(s.latest)
        timing.dwell.append(dwell_stop + dwell_rider * s.passengers)
        timing.leg.append(leg)
        timing.prev_node.append(prev_node)
        timing.load_seats.append(seats)
        timing.load_wheelchairs.append(wheelchairs)
        if s.kind is StopKind.PICKUP:
            seats += s.passengers - s.wheelchairs
            wheelchairs += s.wheelchairs
            pickup_position[s.request_id] = p
        else:
            seats -= s.passengers - s.wheelchairs
            wheelchairs -= s.wheelchairs
            q = pickup_position.get(s.request_id)
            if q is not None and s.max_ride_s is not None:
                ride_pairs.append((q, p, s.max_ride_s))
        prev_node = stop_node
    leg = seconds(prev_node, start.depot)
    node.append(start.depot)
    timing.earliest.append(0)
    timing.latest.append(start.shift_end)
    timing.dwell.append(0)
    timing.leg.append(leg)
    timing.prev_node.append(prev_node)
    timing.load_seats.append(seats)
    timing.load_wheelchairs.append(wheelchairs)
    timing.ride_pairs = ride_pairs
    floor = list(timing.earliest)
    if prefix is not None and k > 0:
        floor[:k] = prefix.service[:k]
        timing.reach = prefix.reach[:k] + [0] * (n + 1 - k)
        timing.service = prefix.service[:k] + [0] * (n + 1 - k)
        timing.departure = prefix.departure[:k] + [0] * (n + 1 - k)
        timing.prev_departure = prefix.prev_departure[:k] + [0] * (n + 1 - k)
    else:
        timing.reach = [0] * (n + 1)
        timing.service = [0] * (n + 1)
        timing.departure = [0] * (n + 1)
        timing.prev_departure = [0] * (n + 1)
    _forward(timing, floor, k)
    if ride_pairs:
        # drive[p]: driving and dwelling from the start to the arrival at p, no waiting.
        drive = list(accumulate(map(add, timing.leg, [0, *timing.dwell[:-1]])))
        dwell = timing.dwell
        fixable = [
            (q, p, limit) for q, p, limit in ride_pairs if drive[p] - drive[q] - dwell[q] <= limit
        ]
        if k > 0 and len(fixable) < len(ride_pairs):
            # A ride longer than its maximum even without waiting: infeasible whatever the
            # times, unless that ride was already too long (tolerated). The prefix's delays
            # may not apply either, so stop here or start over without the prefix.
            tolerated = ride_tolerance if ride_tolerance is not None else {}
            for q, p, limit in ride_pairs:
                if drive[p] - drive[q] - dwell[q] > limit:
                    rid = stops[p].request_id
                    if rid not in tolerated:
                        timing.infeasible = f"ride of {rid} over {limit} s even without waiting"
                        return timing
            return time_plan(stops, start, oracle, params, slack=slack)
        service = timing.service
        for _ in range(n + 2):
            first_raised = n + 1
            for q, p, limit in fixable:
                need = service[p] - dwell[q] - limit
                if need > service[q]:
                    floor[q] = need
                    if q < first_raised:
                        first_raised = q
            if first_raised > n:
                break
            _forward(timing, floor, first_raised)
            service = timing.service
    departure = timing.departure
    for p, s in enumerate(stops):
        if s.kind is StopKind.PICKUP:
            timing.pickup_departure[s.request_id] = departure[p]
        elif s.picked_up_at is not None and s.request_id not in timing.pickup_departure:
            timing.pickup_departure[s.request_id] = s.picked_up_at
    if slack:
        timing.latest_service = _latest_service(timing)
    return timing


def _latest_service(timing: PlanTiming) -> list[int]:
    """Backward slack.

    With waiting allowed, a service start t at position p keeps p+1 feasible iff
    t + dwell[p] + leg[p+1] <= latest_service[p+1] (proof: the plan's own service times are
    feasible, so earliest[p+1] <= latest_service[p+1]). Windows already broken are relaxed to
    the current service time, so an insertion may not make a late stop later.
    """
    n = timing.n
    latest_service = [0] * (n + 1)
    bound = max(timing.latest[n], timing.service[n])
    latest_service[n] = bound
    latest, service, dwell, leg = timing.latest, timing.service, timing.dwell, timing.leg
    for p in range(n - 1, -1, -1):
        own = latest[p]
        if service[p] > own:
            own = service[p]
        bound = bound - dwell[p] - leg[p + 1]
        if own < bound:
            bound = own
        latest_service[p] = bound
    return latest_service


def _forward(timing: PlanTiming, floor: list[int], first: int) -> None:
    """Forward pass from position ``first``: reach, service (not before ``floor``),
    departure and previous departure; positions before ``first`` are kept."""
    departure = timing.departure[first - 1] if first > 0 else timing.start.time
    reach_list = timing.reach
    service_list = timing.service
    departure_list = timing.departure
    previous = timing.prev_departure
    dwell = timing.dwell
    leg = timing.leg
    for p in range(first, len(leg)):
        previous[p] = departure
        reach = departure + leg[p]
        service = reach if reach >= floor[p] else floor[p]
        reach_list[p] = reach
        service_list[p] = service
        departure = service + dwell[p]
        departure_list[p] = departure


def retimed_stops(timing: PlanTiming) -> tuple[PlannedStop, ...]:
    """The timed stops with ``arrival`` (service start) and ``departure`` filled in."""
    return tuple(
        s
        if s.arrival == timing.service[p] and s.departure == timing.departure[p]
        else replace(s, arrival=timing.service[p], departure=timing.departure[p])
        for p, s in enumerate(timing.stops)
    )


def plan_duration(timing: PlanTiming) -> Seconds:
    """Driving plus dwelling seconds from the start back to the depot (waiting excluded)."""
    return sum(timing.leg) + sum(timing.dwell)


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Promises already broken before a change: how late they may stay (never later).

    Attributes
    ----------
    latest : mapping
        (request id, stop kind) -> latest service start tolerated (above the promise).
    ride : mapping
        Request id -> ride seconds tolerated (above its maximum).
    shift_end : Seconds or None
        Latest return to the depot tolerated, when later than the shift end.
    """

    latest: Mapping[tuple[str, StopKind], Seconds] = field(default_factory=dict)
    ride: Mapping[str, Seconds] = field(default_factory=dict)
    shift_end: Seconds | None = None

    def merged(self, other: Tolerance) -> Tolerance:
        """Both tolerances (the larger where both name the same thing)."""
        latest = dict(self.latest)
        for key, value in other.latest.items():
            latest[key] = max(value, latest.get(key, value))
        ride = dict(self.ride)
        for request_id, value in other.ride.items():
            ride[request_id] = max(value, ride.get(request_id, value))
        ends = [e for e in (self.shift_end, other.shift_end) if e is not None]
        return Tolerance(latest=latest, ride=ride, shift_end=max(ends) if ends else None)


NO_TOLERANCE = Tolerance()


def tolerance_of(timing: PlanTiming) -> Tolerance:
    """What ``timing`` already breaks, as a tolerance for plans derived from it."""
    latest: dict[tuple[str, StopKind], Seconds] = {}
    ride: dict[str, Seconds] = {}
    for p, s in enumerate(timing.stops):
        if timing.service[p] > s.latest:
            latest[(s.request_id, s.kind)] = timing.service[p]
        if s.kind is StopKind.DROPOFF and s.max_ride_s is not None:
            left = timing.pickup_departure.get(s.request_id)
            if left is not None and timing.service[p] - left > s.max_ride_s:
                ride[s.request_id] = timing.service[p] - left
    end = timing.end_arrival
    return Tolerance(
        latest=latest, ride=ride, shift_end=end if end > timing.start.shift_end else None
    )


def check_plan(timing: PlanTiming, tolerance: Tolerance = NO_TOLERANCE) -> str | None:
    """Why the timed plan is infeasible, or None when it keeps every rule.

    Checked: each pickup precedes its drop-off and appears once; a drop-off without a pickup
    in the plan belongs to a rider on board (``picked_up_at`` set); seats and wheelchair
    places on every leg; every window's latest (arrival before ``earliest`` just waits);
    maximum ride times; the return to the depot by the shift end. ``tolerance`` lets promises
    that were already broken stay as late as they were, no later.
    """
    if timing.infeasible is not None:
        return timing.infeasible
    start = timing.start
    seen_pickup: set[str] = set()
    seen_dropoff: set[str] = set()
    for p, s in enumerate(timing.stops):
        rid = s.request_id
        if timing.load_seats[p] > start.seats or timing.load_seats[p] < 0:
            return f"seats {timing.load_seats[p]} on the leg to stop {p} ({rid})"
        if timing.load_wheelchairs[p] > start.wheelchair_places or timing.load_wheelchairs[p] < 0:
            return f"wheelchairs {timing.load_wheelchairs[p]} on the leg to stop {p} ({rid})"
        latest = max(s.latest, tolerance.latest.get((rid, s.kind), s.latest))
        if timing.service[p] > latest:
            return f"{s.kind} of {rid} at {timing.service[p]} after its latest {latest}"
        if s.kind is StopKind.PICKUP:
            if rid in seen_pickup or rid in seen_dropoff:
                return f"pickup of {rid} twice or after its drop-off"
            seen_pickup.add(rid)
        else:
            if rid in seen_dropoff:
                return f"drop-off of {rid} twice"
            seen_dropoff.add(rid)
            if rid not in seen_pickup and s.picked_up_at is None:
                return f"drop-off of {rid} without its pickup"
            if s.max_ride_s is not None:
                left = timing.pickup_departure[rid]
                limit = max(s.max_ride_s, tolerance.ride.get(rid, s.max_ride_s))
                if timing.service[p] - left > limit:
                    return f"ride of {rid} {timing.service[p] - left} s over {limit} s"
    missing = seen_pickup - seen_dropoff
    if missing:
        return f"pickup without drop-off: {sorted(missing)}"
    end_limit = start.shift_end
    if tolerance.shift_end is not None and tolerance.shift_end > end_limit:
        end_limit = tolerance.shift_end
    if timing.end_arrival > end_limit:
        return f"back at the depot at {timing.end_arrival} after the shift end {end_limit}"
    return None
