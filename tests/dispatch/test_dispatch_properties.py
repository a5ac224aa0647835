"""Property tests on random small fleets over the 11-stop line (tests/dispatch/fakes.py).

After any sequence of quotes, bookings, cancellations, no-shows, vehicles following their
plans (position updates, pickups, drop-offs) and ticks (offer expiry and OR-Tools
re-optimization), every plan keeps capacity, pickup before drop-off, every promised window and
every maximum ride time; each booking's stops still carry its offer's promise; the snapshot
round-trips. Separately, the insertion search is compared with brute-force enumeration.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from fakes import LineArea, line_oracle, point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.dispatcher import Dispatcher, request_trip
from dispatch.errors import InvalidTransitionError, OfferError
from dispatch.insertion import insert_stops, scan_insertions
from dispatch.model import CancelledBy, Request, RequestStatus, StopKind, Vehicle
from dispatch.params import ServiceParams
from dispatch.schedule import (
    check_plan,
    plan_duration,
    time_plan,
    tolerance_of,
    vehicle_start,
)

N = 11
START = 30_000

vehicles_strategy = st.lists(
    st.tuples(st.integers(0, N - 1), st.integers(1, 4), st.integers(0, 1)),
    min_size=1,
    max_size=3,
)
place = st.tuples(st.integers(0, N - 1), st.sampled_from([0.0, 0.1, 0.2]))
shift = st.tuples(st.integers(1, N - 1), st.sampled_from([0.0, 0.1, 0.2]))
quote_op = st.tuples(
    st.just("quote"),
    place,
    shift,  # destination: this many stops further (modulo N), plus a walk
    st.booleans(),  # arrive-by?
    st.integers(0, 3_600),  # how far ahead
    st.sampled_from([1, 1, 1, 2, 3]),  # passengers
    st.sampled_from([0, 0, 0, 1]),  # wheelchairs
    st.sampled_from([0, 0, 0, 1, 2, -1]),  # which offer to book (modulo; -1: none)
)
params_strategy = st.builds(
    ServiceParams,
    pickup_window_s=st.sampled_from([120, 300, 600]),
    max_early_pickup_s=st.sampled_from([600, 1_800]),
    ride_alpha=st.sampled_from([1.0, 1.3, 1.5]),
    ride_beta_s=st.sampled_from([0, 60, 300]),
    dwell_stop_s=st.sampled_from([0, 30]),
    dwell_per_rider_s=st.sampled_from([0, 15]),
    offer_ttl_s=st.just(120),
    reoptimize_interval_s=st.just(0),
)
operations = st.lists(
    st.one_of(
        quote_op,
        quote_op,
        quote_op,
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("advance"), st.integers(1, 1_200), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.integers(1, 1_200), st.integers(0, 5)),
        st.tuples(st.just("tick")),
    ),
    min_size=4,
    max_size=30,
)


def fleet(spec: list[tuple[int, int, int]]) -> list[Vehicle]:
    return [
        Vehicle(f"v{k}", seats, wheelchairs, depot, START, START + 12 * 3_600)
        for k, (depot, seats, wheelchairs) in enumerate(spec)
    ]


class Simulation:
    """Moves every vehicle along its plan in time order, as the simulator would."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.d = dispatcher
        self.now = START
        self.served_pickup: dict[str, int] = {}

    def advance(self, until: int, no_show_seed: int) -> None:
        d = self.d
        # Vehicles with work leave now (their next stop gets locked); one stop (60 s) further on
        # the line they report their position.
        for vid, state in d.vehicles().items():
            stops = d.plan(vid).stops
            if stops and not d.plan(vid).locked and stops[0].access.node != state.node:
                d.on_departure(vid, max(state.time, self.now))
                target = stops[0].access.node
                step = 1 if target > state.node else -1
                at = max(state.time, self.now) + 60
                if at <= until and state.node + step != target:
                    d.on_position(vid, state.node + step, at)
        count = 0
        while True:
            due = [
                (d.plan(vid).stops[0].arrival, vid)
                for vid in sorted(d.vehicles())
                if d.plan(vid).stops and d.plan(vid).stops[0].arrival <= until
            ]
            if not due:
                break
            arrival, vid = min(due)
            stop = d.plan(vid).stops[0]
            d.on_position(vid, stop.access.node, arrival)
            count += 1
            if stop.kind is StopKind.PICKUP:
                if (count + no_show_seed) % 7 == 0:
                    d.no_show(stop.request_id, arrival)
                else:
                    self.served_pickup[stop.request_id] = arrival
                    d.on_pickup(stop.request_id, stop.departure)
            else:
                d.on_dropoff(stop.request_id, stop.departure)
        self.now = until


