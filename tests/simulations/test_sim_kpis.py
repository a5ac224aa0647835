"""KPI arithmetic on a hand-made event log: one vehicle, four requests, numbers checked by hand."""

from __future__ import annotations

import pytest

from simulations.kpis import compute_kpis, kpi_rows, rider_outcomes


def _day() -> list[dict[str, object]]:
    """b1 picks up r1 (1 rider) then r2 (2 riders), drops r1 then r2; r3 rejected, r4 declined.

    Timeline of b1 (seconds):   0-400 drive empty 2000 m   400-500 wait for r1
    500-545 board r1   545-700 drive 1000 m with 1   700-745 board r2
    745-1000 drive 1500 m with 3   1000-1030 drop r1   1030-1200 drive 500 m with 2
    1200-1230 drop r2   1230-1430 drive empty 1000 m back to the depot.
    """
    return [
        {"t": 0, "type": "request", "id": "r1", "passengers": 1, "arrive_by": 2000},
        {"t": 0, "type": "offered", "id": "r1", "pickup_walk_m": 100, "dropoff_walk_m": 50},
        {"t": 0, "type": "booked", "id": "r1", "vehicle": "b1", "direct_s": 600, "ready_t": 500},
        {"t": 10, "type": "request", "id": "r2", "passengers": 2, "arrive_by": None},
        {"t": 10, "type": "offered", "id": "r2", "pickup_walk_m": 0, "dropoff_walk_m": 200},
        {
            "t": 10,
            "type": "booked",
            "id": "r2",
            "vehicle": "b1",
            "direct_s": 300,
            "ready_t": 600,
        },
        {"t": 20, "type": "request", "id": "r3", "passengers": 1, "arrive_by": 900},
        {"t": 20, "type": "rejected", "id": "r3", "reason": "no_vehicle_in_time"},
        {"t": 30, "type": "request", "id": "r4", "passengers": 1, "arrive_by": 3000},
        {"t": 30, "type": "offered", "id": "r4", "pickup_walk_m": 10, "dropoff_walk_m": 10},
        {"t": 30, "type": "declined", "id": "r4"},
        {"t": 400, "type": "drive", "vehicle": "b1", "t0": 0, "t1": 400, "m": 2000, "load": 0},
        {"t": 500, "type": "wait", "vehicle": "b1", "t0": 400, "t1": 500},
        {
            "t": 500,
            "type": "pickup",
            "id": "r1",
            "vehicle": "b1",
            "node": 1,
            "ready_t": 500,
            "leave_t": 545,
        },
        {"t": 500, "type": "service", "vehicle": "b1", "t0": 500, "t1": 545},
        {"t": 700, "type": "drive", "vehicle": "b1", "t0": 545, "t1": 700, "m": 1000, "load": 1},
        {
            "t": 700,
            "type": "pickup",
            "id": "r2",
            "vehicle": "b1",
            "node": 2,
            "ready_t": 600,
            "leave_t": 745,
        },
        {"t": 700, "type": "service", "vehicle": "b1", "t0": 700, "t1": 745},
        {
            "t": 1000,
            "type": "drive",
            "vehicle": "b1",
            "t0": 745,
            "t1": 1000,
            "m": 1500,
            "load": 3,
        },
        {"t": 1000, "type": "dropoff", "id": "r1", "vehicle": "b1", "node": 3},
        {"t": 1000, "type": "service", "vehicle": "b1", "t0": 1000, "t1": 1030},
        {
            "t": 1200,
            "type": "drive",
            "vehicle": "b1",
            "t0": 1030,
            "t1": 1200,
            "m": 500,
            "load": 2,
        },
        {"t": 1200, "type": "dropoff", "id": "r2", "vehicle": "b1", "node": 4},
        {"t": 1200, "type": "service", "vehicle": "b1", "t0": 1200, "t1": 1230},
        {
            "t": 1430,
            "type": "drive",
            "vehicle": "b1",
            "t0": 1230,
            "t1": 1430,
            "m": 1000,
            "load": 0,
        },
    ]


