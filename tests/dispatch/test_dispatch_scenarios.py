"""Scenario tests on the three-bus line: every rejection reason and lifecycle step.

The line (tests/dispatch/fakes.py): stops 0..10 one km apart, 60 s per km, buses at depots 0, 5
and 10 with 4 seats and 1 wheelchair place. Default service rules: walk <= 300 m at 1 m/s,
pickup window 600 s, dwell 30 s + 15 s per rider (45 s for one rider), max ride
1.5 x direct + 600 s, offers valid 120 s, walking weighs 0.2 in the insertion cost.
"""

from __future__ import annotations

import json

import pytest
from fakes import LineArea, line_oracle, point, three_vehicles

from dispatch.dispatcher import Dispatcher
from dispatch.errors import (
    InvalidRequestError,
    InvalidTransitionError,
    OfferError,
    UnknownRequestError,
)
from dispatch.events import (
    Assigned,
    Booked,
    Cancelled,
    Completed,
    DroppedOff,
    Expired,
    NoShow,
    Offered,
    PickedUp,
    PlanChanged,
    PromiseAtRisk,
    Rejected,
)
from dispatch.model import (
    CancelledBy,
    OfferKind,
    RejectionReason,
    Request,
    RequestStatus,
    StopKind,
    Vehicle,
)
from dispatch.params import ServiceParams

NOW = 35_000  # 09:43:20
PARAMS = ServiceParams(reoptimize_interval_s=0)


def make(params: ServiceParams = PARAMS, vehicles: list[Vehicle] | None = None) -> Dispatcher:
    return Dispatcher(
        oracle=line_oracle(11),
        area=LineArea(11),
        params=params,
        vehicles=three_vehicles() if vehicles is None else vehicles,
    )


def depart(rid: str, origin: float, destination: float, at: int, **kw: object) -> Request:
    return Request(rid, point(origin), point(destination), depart_at=at, **kw)  # type: ignore[arg-type]


def arrive(rid: str, origin: float, destination: float, by: int, **kw: object) -> Request:
    return Request(rid, point(origin), point(destination), arrive_by=by, **kw)  # type: ignore[arg-type]


def types_of(events: object) -> list[type]:
    return [type(e) for e in events]  # type: ignore[attr-defined]


# --- quotes with hand-checked numbers ------------------------------------------------------


def test_depart_at_quote_offers_the_nearest_bus_with_the_promised_window() -> None:
    d = make()
    result = d.quote(depart("r1", 2.1, 7.0, 36_000), NOW)
    # Walk 100 m to stop 2 = 100 s; window [36000 + 100, 36100 + 600] = [36100, 36700].
    # bus-5: 5->2 180 s + 45 dwell + 2->7 300 s + 45 + 7->5 120 s = 690 s (+ 0.2 * 100 walk)
    # bus-0: 120 + 45 + 300 + 45 + 7->0 420 = 930; bus-10: 480 + 45 + 300 + 45 + 180 = 1050.
    assert result.rejection is None
    assert len(result.offers) == 1  # every bus can only be there at 36100: nothing earlier/later
    offer = result.offers[0]
    assert offer.kind is OfferKind.BEST
    assert offer.vehicle_id == "bus-5"
    assert (offer.pickup.node, offer.pickup.walk_m, offer.dropoff.node) == (2, 100, 7)
    assert (offer.pickup_earliest, offer.pickup_latest) == (36_100, 36_700)
    # expected arrival 36100 + 45 + 300; max ride 1.5 * 300 + 600 = 1050;
    # promised latest arrival 36700 + 45 + 1050 = 37795.
    assert (offer.expected_pickup, offer.expected_arrival) == (36_100, 36_445)
    assert offer.latest_arrival == 37_795
    assert offer.expires_at == NOW + 120
    assert result.events == (Offered(time=NOW, request_id="r1", offers=result.offers),)
    assert d.status("r1") is RequestStatus.OFFERED