def check_stored_schedule(d: Dispatcher, vid: str) -> None:
    """Checks the stored plan times directly (independent of dispatch.schedule)."""
    state = d.vehicle(vid)
    vehicle = state.vehicle
    stops = d.plan(vid).stops
    params = d.params
    node, time = state.node, state.time
    seats = wheelchairs = 0
    left_pickup: dict[str, int] = {}
    for stop in stops:
        if stop.kind is StopKind.DROPOFF and stop.picked_up_at is not None:
            assert stop.request_id in state.onboard
            seats += stop.passengers - stop.wheelchairs
            wheelchairs += stop.wheelchairs
            left_pickup[stop.request_id] = stop.picked_up_at
    for stop in stops:
        assert stop.arrival >= time + d.oracle.seconds(node, stop.access.node)
        assert stop.earliest <= stop.arrival <= stop.latest
        dwell = params.dwell_stop_s + params.dwell_per_rider_s * stop.passengers
        assert stop.departure == stop.arrival + dwell
        sign = 1 if stop.kind is StopKind.PICKUP else -1
        seats += sign * (stop.passengers - stop.wheelchairs)
        wheelchairs += sign * stop.wheelchairs
        assert 0 <= seats <= vehicle.seats
        assert 0 <= wheelchairs <= vehicle.wheelchair_places
        if stop.kind is StopKind.PICKUP:
            assert stop.request_id not in left_pickup
            left_pickup[stop.request_id] = stop.departure
        else:
            assert stop.max_ride_s is not None
            assert stop.arrival - left_pickup.pop(stop.request_id) <= stop.max_ride_s
        node, time = stop.access.node, stop.departure
    assert not left_pickup, "pickups without drop-off"
    assert time + d.oracle.seconds(node, vehicle.depot) <= vehicle.shift_end


def check_invariants(d: Dispatcher, sim: Simulation) -> None:
    now = sim.now
    where: dict[str, list[tuple[str, StopKind]]] = {}
    for vid, state in d.vehicles().items():
        plan = d.plan(vid)
        timing = time_plan(plan.stops, vehicle_start(state, now), d.oracle, d.params)
        assert check_plan(timing) is None, (vid, check_plan(timing), plan)
        check_stored_schedule(d, vid)
        for stop in plan.stops:
            where.setdefault(stop.request_id, []).append((vid, stop.kind))
            booking = d.booking(stop.request_id)
            if stop.kind is StopKind.PICKUP:
                assert (stop.earliest, stop.latest) == (
                    booking.offer.pickup_earliest,
                    booking.offer.pickup_latest,
                )
            else:
                assert stop.latest == booking.offer.latest_arrival
        if not d.params.pooling:
            for p, stop in enumerate(plan.stops):
                if stop.kind is StopKind.PICKUP:
                    assert timing.load_seats[p] + timing.load_wheelchairs[p] == 0
    for rid, record in d.requests().items():
        stops = sorted(where.get(rid, []))
        if record.status is RequestStatus.ASSIGNED:
            vid = record.vehicle_id
            assert stops == [(vid, StopKind.DROPOFF), (vid, StopKind.PICKUP)]
        elif record.status is RequestStatus.ONBOARD:
            assert stops == [(record.vehicle_id, StopKind.DROPOFF)]
            assert rid in d.vehicle(str(record.vehicle_id)).onboard
        else:
            assert stops == []
        if record.status is RequestStatus.COMPLETED:
            booking = d.booking(rid)
            assert record.picked_up_at is not None
            assert record.dropped_off_at is not None
            served = sim.served_pickup[rid]
            assert booking.offer.pickup_earliest <= served <= booking.offer.pickup_latest
            # ride = drop-off service start - pickup departure; on_dropoff is called at the
            # drop-off departure, one dwell later.
            dwell = d.params.dwell_stop_s + d.params.dwell_per_rider_s * record.request.passengers
            assert record.dropped_off_at - dwell - record.picked_up_at <= booking.max_ride_s
            assert record.dropped_off_at - dwell <= booking.offer.latest_arrival