def test_two_pooled_riders_one_rejection_one_decline_by_hand() -> None:
    kpis = compute_kpis(_day())
    assert kpis["requests"] == 4
    assert kpis["served"] == 2
    assert kpis["served_share"] == pytest.approx(0.5)  # 2 of 4
    assert kpis["served_riders"] == 3  # r1 alone + r2's group of two
    assert kpis["rejections"] == {"no_vehicle_in_time": 1}
    assert kpis["declined"] == 1
    # Waits: r1 boards at 500, ready 500 -> 0; r2 boards at 700, ready 600 -> 100.
    assert kpis["wait_mean_s"] == pytest.approx(50.0)
    assert kpis["wait_p90_s"] == pytest.approx(90.0)  # 0 + 0.9 * (100 - 0)
    # Walks: r1 100 + 50 = 150, r2 0 + 200 = 200 -> mean 175.
    assert kpis["walk_mean_m"] == pytest.approx(175.0)
    # Ride (leave pickup -> reach drop-off): r1 1000 - 545 = 455, r2 1200 - 745 = 455.
    assert kpis["in_vehicle_mean_s"] == pytest.approx(455.0)
    # Detour: r1 455 / 600 = 0.7583, r2 455 / 300 = 1.5167 -> mean 1.1375.
    assert kpis["detour_mean"] == pytest.approx(1.1375)
    # Only r1 has an appointment (2000) and arrives at 1000: 1 of 1 on time.
    assert kpis["on_time_share"] == pytest.approx(1.0)
    # Driven 2000 + 1000 + 1500 + 500 + 1000 = 6000 m, empty 2000 + 1000 = 3000 m.
    assert kpis["vehicle_km"] == pytest.approx(6.0)
    assert kpis["empty_km"] == pytest.approx(3.0)
    # Rider-metres 1000*1 + 1500*3 + 500*2 = 6500 over 6000 m driven.
    assert kpis["occupancy"] == pytest.approx(6500 / 6000)
    # r1 rides 500-1000, r2 700-1200: they overlap, both pooled.
    assert kpis["pooled_share"] == pytest.approx(1.0)
    # Working time: the whole 0..1430 s is drive, wait or service -> 1430 s.
    assert kpis["vehicle_hours"] == pytest.approx(1430 / 3600)
    assert kpis["passengers_per_vehicle_hour"] == pytest.approx(3 / (1430 / 3600))  # 7.55
    assert kpis["vehicle_hours_per_served_rider"] == pytest.approx((1430 / 3600) / 3)
    assert kpis["errors"] == 0


def test_rides_that_only_touch_are_not_pooled() -> None:
    records = _day()
    # Move r2's pickup to 1000 (when r1 alights): intervals [500,1000] and [1000,1200] touch.
    for record in records:
        if record["type"] == "pickup" and record["id"] == "r2":
            record["t"] = 1000
    assert compute_kpis(records)["pooled_share"] == pytest.approx(0.0)


def test_empty_day_has_undefined_ratios_not_zero_divisions() -> None:
    kpis = compute_kpis([])
    assert kpis["requests"] == 0
    assert kpis["served_share"] is None
    assert kpis["wait_mean_s"] is None
    assert kpis["passengers_per_vehicle_hour"] is None


def test_outcomes_and_table_rows_name_every_request_and_reason() -> None:
    outcomes = rider_outcomes(_day())
    assert outcomes == {"r1": "served", "r2": "served", "r3": "rejected", "r4": "declined"}
    rows = dict(kpi_rows(compute_kpis(_day())))
    assert rows["served share"] == "50.0 %"
    assert rows["  rejected: no_vehicle_in_time"] == "1"


def test_reoptimization_runs_adoptions_and_failures_are_counted() -> None:
    def reoptimized(adopted: bool, reason: str) -> dict[str, object]:
        return {
            "t": 0,
            "type": "dispatch",
            "event": "Reoptimized",
            "adopted": adopted,
            "reason": reason,
        }

    records = [
        reoptimized(False, "nothing to optimize"),  # not a run
        reoptimized(True, ""),
        reoptimized(False, "not cheaper"),
        reoptimized(False, "solver failed: TypeError: ..."),
    ]
    kpis = compute_kpis(records)
    assert (kpis["reoptimizations"], kpis["reoptimizations_adopted"]) == (3, 1)
    assert kpis["reoptimizations_failed"] == 1
