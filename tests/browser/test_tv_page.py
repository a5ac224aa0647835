"""The TV page at /tv, driven in headless Chromium with remote-control keys only.

A real ``noriai serve`` (synthetic town, SQLite) runs on 127.0.0.1 with the four presets plus
one place far outside the area. Household A lives in Minato (door-to-door zone), household B
in the town and travels in a wheelchair (the cars have no wheelchair place). The page is
driven with key presses (digits, arrows, Enter, Backspace) and the
colour keys as real key events with their HbbTV key codes (Green 404, Blue 406) through the
DevTools protocol: no mouse, no typed text. Every screen is saved under test-artifacts/tv/.
Chromium comes from the shared ``browser`` fixture (tests/browser/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from api_helpers import OPERATOR_TOKEN, ROOT, SERVICE_ZONE, Server, server_env

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ARTIFACTS = ROOT / "test-artifacts" / "tv"
PHONE = "0241-00-0000"
PIN_A, PIN_B = "2468", "1357"
NUMBER_A, NUMBER_B = 2001, 2002
COLOUR_CODES = {"red": 403, "green": 404, "yellow": 405, "blue": 406}


@pytest.fixture(scope="module")
def town() -> dict[str, Any]:
    """The synthetic town's places, Minato's home point and a town home point."""
    from api.area import synthetic_places
    from api.zones import synthetic_zones
    from routing.snap import node_snapper
    from routing.synthetic import synthetic_town
    from routing.types import LatLon

    graph = synthetic_town(seed=7)
    places = [
        {
            "id": p.id,
            "name": p.name,
            "name_ja": p.name_ja,
            "kind": p.kind,
            "lat": p.lat,
            "lon": p.lon,
        }
        for p in synthetic_places(graph)
    ]
    # About 15 km north of the town: farther than 500 m from every road of the graph.
    places.append(
        {
            "id": "far-hospital",
            "name": "Prefectural Hospital",
            "name_ja": "県立病院",
            "kind": "hospital",
            "lat": float(graph.node_lat.max()) + 0.13,
            "lon": float(graph.node_lon.mean()),
        }
    )
    lat_min, lat_max = float(graph.node_lat.min()), float(graph.node_lat.max())
    lon_min, lon_max = float(graph.node_lon.min()), float(graph.node_lon.max())
    # Minato is the south-western 40 % x 40 % box; 25 % / 10 % is well inside it.
    home_a = LatLon(lat_min + 0.25 * (lat_max - lat_min), lon_min + 0.10 * (lon_max - lon_min))
    home_b = LatLon(lat_min + 0.60 * (lat_max - lat_min), lon_min + 0.60 * (lon_max - lon_min))
    zone = synthetic_zones(graph)[0]
    assert zone.contains(home_a)
    assert not zone.contains(home_b)
    node_a, _ = node_snapper(graph).nearest(home_a.lat, home_a.lon)
    return {"places": places, "home_a": home_a, "home_b": home_b, "door_node_a": node_a}


@pytest.fixture(scope="module")
def tv_server(town: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("tv-server")
    places_file = folder / "places.json"
    places_file.write_text(json.dumps(town["places"], ensure_ascii=False), encoding="utf-8")
    env = server_env(
        NORIAI_PLACES_FILE=str(places_file),
        NORIAI_TV_PRESETS="clinic,station,city-hall,supermarket,far-hospital",
        NORIAI_SERVICE_PHONE=PHONE,
    )
    server = Server(db_url=f"sqlite:///{folder / 'tv.sqlite'}", log_path=folder / "log", env=env)
    server.start()
    try:
        with server.client(OPERATOR_TOKEN) as operator:
            station = next(p for p in town["places"] if p["id"] == "station")
            for number in (1, 2):
                response = operator.post(
                    "/v1/vehicles",
                    json={
                        "id": f"tv-bus-{number}",
                        "seats": 8,
                        "wheelchair_places": 0,  # so B's wheelchair finds no car
                        "depot": {"lat": station["lat"], "lon": station["lon"]},
                        "shift_start": "00:00",
                        "shift_end": "24:00",
                    },
                )
                assert response.status_code == 201, response.text
            for number, pin, home, name, wheelchair in (
                (NUMBER_A, PIN_A, town["home_a"], "湊 花子", False),
                (NUMBER_B, PIN_B, town["home_b"], "本町 太郎", True),
            ):
                response = operator.post(
                    "/v1/operator/households",
                    json={
                        "display_name": name,
                        "number": number,
                        "home": {"lat": home.lat, "lon": home.lon},
                        "pin": pin,
                        "wheelchair": wheelchair,
                        "consent": True,
                    },
                )
                assert response.status_code == 201, response.text
        yield server
    finally:
        server.stop()


class Tv:
    """One TV: a browser context at 1920x1080 and the keys of its remote."""

    def __init__(self, browser: Any, base_url: str, name: str) -> None:
        self.context = browser.new_context(viewport={"width": 1920, "height": 1080})
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.base_url = base_url
        self.name = name
        self.shots = 0

    def open(self) -> None:
        self.page.goto(self.base_url + "/tv")
        self.wait_screen("login")

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def digits(self, text: str) -> None:
        for digit in text:
            self.page.keyboard.press(digit)

    def colour(self, name: str) -> None:
        """A colour key as the remote sends it: keyCode 403-406 (no event.key name)."""
        code = COLOUR_CODES[name]
        for kind in ("rawKeyDown", "keyUp"):
            self.cdp.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code},
            )

    def screen(self) -> str:
        return str(self.page.get_attribute("#screen", "data-screen"))

    def wait_screen(self, name: str) -> None:
        self.page.wait_for_selector(f'#screen[data-screen="{name}"]', timeout=15_000)

    def text(self) -> str:
        return str(self.page.inner_text("#screen"))

    def shot(self, label: str) -> None:
        """Save a screenshot and check exactly one element of the screen has the focus."""
        focused = self.page.evaluate(
            "() => { const a = document.activeElement;"
            " return !!a && a.hasAttribute('data-focus')"
            " && document.getElementById('screen').contains(a); }"
        )
        assert focused, f"{label}: the focus is not on an element of the screen"
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"))

    def login(self, number: int, pin: str) -> None:
        self.digits(str(number))
        self.press("Enter")
        self.digits(pin)
        self.press("Enter")

    def close(self) -> None:
        self.context.close()


def active_state(operator: httpx.Client, days: list[str]) -> dict[str, str]:
    """Every booking of the days with its status, and every planned stop (what must not change)."""
    state: dict[str, str] = {}
    for day in days:
        for booking in operator.get("/v1/operator/bookings", params={"day": day}).json():
            state[booking["id"]] = booking["status"]
        for plan in operator.get("/v1/operator/plans", params={"day": day}).json():
            for stop in plan["stops"]:
                key = f"{plan['vehicle_id']}:{stop['request_id']}:{stop['kind']}"
                state[key] = stop["stop_id"]
    return state


def test_tv_books_lists_and_cancels_with_the_remote_only(
    tv_server: Server, browser: Any, town: dict[str, Any]
) -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    today = dt.datetime.now(SERVICE_ZONE).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    days = [today.isoformat(), tomorrow]
    operator = tv_server.client(OPERATOR_TOKEN)

    # --- household A: wrong PIN, then log in ----------------------------------------------
    a = Tv(browser, tv_server.base_url, "a")
    a.open()
    a.shot("login")
    a.login(NUMBER_A, "9999")
    a.wait_screen("error-wrongPin")
    a.shot("wrong-pin")
    a.press("Enter")
    a.wait_screen("login")
    a.press("ArrowDown")
    a.digits(PIN_A)
    a.press("Enter")
    a.wait_screen("menu")
    a.shot("menu")
    a.colour("blue")  # English, then back to Japanese
    assert "Book the car" in a.text()
    a.shot("menu-english")
    a.colour("blue")
    assert "車を予約する" in a.text()

    # --- book: 1 clinic, 2 tomorrow, 10:30, 2 riders, Green ----------------------------------
    a.press("1")
    a.wait_screen("destination")
    a.shot("destinations")
    a.press("1")
    a.wait_screen("day")
    a.shot("day")
    a.press("2")
    a.wait_screen("time")
    a.press("ArrowUp", "ArrowUp")  # 10:00 + 2 x 15 min = 10:30
    assert a.page.inner_text("#time-value") == "10:30"
    a.shot("time")
    a.press("Enter")
    a.wait_screen("riders")
    a.press("ArrowUp")
    a.shot("riders")
    a.press("Enter")
    a.wait_screen("offer")
    assert "ご自宅前" in a.text()  # door-to-door: picked up at home
    a.shot("offer")
    a.colour("green")
    a.wait_screen("done")
    booking_id = str(a.page.get_attribute("#booking-number", "data-id"))
    assert booking_id.startswith("B")
    assert PHONE in a.text()
    a.shot("done")

    # --- the booking is in a vehicle plan, picked up at the home point -----------------------
    booking = operator.get(f"/v1/bookings/{booking_id}").json()
    assert booking["channel"] == "tv"
    assert booking["passengers"] == 2
    assert booking["service_day"] == tomorrow
    plans = operator.get("/v1/operator/plans", params={"day": tomorrow}).json()
    pickups = [
        stop
        for plan in plans
        for stop in plan["stops"]
        if stop["request_id"] == booking_id and stop["kind"] == "pickup"
    ]
    assert len(pickups) == 1
    assert pickups[0]["stop_id"] == f"door:{town['door_node_a']}"

    # --- list shows it ---------------------------------------------------------------------
    a.press("Enter")
    a.wait_screen("menu")
    a.press("2")
    a.wait_screen("trips")
    assert "診療所" in a.text()
    a.shot("trips")
    before = active_state(operator, days)

    # --- household B on a second TV: past time, outside destination, A's trip -----------------
    b = Tv(browser, tv_server.base_url, "b")
    yesterday = (today - dt.timedelta(days=1)).isoformat()

    def stale_options(route: Any) -> None:
        # A TV left on overnight: its "today" is yesterday. The server must refuse the time.
        response = route.fetch()
        body = response.json()
        body["days"][0] = {"date": yesterday, "label": "today", "first": "10:00", "last": "12:00"}
        route.fulfill(response=response, json=body)

    b.page.route("**/v1/tv/options", stale_options)
    b.open()
    b.login(NUMBER_B, PIN_B)
    b.wait_screen("menu")
    b.press("2")
    b.wait_screen("trips")
    assert booking_id not in b.text()
    b.shot("no-trips")
    b.press("Enter")
    b.wait_screen("menu")

    b.press("1")
    b.wait_screen("destination")
    b.press("2", "1")  # station, "today" (really yesterday)
    b.wait_screen("time")
    b.press("Enter")
    b.wait_screen("riders")
    b.press("Enter")
    b.wait_screen("error-past")
    b.shot("past-time")
    b.press("Enter")
    b.wait_screen("time")

    b.press("Backspace", "Backspace")  # back to the destinations
    b.wait_screen("destination")
    b.press("5", "2")  # the far hospital, tomorrow
    b.wait_screen("time")
    b.press("Enter")
    b.wait_screen("riders")
    b.press("Enter")
    b.wait_screen("error-outside")
    b.shot("outside-area")
    b.press("Enter")
    b.wait_screen("destination")

    # B travels in a wheelchair and no car has a wheelchair place: the "no car" screen.
    b.press("2", "2")
    b.wait_screen("time")
    b.press("Enter")
    b.wait_screen("riders")
    b.press("Enter")
    b.wait_screen("nocar")
    assert PHONE in b.text()
    b.shot("no-car")
    b.press("Enter")  # "choose another time"
    b.wait_screen("time")
    b.press("Backspace", "Backspace")
    b.wait_screen("destination")

    # B's TV is shown A's trip (a forged or stale list) and tries to cancel it: refused.
    a_trip = next(
        t
        for t in httpx.get(
            tv_server.base_url + "/v1/tv/bookings",
            headers={"Authorization": "Bearer " + login_token(tv_server, NUMBER_A, PIN_A)},
            timeout=30,
        ).json()
        if t["id"] == booking_id
    )
    b.page.route(
        "**/v1/tv/bookings",
        lambda route: (
            route.fulfill(json=[a_trip]) if route.request.method == "GET" else route.continue_()
        ),
    )
    b.press("Backspace")
    b.wait_screen("menu")
    b.press("2")
    b.wait_screen("trips")
    b.press("Enter")
    b.wait_screen("cancel")
    b.colour("green")
    b.wait_screen("error-notYours")
    b.shot("not-your-trip")
    assert active_state(operator, days) == before, "an error screen changed a booking"
    b.close()

    # --- A cancels its trip -------------------------------------------------------------------
    a.press("Enter")
    a.wait_screen("cancel")
    a.shot("cancel-confirm")
    a.colour("green")
    a.wait_screen("cancelled")
    a.shot("cancelled")
    assert operator.get(f"/v1/bookings/{booking_id}").json()["status"] == "cancelled"
    a.press("Enter")
    a.wait_screen("menu")
    a.press("2")
    a.wait_screen("trips")
    assert booking_id not in a.text()
    a.close()
    operator.close()


def login_token(server: Server, number: int, pin: str) -> str:
    response = httpx.post(
        server.base_url + "/v1/tv/login", json={"number": number, "pin": pin}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def test_tv_pairs_once_with_a_code_and_reopens_without_login(
    tv_server: Server, browser: Any, town: dict[str, Any]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tv_server.client(OPERATOR_TOKEN) as operator:
        created = operator.post(
            "/v1/operator/households",
            json={
                "display_name": "湊 次郎",
                "home": {"lat": town["home_a"].lat, "lon": town["home_a"].lon},
                "pairing_code": True,
                "language": "en",
                "consent": True,
            },
        )
    assert created.status_code == 201, created.text
    code = created.json()["pairing_code"].replace("-", "")
    c = Tv(browser, tv_server.base_url, "c")
    c.open()
    c.colour("yellow")  # pairing instead of PIN
    c.wait_screen("pair")
    c.digits(code[:9])
    c.press("Backspace")  # a wrong digit, deleted with Back
    c.digits(code[8:])
    c.shot("pairing-code")
    c.press("Enter")
    c.wait_screen("menu")
    assert "Book the car" in c.text()  # the household's language
    c.shot("paired-menu")
    # The TV keeps its device token: switched on again, it opens at the menu.
    c.page.reload()
    c.wait_screen("menu")
    c.shot("reopened")
    c.close()
    # The code works once.
    again = httpx.post(tv_server.base_url + "/v1/tv/pair", json={"code": code}, timeout=30)
    assert again.status_code == 401