def test_arrive_by_quote_picks_up_as_late_as_the_deadline_allows_and_offers_earlier() -> None:
    d = make()
    result = d.quote(arrive("r1", 3.0, 8.2, 37_000), NOW)
    # Drop-off stop 8 is 200 m from the destination: latest arrival 37000 - 200 = 36800.
    # Latest pickup 36800 - 300 (3->8) - 45 dwell = 36455; window 600 s: [35855, 36455].
    best = result.offers[0]
    assert best.kind is OfferKind.BEST
    assert best.vehicle_id == "bus-5"
    assert (best.pickup_earliest, best.pickup_latest) == (35_855, 36_455)
    assert best.latest_arrival == 36_800
    # bus-5 waits at stop 3 for the window: pickup 35855, arrival 35855 + 45 + 300 = 36200.
    assert (best.expected_pickup, best.expected_arrival) == (35_855, 36_200)
    # Earlier arrival: bus-5 drives now, 5->3 = 120 s: pickup 35120, arrival 35465; its
    # window is centred on 35120 but may not start before now: [35000, 35600].
    earlier = result.offers[1]
    assert earlier.kind is OfferKind.EARLIER_ARRIVAL
    assert (earlier.expected_pickup, earlier.expected_arrival) == (35_120, 35_465)
    assert (earlier.pickup_earliest, earlier.pickup_latest) == (35_000, 35_600)
    assert earlier.latest_arrival == 36_800
    assert len(result.offers) == 2


def test_second_rider_in_the_same_direction_is_pooled_on_the_same_bus() -> None:
    d = make(vehicles=[Vehicle("bus-0", 4, 1, 0, 0, 86_400)])
    first = d.quote(depart("a", 2.0, 8.0, 36_000), NOW).offers[0]
    d.book(first.id, NOW)
    # bus-0 plan: 0 -> 2 (pickup a at 36000) -> 8 (drop a) -> 0. A second rider 3 -> 7 at
    # 36000 fits in between: 2->3 60 s, 3->7 240 s, 7->8 60 s replace 2->8 360 s, plus two
    # dwells of 45 s: 90 s more. Picking b up first (0->3->2) would cost 120 s more driving.
    second = d.quote(depart("b", 3.0, 7.0, 36_000), NOW).offers[0]
    assert second.vehicle_id == "bus-0"
    d.book(second.id, NOW)
    kinds = [(s.request_id, s.kind) for s in d.plan("bus-0").stops]
    assert kinds == [
        ("a", StopKind.PICKUP),
        ("b", StopKind.PICKUP),
        ("b", StopKind.DROPOFF),
        ("a", StopKind.DROPOFF),
    ]
    # a picked up at 36000, leaves 36045; b at stop 3 at 36105 (window starts 36000);
    # b leaves 36150, stop 7 at 36390, leaves 36435, stop 8 at 36495.
    assert [s.arrival for s in d.plan("bus-0").stops] == [36_000, 36_105, 36_390, 36_495]


def test_no_pooling_keeps_one_booking_per_bus_at_a_time() -> None:
    d = make(ServiceParams(reoptimize_interval_s=0, pooling=False))
    d.book(d.quote(depart("a", 2.0, 8.0, 36_000), NOW).offers[0].id, NOW)
    offer = d.quote(depart("b", 3.0, 7.0, 36_000), NOW).offers[0]
    # bus-5 would need to carry a and b together: another bus (bus-0: 0->3 180 s) serves b.
    assert offer.vehicle_id != "bus-5"


# --- one test per rejection reason ----------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (depart("r", 2.0, 7.0, NOW - 1), RejectionReason.IN_THE_PAST),
        (arrive("r", 2.0, 7.0, NOW), RejectionReason.IN_THE_PAST),
        (depart("r", 2.0, 7.0, NOW + 8 * 86_400), RejectionReason.TOO_FAR_AHEAD),
        (depart("r", 2.0, 12.0, 36_000), RejectionReason.OUTSIDE_SERVICE_AREA),
        # 2.5 km is 500 m from stops 2 and 3: more than the 300 m walk.
        (depart("r", 2.5, 7.0, 36_000), RejectionReason.NO_STOP_WITHIN_WALK),
        # both ends are nearest to stop 2 only.
        (depart("r", 2.0, 2.2, 36_000), RejectionReason.SAME_ORIGIN_AND_DESTINATION),
        (depart("r", 2.0, 2.0, 36_000), RejectionReason.SAME_ORIGIN_AND_DESTINATION),
        # 5 riders, 4 seats; 2 wheelchairs, 1 place.
        (depart("r", 2.0, 7.0, 36_000, passengers=5), RejectionReason.CAPACITY),
        (depart("r", 2.0, 7.0, 36_000, passengers=2, wheelchairs=2), RejectionReason.CAPACITY),
        # arrive at 8 by 35300: pickup at 3 by 35300 - 300 - 45 = 34955, before now.
        (arrive("r", 3.0, 8.0, 35_300), RejectionReason.NO_VEHICLE_IN_TIME),
    ],
)
def test_rejection_reason(request_: Request, reason: RejectionReason) -> None:
    d = make()
    result = d.quote(request_, NOW)
    assert result.offers == ()
    assert result.rejection is reason
    assert result.events == (Rejected(time=NOW, request_id="r", reason=reason),)
    assert d.status("r") is RequestStatus.REJECTED
    assert d.record("r").rejection is reason


