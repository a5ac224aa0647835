"""Insertion and timing on hand-made plans over the line (60 s per km, 45 s dwell per rider)."""

from __future__ import annotations

from dataclasses import replace

from fakes import LineArea, line_oracle, point

from dispatch.insertion import TripSpec, insert_stops, scan_insertions, trip_stops
from dispatch.params import ServiceParams
from dispatch.schedule import VehicleStart, check_plan, time_plan, tolerance_of

PARAMS = ServiceParams()
ORACLE = line_oracle(11)
AREA = LineArea(11)
START = VehicleStart(
    node=0, time=0, depot=0, shift_end=86_400, seats=4, wheelchair_places=1, locked=False
)


def trip(rid: str, pickup: int, dropoff: int, window: tuple[int, int], max_ride: int) -> TripSpec:
    return TripSpec(
        request_id=rid,
        pickup=AREA.access(point(float(pickup)), max_walk_m=0)[0],
        dropoff=AREA.access(point(float(dropoff)), max_walk_m=0)[0],
        pickup_earliest=window[0],
        pickup_latest=window[1],
        dropoff_earliest=0,
        dropoff_latest=5_000,
        passengers=1,
        wheelchairs=0,
        max_ride_s=max_ride,
    )


def test_timing_serves_a_pickup_later_to_keep_the_ride_short() -> None:
    c = trip("c", 1, 3, (0, 5_000), 200)
    pickup, dropoff = trip_stops(c)
    dropoff = replace(dropoff, earliest=1_000)
    timing = time_plan((pickup, dropoff), START, ORACLE, PARAMS)
    # As soon as possible: pickup at 60, leave 105, drop-off not before 1000: ride 895 > 200.
    # Served later instead: pickup at 1000 - 45 - 200 = 755, leaves 800, at stop 3 at 920,
    # waits until 1000: ride exactly 200.
    assert timing.service[:2] == [755, 1_000]
    assert check_plan(timing) is None


def test_drop_off_after_two_existing_stops_when_a_ride_forbids_the_shorter_detour() -> None:
    a = trip("a", 2, 8, (1_000, 1_600), 400)
    plan = insert_stops((), a, 0, 0)
    timing = time_plan(plan, START, ORACLE, PARAMS)
    # bus at 0 from time 0: stop 2 at 1000 (waits), leaves 1045, stop 8 at 1405: ride 360.
    assert timing.service[:2] == [1_000, 1_405]
    b = trip("b", 1, 9, (900, 1_500), 1_000)
    found = scan_insertions(timing, b, vehicle_id="bus", oracle=ORACLE, params=PARAMS)
    by_position = {(c.pickup_index, c.dropoff_index): c for c in found}
    # b before a, dropped between a's stops (0, 1): a's ride 1575 - 1050 = 525 > 400, which
    # only the full check sees; dropped after a (0, 2): 0->1 60 + 45 + 1->2 60 - 0->2 120 = 45
    # and 8->9 60 + 45 + 9->0 540 - 8->0 480 = 165: 210 s added either way.
    assert by_position[(0, 1)].added_seconds == 210
    assert by_position[(0, 2)].added_seconds == 210
    # b after a's pickup would stretch a's ride (scan passes it) or miss b's window at 1.
    assert (2, 2) not in by_position
    tolerance = tolerance_of(timing)
    feasible = []
    for c in sorted(found, key=lambda c: (c.cost, c.pickup_index, c.dropoff_index)):
        new = time_plan(
            insert_stops(plan, b, c.pickup_index, c.dropoff_index), START, ORACLE, PARAMS
        )
        if check_plan(new, tolerance) is None:
            feasible.append((c.pickup_index, c.dropoff_index, new.service))
    # b picked up at 900 (window start), a at 1005, a dropped at 1410, b at 9 at 1515.
    assert feasible == [(0, 2, [900, 1_005, 1_410, 1_515, 2_100])]
