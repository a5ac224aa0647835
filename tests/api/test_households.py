"""Households (operator API) and the TV API, against real ``noriai serve`` processes.

CRUD and authorisation run on both backends (the shared ``server`` fixture: SQLite and
PostgreSQL, so the households migration is exercised on both). The TV booking scenarios run on
one extra SQLite server whose only car works 06:00-12:00, so that "no car" is reproducible at
any hour of the day: tomorrow 13:00 is after the shift, 11:00 is inside it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import OPERATOR_TOKEN, ROOT, SERVICE_ZONE, Server, register, server_env

pytestmark = pytest.mark.timeout(120)


def place(client: httpx.Client, place_id: str) -> dict[str, float]:
    body = client.get(f"/v1/places/{place_id}").json()
    return {"lat": body["lat"], "lon": body["lon"]}


def new_household(operator: httpx.Client, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": "湊 花子",
        "home": place(operator, "clinic"),
        "pin": "2468",
        "consent": True,
    }
    body.update(extra)
    response = operator.post("/v1/operator/households", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def tv_login(server: Server, number: int, pin: str) -> httpx.Client:
    response = httpx.post(
        server.base_url + "/v1/tv/login", json={"number": number, "pin": pin}, timeout=30
    )
    assert response.status_code == 200, response.text
    return server.client(response.json()["token"])


def tomorrow() -> str:
    return (dt.datetime.now(SERVICE_ZONE).date() + dt.timedelta(days=1)).isoformat()


# --- operator API, both backends ------------------------------------------------------------
def test_operator_creates_lists_updates_and_deletes_a_household(
    server: Server, operator: httpx.Client
) -> None:
    created = new_household(operator, language="en", wheelchair=True)
    assert created["has_pin"] is True
    assert created["consent"] is True
    assert created["pairing_code"] is None
    assert "pin" not in created
    assert "2468" not in str(created)
    household_id = created["id"]

    listed = operator.get("/v1/operator/households").json()
    assert household_id in [h["id"] for h in listed]
    read = operator.get(f"/v1/operator/households/{household_id}").json()
    assert read["wheelchair"] is True
    assert read["language"] == "en"

    changed = operator.patch(
        f"/v1/operator/households/{household_id}",
        json={"language": "ja", "new_pairing_code": True},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["language"] == "ja"
    assert len(changed.json()["pairing_code"]) == 11  # "12345-67890"
    assert changed.json()["pairing_pending"] is True

    taken = operator.post(
        "/v1/operator/households",
        json={
            "display_name": "copy",
            "number": created["number"],
            "home": place(operator, "clinic"),
            "pin": "1111",
            "consent": True,
        },
    )
    assert taken.status_code == 409

    assert operator.delete(f"/v1/operator/households/{household_id}").status_code == 204
    assert operator.get(f"/v1/operator/households/{household_id}").status_code == 404
    assert operator.delete(f"/v1/operator/households/{household_id}").status_code == 404


def test_household_endpoints_need_the_operator_token(server: Server) -> None:
    _, rider = register(server)
    anonymous = server.client()
    household = {"display_name": "x", "home": {"lat": 37.5, "lon": 139.9}, "consent": True}
    assert anonymous.get("/v1/operator/households").status_code == 401
    assert anonymous.post("/v1/operator/households", json=household).status_code == 401
    assert rider.get("/v1/operator/households").status_code == 403
    assert rider.delete("/v1/operator/households/H1").status_code == 403
    tv_token = server.client("nr_t_" + secrets.token_urlsafe(32))
    assert tv_token.get("/v1/operator/households").status_code == 401
    rider.close()
    anonymous.close()
    tv_token.close()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pin": "12a4"}, None),
        ({"pin": "123"}, None),
        ({"pin": "1234567"}, None),
        ({"consent": False}, "consent_missing"),
        ({"home": {"lat": 0.0, "lon": 0.0}}, "outside_service_area"),
        ({"home": {"lat": 95.0, "lon": 0.0}}, None),
        ({"display_name": ""}, None),
        ({"display_name": "a\u0000b"}, None),
        ({"language": "de"}, None),
        ({"number": -4}, None),
        ({"surprise": 1}, None),
        ({"pin": None, "pairing_code": False}, None),
    ],
)
def test_bad_household_input_is_refused_with_422(
    server: Server, operator: httpx.Client, change: dict[str, Any], reason: str | None
) -> None:
    body: dict[str, Any] = {
        "display_name": "湊 花子",
        "home": place(operator, "clinic"),
        "pin": "2468",
        "consent": True,
    }
    body.update(change)
    response = operator.post("/v1/operator/households", json=body)
    assert response.status_code == 422, response.text
    if reason is not None:
        assert response.json()["reason"] == reason


def test_unknown_or_odd_household_ids_are_404_not_500(operator: httpx.Client) -> None:
    for household_id in ("H000000000000", "x" * 200, "%00", "Hé"):
        assert operator.get(f"/v1/operator/households/{household_id}").status_code == 404
        patched = operator.patch(f"/v1/operator/households/{household_id}", json={})
        assert patched.status_code == 404


def test_wrong_pins_lock_the_household_for_a_while(server: Server, operator: httpx.Client) -> None:
    household = new_household(operator, pin="8642")
    url = server.base_url + "/v1/tv/login"
    for _ in range(5):
        wrong = httpx.post(url, json={"number": household["number"], "pin": "0000"}, timeout=30)
        assert wrong.status_code == 401
        assert wrong.json()["reason"] == "wrong_pin"
    # After five wrong PINs even the right one is refused until the lock ends.
    locked = httpx.post(url, json={"number": household["number"], "pin": "8642"}, timeout=30)
    assert locked.status_code == 429
    assert locked.json()["reason"] == "locked"
    # An unknown number gets exactly the answer of a wrong PIN.
    unknown = httpx.post(url, json={"number": 99_999_998, "pin": "8642"}, timeout=30)
    assert unknown.status_code == 401
    assert unknown.json() == wrong.json()
    for body in ({"number": household["number"], "pin": "12ab"}, {"number": "x"}, {}):
        assert httpx.post(url, json=body, timeout=30).status_code == 422


def test_a_pairing_code_pairs_one_tv_once(server: Server, operator: httpx.Client) -> None:
    household = new_household(operator, pin=None, pairing_code=True)
    code = household["pairing_code"]
    assert household["has_pin"] is False
    paired = httpx.post(server.base_url + "/v1/tv/pair", json={"code": code}, timeout=30)
    assert paired.status_code == 200, paired.text
    assert paired.json()["kind"] == "device"
    assert paired.json()["expires_at"] is None
    tv = server.client(paired.json()["token"])
    assert tv.get("/v1/tv/me").json()["number"] == household["number"]
    again = httpx.post(server.base_url + "/v1/tv/pair", json={"code": code}, timeout=30)
    assert again.status_code == 401
    assert again.json()["reason"] == "wrong_code"
    # A new code unpairs the household's TVs.
    operator.patch(f"/v1/operator/households/{household['id']}", json={"new_pairing_code": True})
    assert tv.get("/v1/tv/me").status_code == 401
    tv.close()


# --- the TV API on a server with one morning car ----------------------------------------------
@pytest.fixture(scope="module")
def morning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A SQLite server whose only car runs 06:00-12:00 every day."""
    folder = tmp_path_factory.mktemp("tv-morning")
    env = server_env(NORIAI_SERVICE_PHONE="0241-00-0000")
    server = Server(db_url=f"sqlite:///{folder / 'tv.sqlite'}", log_path=folder / "log", env=env)
    server.start()
    try:
        with server.client(OPERATOR_TOKEN) as operator:
            response = operator.post(
                "/v1/vehicles",
                json={
                    "id": "morning-car",
                    "seats": 4,
                    "wheelchair_places": 1,
                    "depot": place(operator, "station"),
                    "shift_start": "06:00",
                    "shift_end": "12:00",
                },
            )
            assert response.status_code == 201, response.text
        yield server
    finally:
        server.stop()