def test_rejection_shift_end_when_the_trip_ends_after_every_shift() -> None:
    d = make(vehicles=three_vehicles(shift_end=40_000))
    # pickup at 2 from 39800, drop at 7 at 39800 + 45 + 300 = 40145 > shift end 40000.
    result = d.quote(depart("r", 2.0, 7.0, 39_800), 39_000)
    assert result.rejection is RejectionReason.SHIFT_END


def test_rejection_no_vehicles_when_the_fleet_is_empty_or_retired() -> None:
    assert make(vehicles=[]).quote(depart("r", 2.0, 7.0, 36_000), NOW).rejection is (
        RejectionReason.NO_VEHICLES
    )
    d = make(vehicles=three_vehicles()[:1])
    d.retire_vehicle("bus-0", NOW)
    assert d.quote(depart("r", 2.0, 7.0, 36_000), NOW).rejection is RejectionReason.NO_VEHICLES


def test_rejection_no_vehicle_in_time_when_the_only_seat_is_taken() -> None:
    one_seat = [Vehicle("bus-5", 1, 0, 5, 0, 86_400)]
    d = make(vehicles=one_seat)
    d.book(d.quote(depart("a", 2.0, 8.0, 36_000), NOW).offers[0].id, NOW)
    # b must be picked up at 3 in [36000, 36600]; a occupies the seat from 36000 until 8 at
    # 36405 (+45); back to 3 takes 300 s: 36750 > 36600.
    result = d.quote(depart("b", 3.0, 7.0, 36_000), NOW)
    assert result.rejection is RejectionReason.NO_VEHICLE_IN_TIME


@pytest.mark.parametrize(
    "bad",
    [
        Request("r", point(2.0), point(7.0), depart_at=36_000, passengers=0),
        Request("r", point(2.0), point(7.0), depart_at=36_000, passengers=1, wheelchairs=2),
        Request("r", point(2.0), point(7.0)),
        Request("r", point(2.0), point(7.0), depart_at=36_000, arrive_by=37_000),
    ],
)
def test_malformed_request_raises(bad: Request) -> None:
    with pytest.raises(InvalidRequestError):
        make().quote(bad, NOW)


# --- lifecycle ---------------------------------------------------------------------------


def test_lifecycle_offered_booked_assigned_onboard_completed() -> None:
    d = make()
    offer = d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0]
    events = d.book(offer.id, NOW + 10)
    assert events == [
        Booked(time=NOW + 10, request_id="r1", offer_id=offer.id),
        Assigned(time=NOW + 10, request_id="r1", vehicle_id="bus-5"),
        PlanChanged(time=NOW + 10, vehicle_id="bus-5", version=1),
    ]
    assert d.status("r1") is RequestStatus.ASSIGNED
    booking = d.booking("r1")
    assert (booking.vehicle_id, booking.planned_pickup, booking.planned_dropoff) == (
        "bus-5",
        36_000,
        36_345,  # 36000 + 45 + 300
    )
    # The bus drives off towards stop 2: its next stop is locked.
    assert d.on_position("bus-5", 4, 35_900) == []
    assert d.plan("bus-5").locked
    events = d.on_pickup("r1", 36_045)
    assert types_of(events) == [PickedUp, PlanChanged]
    assert d.status("r1") is RequestStatus.ONBOARD
    plan = d.plan("bus-5")
    assert plan.version == 2
    assert plan.locked
    assert [(s.kind, s.picked_up_at) for s in plan.stops] == [(StopKind.DROPOFF, 36_045)]
    assert d.vehicle("bus-5").onboard == ("r1",)
    events = d.on_dropoff("r1", 36_390)
    assert types_of(events) == [DroppedOff, Completed, PlanChanged]
    assert d.status("r1") is RequestStatus.COMPLETED
    assert d.plan("bus-5").stops == ()
    assert not d.plan("bus-5").locked
    assert d.booking("r1").dropped_off_at == 36_390
    with pytest.raises(InvalidTransitionError):
        d.cancel("r1", CancelledBy.RIDER, 36_400)