def run(ops: list[Any], vehicles: list[Vehicle], params: ServiceParams) -> Dispatcher:
    d = Dispatcher(oracle=line_oracle(N), area=LineArea(N), params=params, vehicles=vehicles)
    sim = Simulation(d)
    quoted: list[str] = []
    for k, op in enumerate(ops):
        if op[0] == "quote":
            _, (o, od), (shift_by, td), arrive_by, ahead, passengers, wheelchairs, pick = op
            t = (o + shift_by) % N
            rid = f"r{k}"
            when = sim.now + ahead + (900 if arrive_by else 0)
            request = Request(
                rid,
                point(o + od),
                point(t + td),
                arrive_by=when if arrive_by else None,
                depart_at=None if arrive_by else when,
                passengers=passengers,
                wheelchairs=min(wheelchairs, passengers),
            )
            result = d.quote(request, sim.now)
            quoted.append(rid)
            assert (result.rejection is None) == bool(result.offers)
            for offer in result.offers:
                assert offer.pickup_earliest <= offer.expected_pickup <= offer.pickup_latest
                assert offer.expected_arrival <= offer.latest_arrival
                assert offer.pickup_latest - offer.pickup_earliest <= params.pickup_window_s
                if request.arrive_by is not None:
                    assert offer.latest_arrival <= request.arrive_by - offer.dropoff.walk_s
            if pick >= 0 and result.offers:
                d.book(result.offers[pick % len(result.offers)].id, sim.now)
        elif op[0] == "cancel" and quoted:
            rid = quoted[op[1] % len(quoted)]
            try:
                d.cancel(rid, CancelledBy.RIDER, sim.now)
            except InvalidTransitionError:
                assert d.status(rid) not in (RequestStatus.OFFERED, RequestStatus.ASSIGNED)
        elif op[0] == "advance":
            sim.advance(sim.now + op[1], op[2])
        elif op[0] == "tick":
            d.tick(sim.now)
        check_invariants(d, sim)
    data = json.loads(json.dumps(d.snapshot()))
    again = Dispatcher.from_snapshot(data, oracle=line_oracle(N), area=LineArea(N), params=params)
    assert again.snapshot() == d.snapshot()
    return d


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.timeout(120)
@PROPERTY_SETTINGS
@given(vehicles=vehicles_strategy, ops=operations, rules=params_strategy)
def test_no_operation_sequence_breaks_a_promise(
    vehicles: list[tuple[int, int, int]], ops: list[Any], rules: ServiceParams
) -> None:
    params = replace(rules, reoptimize_interval_s=1, reoptimize_time_limit_s=0.05)
    run(ops, fleet(vehicles), params)


@pytest.mark.timeout(120)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vehicles=vehicles_strategy,
    before=st.lists(quote_op, min_size=4, max_size=12),
    moving=st.integers(60, 900),
    after=st.lists(quote_op, min_size=1, max_size=6),
    rules=params_strategy,
)
def test_reoptimization_of_busy_fleets_keeps_every_promise(
    vehicles: list[tuple[int, int, int]],
    before: list[Any],
    moving: int,
    after: list[Any],
    rules: ServiceParams,
) -> None:
    # Bookings, vehicles moving (riders on board, locked next stops), more bookings, then a
    # re-optimization: run() checks every invariant after the tick.
    params = replace(rules, reoptimize_interval_s=1, reoptimize_time_limit_s=0.1)
    ops = [*before, ("advance", moving, 1), *after, ("tick",), ("advance", 3_600, 2)]
    run(ops, fleet(vehicles), params)