def test_tv_trips_belong_to_their_household_only(morning: Server) -> None:
    operator = morning.client(OPERATOR_TOKEN)
    first = new_household(operator, pin="1111")  # home at the clinic: inside Minato
    second = new_household(operator, pin="2222", home=place(operator, "city-hall"))
    tv_a = tv_login(morning, first["number"], "1111")
    tv_b = tv_login(morning, second["number"], "2222")
    assert tv_a.get("/v1/tv/me").json()["door_to_door"] is True
    assert tv_b.get("/v1/tv/me").json()["door_to_door"] is False

    trip = {"preset": 2, "date": tomorrow(), "arrive_by": "10:00", "riders": 1}
    booked = tv_a.post("/v1/tv/bookings", json={"trip": trip})
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert booking["door_to_door"] is True
    assert booking["arrive_by"] == "10:00"
    assert booking["phone"] == "0241-00-0000"
    stored = operator.get(f"/v1/bookings/{booking['id']}").json()
    assert stored["channel"] == "tv"
    assert stored["pickup"]["stop_id"].startswith("door:")
    assert stored["pickup"]["walk_m"] < 200  # the road node nearest the home point

    assert [b["id"] for b in tv_a.get("/v1/tv/bookings").json()] == [booking["id"]]
    assert tv_b.get("/v1/tv/bookings").json() == []
    refused = tv_b.post(f"/v1/tv/bookings/{booking['id']}/cancel")
    assert refused.status_code == 404
    assert refused.json()["reason"] == "not_your_trip"
    # B cannot book A's offer either.
    offer = tv_a.post("/v1/tv/quote", json={**trip, "arrive_by": "11:00"}).json()["offer"]
    stolen = tv_b.post("/v1/tv/bookings", json={"offer_id": offer["offer_id"]})
    assert stolen.status_code == 403
    assert operator.get(f"/v1/bookings/{booking['id']}").json()["status"] == "assigned"

    cancelled = tv_a.post(f"/v1/tv/bookings/{booking['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert tv_a.get("/v1/tv/bookings").json() == []
    assert tv_a.post(f"/v1/tv/bookings/{booking['id']}/cancel").status_code == 409
    for client in (operator, tv_a, tv_b):
        client.close()


def test_no_car_answers_with_the_nearest_times_that_have_one(morning: Server) -> None:
    operator = morning.client(OPERATOR_TOKEN)
    household = new_household(operator, pin="3333")
    tv = tv_login(morning, household["number"], "3333")
    # The only car stops at 12:00, so nothing arrives "by 13:45" without idling past the
    # shift; the answer names the nearest earlier steps (13:30, 13:15, ... down to 11:45 are
    # probed: 8 steps of 15 min) that have an offer, at most three, in time order.
    trip = {"preset": 3, "date": tomorrow(), "arrive_by": "13:45", "riders": 1}
    answer = tv.post("/v1/tv/quote", json=trip)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["offer"] is None
    assert body["rejection"]["reason"] in {"shift_end", "no_vehicle_in_time"}
    steps = [offer["arrive_by"] for offer in body["alternatives"]]
    assert 1 <= len(steps) <= 3, body
    assert steps == sorted(steps)
    assert all("11:45" <= step < "13:45" for step in steps)
    for offer in body["alternatives"]:
        assert offer["expected_arrival"] <= offer["arrive_by"]
    # An alternative is a real offer: it can be booked as it is.
    booked = tv.post("/v1/tv/bookings", json={"offer_id": body["alternatives"][-1]["offer_id"]})
    assert booked.status_code == 201, booked.text
    # Quote and book in one step at a time without a car: 409 with the reason, nothing booked.
    one_step = tv.post("/v1/tv/bookings", json={"trip": {**trip, "arrive_by": "23:45"}})
    assert one_step.status_code == 409
    assert one_step.json()["reason"] in {"shift_end", "no_vehicle_in_time"}
    assert len(tv.get("/v1/tv/bookings").json()) == 1
    tv.close()
    operator.close()


def test_tv_refuses_past_times_bad_steps_and_strangers(morning: Server) -> None:
    operator = morning.client(OPERATOR_TOKEN)
    household = new_household(operator, pin="4444")
    tv = tv_login(morning, household["number"], "4444")
    today = dt.datetime.now(SERVICE_ZONE).date()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    before = operator.get("/v1/operator/bookings", params={"day": tomorrow()}).json()

    past = tv.post(
        "/v1/tv/quote",
        json={"preset": 1, "date": today.isoformat(), "arrive_by": "00:00", "riders": 1},
    )
    assert past.status_code == 422
    assert past.json()["reason"] == "in_the_past"
    past_day = tv.post(
        "/v1/tv/bookings",
        json={"trip": {"preset": 1, "date": yesterday, "arrive_by": "10:00", "riders": 1}},
    )
    assert past_day.status_code == 422
    assert past_day.json()["reason"] == "in_the_past"
    for bad in (
        {"preset": 1, "date": tomorrow(), "arrive_by": "10:07"},
        {"preset": 1, "date": tomorrow(), "arrive_by": "25:00"},
        {"preset": 1, "date": tomorrow(), "arrive_by": "10:00", "riders": 5},
        {"preset": 0, "date": tomorrow(), "arrive_by": "10:00"},
        {"preset": 1, "date": "someday", "arrive_by": "10:00"},
    ):
        assert tv.post("/v1/tv/quote", json=bad).status_code == 422, bad
    unknown_preset = tv.post(
        "/v1/tv/quote", json={"preset": 42, "date": tomorrow(), "arrive_by": "10:00"}
    )
    assert unknown_preset.status_code == 422
    assert tv.post("/v1/tv/bookings", json={}).status_code == 422
    assert tv.post("/v1/tv/bookings/" + "x" * 100 + "/cancel").status_code == 404
    assert tv.post("/v1/tv/bookings/%00/cancel").status_code == 404

    stranger = morning.client("nr_t_" + secrets.token_urlsafe(32))
    assert stranger.get("/v1/tv/bookings").status_code == 401
    assert morning.client().get("/v1/tv/options").status_code == 401
    rider_id, rider = register(morning)
    assert rider.get("/v1/tv/bookings").status_code == 401
    assert rider_id
    after = operator.get("/v1/operator/bookings", params={"day": tomorrow()}).json()
    assert after == before
    for client in (operator, tv, stranger, rider):
        client.close()


def test_a_lost_household_link_is_recovered_and_deletion_anonymises(morning: Server) -> None:
    operator = morning.client(OPERATOR_TOKEN)
    household = new_household(operator, pin="6666")
    tv = tv_login(morning, household["number"], "6666")
    trip = {"preset": 4, "date": tomorrow(), "arrive_by": "11:00", "riders": 1}
    booked = tv.post("/v1/tv/bookings", json={"trip": trip})
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    database = morning.db_url.removeprefix("sqlite:///")
    # As if the server died between the booking's commit and the link's: the idempotency
    # record committed with the booking still names the household.
    with sqlite3.connect(database, timeout=10) as db:
        db.execute("DELETE FROM household_booking WHERE booking_id = ?", (booking_id,))
    assert [b["id"] for b in tv.get("/v1/tv/bookings").json()] == [booking_id]

    assert operator.delete(f"/v1/operator/households/{household['id']}").status_code == 204
    assert operator.get(f"/v1/bookings/{booking_id}").json()["status"] == "cancelled"
    assert tv.get("/v1/tv/me").status_code == 401
    with sqlite3.connect(database, timeout=10) as db:
        stored = db.execute(
            "SELECT contact_name, origin_lat, origin_lon, anonymised FROM booking WHERE id = ?",
            (booking_id,),
        ).fetchone()
        links = db.execute(
            "SELECT count(*) FROM household_booking WHERE booking_id = ?", (booking_id,)
        ).fetchone()
    assert stored == (None, None, None, 1)
    assert links == (0,)
    tv.close()
    operator.close()


def test_tv_options_list_presets_days_and_phone(morning: Server) -> None:
    operator = morning.client(OPERATOR_TOKEN)
    household = new_household(operator, pin="5555")
    tv = tv_login(morning, household["number"], "5555")
    options = tv.get("/v1/tv/options").json()
    assert [p["place_id"] for p in options["presets"]] == [
        "clinic",
        "station",
        "city-hall",
        "supermarket",
    ]
    assert [p["number"] for p in options["presets"]] == [1, 2, 3, 4]
    assert options["phone"] == "0241-00-0000"
    assert options["step_minutes"] == 15
    days = {day["label"]: day for day in options["days"]}
    # One car 06:00-12:00: first step 06:00 + 30 min lead = 06:30, last 12:00.
    assert days["tomorrow"]["first"] == "06:30"
    assert days["tomorrow"]["last"] == "12:00"
    assert tv.get("/tv").status_code == 200
    assert "tv.js" in tv.get("/tv").text
    assert tv.get("/tv/tv.js").status_code == 200
    assert tv.get("/tv/other.js").status_code == 422
    tv.close()
    operator.close()


def test_cli_adds_and_lists_households(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    command = [sys.executable, "-m", "api.cli", "households"]
    added = subprocess.run(
        [
            *command,
            "add",
            "--name",
            "山田 一郎",
            "--home",
            "37.485,139.915",
            "--pin",
            "-",
            "--consent",
            "--pairing-code",
            "--number",
            "7",
            "--db",
            db,
            "--no-area-check",
        ],
        input="1357\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "household 7" in added.stdout
    assert "pairing code (shown once):" in added.stdout
    listed = subprocess.run(
        [*command, "list", "--json", "--db", db],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["number"], r["display_name"], r["has_pin"]) for r in rows] == [
        (7, "山田 一郎", True)
    ]
    assert "1357" not in listed.stdout
    refused = subprocess.run(
        [
            *command,
            "add",
            "--name",
            "x",
            "--home",
            "37.485,139.915",
            "--pin",
            "12",
            "--consent",
            "--db",
            db,
            "--no-area-check",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("noriai: error: pin")
    assert "Traceback" not in refused.stderr