@pytest.mark.parametrize("by", [CancelledBy.RIDER, CancelledBy.PROVIDER])
def test_cancel_booked_request_removes_its_stops(by: CancelledBy) -> None:
    d = make()
    d.book(d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    events = d.cancel("r1", by, NOW + 60, reason="changed plans")
    assert events == [
        Cancelled(time=NOW + 60, request_id="r1", by=by, reason="changed plans"),
        PlanChanged(time=NOW + 60, vehicle_id="bus-5", version=2),
    ]
    assert d.status("r1") is RequestStatus.CANCELLED
    assert d.record("r1").cancelled_by is by
    assert d.plan("bus-5").stops == ()


def test_cancel_onboard_rider_is_refused() -> None:
    d = make()
    d.book(d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    d.on_pickup("r1", 36_045)
    with pytest.raises(InvalidTransitionError):
        d.cancel("r1", CancelledBy.RIDER, 36_100)


def test_no_show_drops_both_stops_and_frees_the_bus() -> None:
    d = make()
    d.book(d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    events = d.no_show("r1", 36_300)
    assert types_of(events) == [NoShow, PlanChanged]
    assert d.status("r1") is RequestStatus.NO_SHOW
    assert d.plan("bus-5").stops == ()
    assert (d.vehicle("bus-5").node, d.vehicle("bus-5").time) == (2, 36_300)
    with pytest.raises(InvalidTransitionError):
        d.on_pickup("r1", 36_400)


def test_offer_expires_on_tick_and_can_no_longer_be_booked() -> None:
    d = make()
    offer = d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0]
    assert d.tick(NOW + 120) == []  # still valid at expires_at
    with pytest.raises(OfferError) as caught:
        d.book(offer.id, NOW + 121)
    assert caught.value.reason == "offer_expired"
    assert d.tick(NOW + 121) == [Expired(time=NOW + 121, request_id="r1")]
    assert d.status("r1") is RequestStatus.EXPIRED
    # A new quote for the same id is allowed after expiry.
    assert d.quote(depart("r1", 2.0, 7.0, 36_000), NOW + 130).offers


def test_booking_the_same_offer_twice_books_once() -> None:
    d = make()
    offer = d.quote(depart("r1", 2.0, 7.0, 36_000), NOW).offers[0]
    d.book(offer.id, NOW)
    with pytest.raises(InvalidTransitionError):
        d.book(offer.id, NOW + 1)
    assert sum(s.request_id == "r1" for s in d.plan("bus-5").stops) == 2


def test_offer_no_longer_feasible_after_another_booking_took_the_seat() -> None:
    d = make(vehicles=[Vehicle("bus-5", 1, 0, 5, 0, 86_400)])
    offer_a = d.quote(depart("a", 2.0, 8.0, 36_000), NOW).offers[0]
    offer_b = d.quote(depart("b", 3.0, 7.0, 36_000), NOW).offers[0]
    d.book(offer_a.id, NOW)
    with pytest.raises(OfferError) as caught:
        d.book(offer_b.id, NOW)
    assert caught.value.reason == "offer_no_longer_feasible"
    assert d.status("b") is RequestStatus.OFFERED


def test_booking_moves_to_another_bus_when_the_offered_one_filled_up() -> None:
    d = make(vehicles=[Vehicle("bus-5", 1, 0, 5, 0, 86_400), Vehicle("bus-0", 1, 0, 0, 0, 86_400)])
    offer_a = d.quote(depart("a", 2.0, 8.0, 36_000), NOW).offers[0]
    offer_b = d.quote(depart("b", 3.0, 7.0, 36_000), NOW).offers[0]
    assert offer_a.vehicle_id == offer_b.vehicle_id == "bus-5"
    d.book(offer_a.id, NOW)
    events = d.book(offer_b.id, NOW)
    assert Assigned(time=NOW, request_id="b", vehicle_id="bus-0") in events
    assert d.booking("b").vehicle_id == "bus-0"


def test_unknown_ids_raise() -> None:
    d = make()
    with pytest.raises(UnknownRequestError):
        d.status("nope")
    with pytest.raises(UnknownRequestError):
        d.book("offer-999", NOW)


# --- vehicles ------------------------------------------------------------------------------


def test_locked_next_stop_stays_first() -> None:
    d = make(vehicles=[Vehicle("bus-5", 4, 1, 5, 0, 86_400)])
    d.book(d.quote(depart("a", 8.0, 9.0, 36_000), NOW).offers[0].id, NOW)
    d.on_position("bus-5", 6, 35_700)  # driving from 5 towards stop 8: locked
    # b from 7 to 6 at once would best be served first (7 is on the way), but stop 8 is locked.
    offer = d.quote(depart("b", 7.0, 6.0, 35_700), 35_700).offers[0]
    d.book(offer.id, 35_700)
    stops = d.plan("bus-5").stops
    assert (stops[0].request_id, stops[0].kind) == ("a", StopKind.PICKUP)


def test_parked_bus_reporting_its_node_locks_nothing_but_departing_locks() -> None:
    d = make(vehicles=[Vehicle("bus-5", 4, 1, 5, 0, 86_400)])
    d.book(d.quote(depart("a", 8.0, 9.0, 36_000), NOW).offers[0].id, NOW)
    assert d.on_position("bus-5", 5, 35_100) == []  # still at the depot
    assert not d.plan("bus-5").locked
    d.on_departure("bus-5", 35_700)
    assert d.plan("bus-5").locked
    # left 5 at 35700: stop 8 at 35880, waits for the window start 36000.
    assert d.plan("bus-5").stops[0].arrival == 36_000
    assert d.vehicle("bus-5").time == 35_700


def test_position_update_that_breaks_a_promise_is_reported_once() -> None:
    d = make(vehicles=[Vehicle("bus-5", 4, 1, 5, 0, 86_400)])
    d.book(d.quote(depart("a", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    # pickup window at 2 is [36000, 36600]; at node 10 at 36500 the bus needs 480 s: 36980.
    events = d.on_position("bus-5", 10, 36_500)
    assert events[0] == PromiseAtRisk(
        time=36_500,
        vehicle_id="bus-5",
        request_id="a",
        kind="pickup",
        planned=36_980,
        limit=36_600,
    )
    assert [e for e in d.on_position("bus-5", 10, 36_500) if e.request_id == "a"] == []


def test_retiring_a_bus_moves_its_booked_riders() -> None:
    d = make()
    d.book(d.quote(depart("a", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    events = d.retire_vehicle("bus-5", NOW + 10)
    assert Assigned(time=NOW + 10, request_id="a", vehicle_id="bus-0") in events
    assert d.plan("bus-5").stops == ()
    assert d.quote(depart("b", 5.0, 6.0, 36_000), NOW + 20).offers[0].vehicle_id != "bus-5"


def test_snapshot_round_trips_exactly_through_json() -> None:
    d = make()
    d.book(d.quote(depart("a", 2.0, 7.0, 36_000), NOW).offers[0].id, NOW)
    d.quote(arrive("b", 3.0, 8.2, 37_000, wheelchairs=1, passengers=2), NOW)
    d.on_position("bus-5", 4, 35_100)
    data = json.loads(json.dumps(d.snapshot()))
    again = Dispatcher.from_snapshot(data, oracle=line_oracle(11), area=LineArea(11), params=PARAMS)
    assert again.snapshot() == d.snapshot()
    assert again.plan("bus-5") == d.plan("bus-5")
    assert again.requests() == d.requests()
    # The copy behaves the same.
    offer = d.offers("b")[0]
    assert again.book(offer.id, NOW + 5) == d.book(offer.id, NOW + 5)
