"""End-to-end against a real ``noriai serve`` on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_helpers import OPERATOR_TOKEN, SERVICE_ZONE, Server, quote_body, register, soon

pytestmark = pytest.mark.timeout(120)


def places(client: httpx.Client) -> dict[str, dict[str, float]]:
    return {p["id"]: p for p in client.get("/v1/places").json()}


def test_rider_quotes_books_reads_and_cancels(server: Server, fleet: list[str]) -> None:
    rider_id, rider = register(server)
    where = places(rider)
    quote = rider.post(
        "/v1/quotes",
        json=quote_body(where["station"], {"place_id": "hospital"}),
    )
    assert quote.status_code == 200, quote.text
    offers = quote.json()["offers"]
    assert offers, quote.json()
    offer = offers[0]
    # The pickup window is the promise: earliest <= expected pickup <= latest.
    assert offer["pickup_window"]["earliest"] <= offer["expected_pickup"]
    assert offer["expected_pickup"] <= offer["pickup_window"]["latest"]
    # Times come back in the service time zone, with its offset (servers run in SERVICE_ZONE).
    offset = dt.datetime.now(SERVICE_ZONE).isoformat()[-6:]
    assert offer["pickup_window"]["earliest"].endswith(offset)

    headers = {"Idempotency-Key": "first-booking"}
    booked = rider.post("/v1/bookings", json={"offer_id": offer["offer_id"]}, headers=headers)
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["status"] in {"booked", "assigned"}
    assert booking["vehicle_id"] in fleet
    # A retry with the same key returns the same booking, not a second one.
    again = rider.post("/v1/bookings", json={"offer_id": offer["offer_id"]}, headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == booking["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    # Without the key, booking the same offer again is a conflict.
    twice = rider.post("/v1/bookings", json={"offer_id": offer["offer_id"]})
    assert twice.status_code == 409

    read = rider.get(f"/v1/bookings/{booking['id']}")
    assert read.status_code == 200
    assert read.json()["pickup"]["stop_id"] == offer["pickup"]["stop_id"]
    live = rider.get(f"/v1/bookings/{booking['id']}/live").json()
    assert live["vehicle_id"] == booking["vehicle_id"]
    assert live["pickup_eta"] is not None
    assert live["vehicle_position"] is not None

    mine = rider.get("/v1/me/bookings").json()
    assert [b["id"] for b in mine] == [booking["id"]]

    cancelled = rider.post(f"/v1/bookings/{booking['id']}/cancel", json={"reason": "plans changed"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_by"] == "rider"
    assert rider.post(f"/v1/bookings/{booking['id']}/cancel").status_code == 409
    assert rider_id.startswith("R")


def test_booking_is_in_the_vehicle_plan(
    server: Server, operator: httpx.Client, fleet: list[str]
) -> None:
    _, rider = register(server)
    where = places(rider)
    offers = rider.post(
        "/v1/quotes", json=quote_body(where["clinic"], {"place_id": "city-hall"})
    ).json()["offers"]
    booking = rider.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]}).json()
    plans = operator.get("/v1/operator/plans", params={"day": booking["service_day"]}).json()
    planned = {
        (plan["vehicle_id"], stop["kind"])
        for plan in plans
        for stop in plan["stops"]
        if stop["request_id"] == booking["id"]
    }
    assert planned == {(booking["vehicle_id"], "pickup"), (booking["vehicle_id"], "dropoff")}
    day = operator.get("/v1/operator/bookings", params={"day": booking["service_day"]}).json()
    assert booking["id"] in {b["id"] for b in day}


def test_one_rider_cannot_read_or_cancel_another_riders_booking(
    server: Server, fleet: list[str]
) -> None:
    _, alice = register(server)
    _, bob = register(server)
    where = places(alice)
    offers = alice.post(
        "/v1/quotes", json=quote_body(where["station"], {"place_id": "supermarket"})
    ).json()["offers"]
    booking = alice.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]}).json()
    assert bob.get(f"/v1/bookings/{booking['id']}").status_code == 404
    assert bob.post(f"/v1/bookings/{booking['id']}/cancel").status_code == 404
    assert bob.get(f"/v1/bookings/{booking['id']}/live").status_code == 404
    assert alice.get(f"/v1/bookings/{booking['id']}").json()["status"] in {"booked", "assigned"}


def test_wrong_or_missing_tokens_get_401_and_wrong_roles_403(server: Server) -> None:
    _, rider = register(server)
    anonymous = server.client()
    assert anonymous.get("/v1/me").status_code == 401
    assert server.client("nr_r_not-a-real-token").get("/v1/me").status_code == 401
    assert anonymous.get("/v1/vehicles", headers={"Authorization": "Basic x"}).status_code == 401
    assert rider.get("/v1/vehicles").status_code == 403
    assert rider.get("/v1/operator/bookings").status_code == 403


def test_naive_datetime_is_refused_with_a_hint_to_add_an_offset(server: Server) -> None:
    _, rider = register(server)
    where = places(rider)
    body = quote_body(where["station"], {"place_id": "hospital"})
    body["depart_at"] = soon()[:19]  # "2026-11-25T21:10:00", no offset
    response = rider.post("/v1/quotes", json=body)
    assert response.status_code == 422
    assert "add one" in response.text
    both = quote_body(where["station"], {"place_id": "hospital"}, arrive_by=soon(90))
    assert rider.post("/v1/quotes", json=both).status_code == 422
    # Dates at the ends of the calendar overflow when moved to Tokyo time: 422, not 500.
    for extreme in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"):
        body["depart_at"] = extreme
        assert rider.post("/v1/quotes", json=body).status_code == 422


def test_unknown_offer_is_gone_and_unknown_place_is_404(server: Server) -> None:
    _, rider = register(server)
    gone = rider.post("/v1/bookings", json={"offer_id": "no-such-offer"})
    assert gone.status_code == 410
    assert gone.json()["reason"] == "offer_expired"
    where = places(rider)
    missing = rider.post("/v1/quotes", json=quote_body(where["station"], {"place_id": "moon"}))
    assert missing.status_code == 404


def test_places_are_searchable(server: Server) -> None:
    client = server.client()
    found = client.get("/v1/places", params={"q": "hosp"}).json()
    assert [p["id"] for p in found] == ["hospital"]
    assert client.get("/v1/places/station").json()["name_ja"] == "駅"
    assert client.get("/v1/places/nowhere").status_code == 404


def test_consent_export_and_erasure(
    server: Server, operator: httpx.Client, fleet: list[str]
) -> None:
    rider_id, rider = register(server)
    where = places(rider)
    # Without opt-in nothing personal is kept.
    no_consent = rider.put("/v1/me/profile", json={"home": {"lat": 37.49, "lon": 139.93}})
    assert no_consent.status_code == 409
    assert (
        rider.post("/v1/me/places", json={"name": "home", "lat": 37.49, "lon": 139.93}).status_code
        == 409
    )
    assert rider.put("/v1/me/consent", json={"personal_data": True}).json()["personal_data"]
    home = where["clinic"]
    profile = rider.put(
        "/v1/me/profile",
        json={"display_name": "Hanako", "home": {"lat": home["lat"], "lon": home["lon"]}},
    )
    assert profile.status_code == 200
    assert (
        rider.post(
            "/v1/me/places", json={"name": "Garden", "lat": 37.49, "lon": 139.93}
        ).status_code
        == 201
    )
    offers = rider.post(
        "/v1/quotes", json=quote_body(home, {"place_id": "station"}, depart_at=soon(120))
    ).json()["offers"]
    booking = rider.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]}).json()

    export = rider.get("/v1/me/export").json()
    assert export["profile"]["display_name"] == "Hanako"
    assert export["profile"]["home"] == {"lat": home["lat"], "lon": home["lon"]}
    assert [p["name"] for p in export["saved_places"]] == ["Garden"]
    assert [b["id"] for b in export["bookings"]] == [booking["id"]]

    assert rider.delete("/v1/me").status_code == 204
    assert rider.get("/v1/me").status_code == 401  # the token died with the rider
    # The future trip was cancelled and the booking kept only anonymously.
    kept = operator.get(f"/v1/bookings/{booking['id']}").json()
    assert kept["status"] == "cancelled"
    assert kept["cancelled_by"] == "rider"
    plans = operator.get("/v1/operator/plans", params={"day": booking["service_day"]}).json()
    assert all(s["request_id"] != booking["id"] for p in plans for s in p["stops"])
    assert rider_id not in operator.get("/v1/operator/bookings").text


def test_operator_books_for_a_phone_caller_and_manages_vehicles(
    server: Server, operator: httpx.Client, fleet: list[str]
) -> None:
    where = places(operator)
    quote = operator.post(
        "/v1/quotes", json=quote_body(where["supermarket"], {"place_id": "hospital"})
    ).json()
    booked = operator.post(
        "/v1/operator/bookings",
        json={
            "offer_id": quote["offers"][0]["offer_id"],
            "contact_name": "Sato",
            "contact_phone": "0242-00-0000",
        },
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["channel"] == "phone"

    station = where["station"]
    added = operator.post(
        "/v1/vehicles",
        json={
            "id": "spare-1",
            "seats": 4,
            "depot": {"lat": station["lat"], "lon": station["lon"]},
            "shift_start": "06:00",
            "shift_end": "22:00",
        },
    )
    assert added.status_code == 201, added.text
    assert added.json()["driver_token"].startswith("nr_v_")
    duplicate = operator.post("/v1/vehicles", json={**added.json(), "driver_token": None})
    assert duplicate.status_code == 422  # unknown fields are refused
    assert operator.post("/v1/vehicles/spare-1/retire").json()["retired"] is True
    assert "spare-1" not in {v["id"] for v in operator.get("/v1/vehicles").json()}
    listed = operator.get("/v1/vehicles", params={"include_retired": True}).json()
    assert {v["id"] for v in listed} >= {"spare-1", *fleet}
    assert operator.post("/v1/vehicles/nope/retire").status_code == 404
    bad_shift = operator.post(
        "/v1/vehicles",
        json={
            "id": "x",
            "seats": 4,
            "depot": station | {},
            "shift_start": "20:00",
            "shift_end": "08:00",
        },
    )
    assert bad_shift.status_code == 422


def test_live_updates_stream_as_server_sent_events(server: Server, fleet: list[str]) -> None:
    _, rider = register(server)
    where = places(rider)
    offers = rider.post(
        "/v1/quotes", json=quote_body(where["hospital"], {"place_id": "clinic"})
    ).json()["offers"]
    booking = rider.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]}).json()
    with rider.stream("GET", f"/v1/bookings/{booking['id']}/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert lines[0] == "event: live"
    assert booking["id"] in lines[-1]


def test_cli_adds_vehicles_to_a_running_server(server: Server) -> None:
    if not server.db_url.startswith("sqlite"):
        pytest.skip("the CLI talks HTTP; one backend is enough (saves ~15 s of CLI start-up)")
    noriai = str(Path(sys.executable).with_name("noriai"))
    env = {**os.environ, "NORIAI_OPERATOR_TOKEN": OPERATOR_TOKEN}
    station = places(server.client())["station"]
    depot = f"{station['lat']},{station['lon']}"
    command = [noriai, "vehicles", "add", "cli-bus", "--depot", depot, "--seats", "6"]
    added = subprocess.run(
        [*command, "--shift", "06:00-21:30", "--url", server.base_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["shift_end"] == "21:30"
    with server.client(OPERATOR_TOKEN) as operator:
        assert "cli-bus" in {v["id"] for v in operator.get("/v1/vehicles").json()}
    env.pop("NORIAI_OPERATOR_TOKEN")
    refused = subprocess.run(
        [noriai, "vehicles", "list", "--url", server.base_url, "--token", "nr_o_wrong"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("noriai: error: GET /v1/vehicles answered 401")
    assert "Traceback" not in refused.stderr


def test_reoptimize_now_keeps_every_booking_in_a_plan(
    server: Server, operator: httpx.Client, fleet: list[str]
) -> None:
    _, rider = register(server)
    where = places(rider)
    booked = []
    for origin, destination in (("station", "hospital"), ("clinic", "supermarket")):
        offers = rider.post(
            "/v1/quotes", json=quote_body(where[origin], {"place_id": destination})
        ).json()["offers"]
        booked.append(rider.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]}).json())
    day = booked[0]["service_day"]
    result = operator.post("/v1/operator/reoptimize", params={"day": day})
    assert result.status_code == 200, result.text
    plans = operator.get("/v1/operator/plans", params={"day": day}).json()
    planned = [s["request_id"] for p in plans for s in p["stops"]]
    for booking in booked:
        assert planned.count(booking["id"]) == 2  # its pickup and its drop-off
