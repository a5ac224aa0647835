"""Operator console JSON against a real ``noriai serve`` (re-optimization on demand), on SQLite
and on PostgreSQL (the event log is written by the driver hub on both)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import (
    OPERATOR_TOKEN,
    Server,
    add_vehicle,
    book_station_to_hospital,
    register,
    running_server,
)
from websockets.asyncio.client import connect

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def console_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own per backend (SQLite file, fresh PostgreSQL database)."""
    folder: Path = tmp_path_factory.mktemp(f"console-server-{backend}")
    with running_server(backend, folder, NORIAI_REOPTIMIZE_INTERVAL_S="0") as server:
        yield server


@pytest.fixture(scope="module")
def operator(console_server: Server) -> Iterator[httpx.Client]:
    with console_server.client(OPERATOR_TOKEN) as client:
        yield client


@pytest.fixture(scope="module")
def booked(console_server: Server, operator: httpx.Client) -> dict[str, Any]:
    """Vehicle ``con-1`` at the station and one booking station -> hospital on it."""
    station = operator.get("/v1/places/station").json()
    added = add_vehicle(operator, "con-1", station)
    _, booking = book_station_to_hospital(console_server)
    booking["driver_token"] = added["driver_token"]
    return booking


def test_console_needs_the_operator_token(console_server: Server) -> None:
    _, rider = register(console_server)
    anonymous = console_server.client()
    for path in ("/v1/console/graph", "/v1/console/fleet", "/v1/console/days"):
        assert anonymous.get(path).status_code == 401
        assert rider.get(path).status_code == 403
    assert rider.post("/v1/console/reoptimize").status_code == 403


def test_graph_geojson_has_each_road_once_and_stops_inside_its_bbox(
    operator: httpx.Client,
) -> None:
    graph = operator.get("/v1/console/graph").json()
    west, south, east, north = graph["bbox"]
    features = graph["features"]
    # A two-way road is two directed edges but one feature: no (u, v) pair appears twice.
    edges = [f["properties"]["edge"] for f in features]
    assert len(edges) == len(set(edges))
    ends = {
        (tuple(f["geometry"]["coordinates"][0]), tuple(f["geometry"]["coordinates"][-1]))
        for f in features
    }
    assert all((b, a) not in ends for a, b in ends if a != b)
    assert all(len(f["geometry"]["coordinates"]) >= 2 for f in features)
    stops = operator.get("/v1/console/stops").json()["features"]
    assert stops
    for stop in stops:
        lon, lat = stop["geometry"]["coordinates"]
        assert west - 1e-6 <= lon <= east + 1e-6
        assert south - 1e-6 <= lat <= north + 1e-6


def test_fleet_and_bookings_show_the_booking_on_its_vehicle(
    operator: httpx.Client, booked: dict[str, Any]
) -> None:
    fleet = operator.get("/v1/console/fleet").json()
    vehicle = next(v for v in fleet["vehicles"] if v["id"] == "con-1")
    assert [(s["request_id"], s["kind"]) for s in vehicle["stops"]] == [
        (booked["id"], "pickup"),
        (booked["id"], "dropoff"),
    ]
    assert vehicle["route_version"] >= 1
    # The planned route starts where the vehicle is and follows roads (several points).
    assert vehicle["route"][0] == pytest.approx([vehicle["lon"], vehicle["lat"]], abs=1e-6)
    assert len(vehicle["route"]) > 2
    bookings = operator.get("/v1/console/bookings").json()
    row = next(b for b in bookings["bookings"] if b["id"] == booked["id"])
    assert row["status"] == "assigned"
    assert row["vehicle_id"] == "con-1"
    assert bookings["counts"]["assigned"] >= 1


def test_reoptimize_now_answers_with_what_it_did(
    operator: httpx.Client, booked: dict[str, Any]
) -> None:
    answer = operator.post("/v1/console/reoptimize")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ran"] is True
    assert isinstance(body["adopted"], bool)
    assert set(body["changed_vehicles"]) <= {"con-1"}
    assert operator.post("/v1/console/reoptimize", params={"day": "2001-01-01"}).status_code == 404


def test_replay_log_holds_booking_plan_and_driver_reports_in_order(
    console_server: Server, operator: httpx.Client, booked: dict[str, Any]
) -> None:
    async def drive() -> None:
        url = console_server.base_url.replace("http://", "ws://") + "/v1/drivers/ws"
        async with connect(url) as socket:
            auth = {"token": booked["driver_token"], "vehicle_id": "con-1"}
            await socket.send(json.dumps({"v": 1, "type": "auth", "id": "a1", "payload": auth}))
            route = None
            while route is None:
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if message["type"] == "route.updated":
                    route = message["payload"]
            stop_id = route["stops"][0]["stop_id"]
            command = {"v": 1, "type": "stop.arrived", "id": str(uuid.uuid4())}
            await socket.send(json.dumps({**command, "payload": {"stop_id": stop_id}}))
            while json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] != (
                "command.result"
            ):
                pass

    asyncio.run(drive())
    day = booked["service_day"]
    assert day in operator.get("/v1/console/days").json()["days"]
    events = operator.get("/v1/console/replay", params={"day": day}).json()["events"]
    mine = [e["type"] for e in events if e["request_id"] == booked["id"]]
    assert mine[:2] == ["Booked", "Assigned"]
    plans = [e for e in events if e["type"] == "PlanChanged" and e["vehicle_id"] == "con-1"]
    assert plans
    assert booked["id"] in {s["request_id"] for s in plans[0]["payload"]["stops"]}
    arrived = [e for e in events if e["type"] == "StopArrived"]
    assert arrived
    assert arrived[-1]["vehicle_id"] == "con-1"
    # Returned in logged order; the booking's own events never go back in time.
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    times = [e["time_s"] for e in events if e["request_id"] == booked["id"]]
    assert times == sorted(times)