@pytest.mark.timeout(120)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vehicles=vehicles_strategy, ops=operations, rules=params_strategy)
def test_no_pooling_never_carries_two_bookings(
    vehicles: list[tuple[int, int, int]], ops: list[Any], rules: ServiceParams
) -> None:
    params = replace(rules, pooling=False)
    run(ops, fleet(vehicles), params)


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    vehicles=vehicles_strategy,
    ops=st.lists(quote_op, min_size=6, max_size=16),
    new=quote_op,
    locked=st.booleans(),
    params=params_strategy,
)
def test_best_insertion_is_no_worse_than_brute_force(
    vehicles: list[tuple[int, int, int]],
    ops: list[Any],
    new: Any,
    locked: bool,
    params: ServiceParams,
) -> None:
    d = run(ops, fleet(vehicles), params)
    if locked:  # every bus with work drives one stop towards its next stop, which locks it
        for vid, state in d.vehicles().items():
            stops = d.plan(vid).stops
            if stops and abs(stops[0].access.node - state.node) > 1:
                step = 1 if stops[0].access.node > state.node else -1
                d.on_position(vid, state.node + step, state.time + 60)
    _, (o, od), (shift_by, td), arrive_by, ahead, passengers, wheelchairs, _ = new
    t = (o + shift_by) % N
    when = START + ahead + (900 if arrive_by else 0)
    request = Request(
        "new",
        point(o + od),
        point(t + td),
        arrive_by=when if arrive_by else None,
        depart_at=None if arrive_by else when,
        passengers=passengers,
        wheelchairs=min(wheelchairs, passengers),
    )
    area = LineArea(N)
    pickups = area.access(request.origin, max_walk_m=params.max_walk_m)[: params.candidate_stops]
    dropoffs = area.access(request.destination, max_walk_m=params.max_walk_m)
    dropoffs = dropoffs[: params.candidate_stops]
    for pickup in pickups:
        for dropoff in dropoffs:
            if pickup.node == dropoff.node:
                continue
            trip = request_trip(request, pickup, dropoff, START, oracle=d.oracle, params=params)
            if trip is None:
                continue
            for vid in d.vehicles():
                timing = d.timing(vid, START)
                tolerance = tolerance_of(timing)
                before = plan_duration(timing)
                brute: list[int] = []
                n = timing.n
                for i in range(1 if timing.start.locked else 0, n + 1):
                    for j in range(i, n + 1):
                        stops = insert_stops(timing.stops, trip, i, j)
                        new_timing = time_plan(stops, timing.start, d.oracle, params)
                        reused = time_plan(
                            stops,
                            timing.start,
                            d.oracle,
                            params,
                            slack=False,
                            prefix=timing,
                            prefix_length=i,
                            ride_tolerance=tolerance.ride,
                        )
                        if reused.infeasible is None:
                            assert reused.service == new_timing.service
                            assert reused.departure == new_timing.departure
                            assert reused.load_seats == new_timing.load_seats
                        else:
                            assert check_plan(new_timing, tolerance) is not None
                        if check_plan(new_timing, tolerance) is None:
                            brute.append(plan_duration(new_timing) - before)
                found = scan_insertions(
                    timing, trip, vehicle_id=vid, oracle=d.oracle, params=params
                )
                verified = []
                for c in sorted(found, key=lambda c: c.added_seconds):
                    stops = insert_stops(timing.stops, trip, c.pickup_index, c.dropoff_index)
                    new_timing = time_plan(stops, timing.start, d.oracle, params)
                    if check_plan(new_timing, tolerance) is None:
                        assert c.added_seconds == plan_duration(new_timing) - before
                        verified.append(c.added_seconds)
                        break
                assert bool(brute) == bool(verified)
                if brute:
                    assert verified[0] <= min(brute)


def test_book_rejects_a_stale_offer_but_keeps_state_consistent() -> None:
    # One bus with one seat; two offers for overlapping trips; the second cannot be kept.
    params = ServiceParams(reoptimize_interval_s=0)
    d = Dispatcher(
        oracle=line_oracle(N),
        area=LineArea(N),
        params=params,
        vehicles=[Vehicle("v0", 1, 0, 5, START, START + 12 * 3_600)],
    )
    a = d.quote(Request("a", point(2.0), point(8.0), depart_at=START + 1_000), START).offers[0]
    b = d.quote(Request("b", point(3.0), point(7.0), depart_at=START + 1_000), START).offers[0]
    d.book(a.id, START)
    with pytest.raises(OfferError):
        d.book(b.id, START)
    sim = Simulation(d)
    check_invariants(d, sim)
