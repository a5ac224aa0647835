"""Seeded demand and request logs (CSV/JSON) on the synthetic town."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from routing.synthetic import synthetic_town
from routing.types import LatLon
from simulations.demand import generate_demand, haversine_m
from simulations.errors import RequestLogError
from simulations.requestlog import read_request_log, write_request_log
from simulations.scenario import DemandSpec, Destination, FleetSpec


@pytest.fixture(scope="module")
def town():  # type: ignore[no-untyped-def]
    return synthetic_town(rows=12, cols=12, spacing_m=150)


def test_same_seed_same_requests_other_seed_other_requests(town) -> None:  # type: ignore[no-untyped-def]
    spec = DemandSpec(requests=50)
    a = generate_demand(town, spec, FleetSpec(), seed=5)
    b = generate_demand(town, spec, FleetSpec(), seed=5)
    c = generate_demand(town, spec, FleetSpec(), seed=6)
    assert a == b
    assert a != c


def test_requests_are_sorted_numbered_and_inside_the_shift(town) -> None:  # type: ignore[no-untyped-def]
    fleet = FleetSpec(shift_start=7 * 3600, shift_end=12 * 3600)
    requests = generate_demand(town, DemandSpec(requests=200), fleet, seed=1)
    assert [r.request.id for r in requests] == [f"r{i:04d}" for i in range(1, 201)]
    times = [r.request_time for r in requests]
    assert times == sorted(times)
    far_apart = 0
    for item in requests:
        request = item.request
        assert (request.arrive_by is None) != (request.depart_at is None)
        if request.arrive_by is not None:
            # Appointments from 45 min into the shift to 15 min before its end.
            assert fleet.shift_start + 2700 <= request.arrive_by <= fleet.shift_end - 900
            assert item.request_time <= request.arrive_by
        else:
            assert request.depart_at is not None
            assert request.depart_at <= fleet.shift_end - 900
            assert item.request_time <= request.depart_at
        assert 1 <= request.passengers <= 3
        assert 0 <= request.wheelchairs <= 1
        far_apart += haversine_m(request.origin, request.destination) >= 400
    # Pairs closer than 400 m are drawn again (up to 20 times), so nearly all are apart.
    assert far_apart >= 195


def test_mostly_arrive_by_and_destinations_are_the_configured_places(town) -> None:  # type: ignore[no-untyped-def]
    lat = float(town.node_lat.mean())
    lon = float(town.node_lon.mean())
    hospital = Destination("hospital", LatLon(round(lat, 5), round(lon, 5)), 3.0)
    spec = DemandSpec(requests=400, arrive_by_share=0.75, destinations=(hospital,))
    requests = generate_demand(town, spec, FleetSpec(), seed=2)
    arrive_by = sum(1 for r in requests if r.request.arrive_by is not None)
    # 400 draws at p = 0.75: mean 300, sd about 8.7; 260..340 is more than 4 sd wide.
    assert 260 <= arrive_by <= 340
    # Arrive-by trips go to the place; depart-at trips either come from it or go to it.
    for item in requests:
        request = item.request
        ends = {request.origin, request.destination}
        assert hospital.point in ends


def test_origins_prefer_residential_streets(town) -> None:  # type: ignore[no-untyped-def]
    # The synthetic town is mostly residential; with weight 50 nearly every origin is on one.
    from routing.snap import edge_snapper

    snapper = edge_snapper(town)
    requests = generate_demand(
        town,
        DemandSpec(requests=100, arrive_by_share=1.0, residential_weight=50.0),
        FleetSpec(),
        seed=3,
    )
    classes = Counter(
        town.edge_highway[snapper.nearest(r.request.origin.lat, r.request.origin.lon).edge]
        for r in requests
    )
    assert classes["residential"] >= 90


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_request_log_round_trips_exactly(town, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    requests = generate_demand(town, DemandSpec(requests=30), FleetSpec(), seed=4)
    path = write_request_log(tmp_path / f"requests{suffix}", requests)
    assert read_request_log(path) == requests


def test_request_log_rows_name_their_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "request_time,origin_lat,origin_lon,destination_lat,destination_lon,arrive_by,depart_at\n"
        "07:00,37.49,139.92,37.50,139.93,08:00,\n"
        "07:05,37.49,139.92,37.50,139.93,08:00,08:10\n"
    )
    with pytest.raises(RequestLogError, match="row 2: set exactly one of arrive_by and depart_at"):
        read_request_log(path)
    path.write_text(
        "request_time,origin_lat,origin_lon,destination_lat,destination_lon,arrive_by\n"
        "07:00,north,139.92,37.50,139.93,08:00\n"
    )
    with pytest.raises(RequestLogError, match="row 1: origin_lat = 'north'"):
        read_request_log(path)
    json_path = tmp_path / "log.json"
    json_path.write_text(json.dumps({"requests": [{"request_time": "07:00"}]}))
    with pytest.raises(RequestLogError, match="row 1: missing"):
        read_request_log(json_path)
    with pytest.raises(RequestLogError, match="does not exist"):
        read_request_log(tmp_path / "missing.csv")


def test_hand_written_log_defaults_ids_passengers_and_wheelchair(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(
        "request_time,origin_lat,origin_lon,destination_lat,destination_lon,depart_at,wheelchair\n"
        "27000,37.49,139.92,37.50,139.93,07:45,true\n"
    )
    (item,) = read_request_log(path, door_to_door=True)
    assert item.request_time == 27000  # 07:30
    assert item.request.depart_at == 27900  # 07:45
    assert item.request.id == "r0001"
    assert (item.request.passengers, item.request.wheelchairs) == (1, 1)
    assert item.request.door_to_door is True
