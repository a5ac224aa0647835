"""The driver tablet page and the operator console in headless Chromium against a real server.

One server (SQLite, re-optimization only on demand), one vehicle and one booking; the driver
page runs the websocket protocol in the browser, the console draws the map on a canvas.
Screenshots: test-artifacts/driver-page.png, operator-page.png, operator-replay.png.
"""

from __future__ import annotations

import re
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
    running_server,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("pages-server")
    with running_server("sqlite", folder, NORIAI_REOPTIMIZE_INTERVAL_S="0") as server:
        yield server


@pytest.fixture(scope="module")
def trip(page_server: Server) -> dict[str, Any]:
    """A vehicle (its driver token) and one booking on it."""
    with page_server.client(OPERATOR_TOKEN) as operator:
        station = operator.get("/v1/places/station").json()
        added = add_vehicle(operator, "bus-page", station)
    rider, booking = book_station_to_hospital(page_server)
    assert booking["vehicle_id"] == "bus-page"
    return {"token": added["driver_token"], "booking": booking, "rider": rider}


def outside_requests(page: Any, base_url: str) -> list[str]:
    """Collects every URL the page asks for that is not on our server."""
    outside: list[str] = []
    ws_base = base_url.replace("http://", "ws://")

    def check(request: Any) -> None:
        if not (request.url.startswith(base_url) or request.url.startswith(ws_base)):
            outside.append(request.url)

    page.on("request", check)
    page.on("websocket", lambda socket: check(socket))
    return outside


def test_driver_page_shows_next_stop_and_reports_arrival_and_pickup(
    browser: Any, page_server: Server, trip: dict[str, Any], artifacts: Path
) -> None:
    booking = trip["booking"]
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside = outside_requests(page, page_server.base_url)
    page.goto(f"{page_server.base_url}/driver#token={trip['token']}&vehicle=bus-page&lang=ja")
    page.wait_for_selector("#connection.online", timeout=15_000)
    board = page.locator(f".rider.board[data-request='{booking['id']}']")
    board.wait_for(timeout=15_000)
    assert page.locator("#stop-name").inner_text().strip() != ""
    instruction_ja = page.locator("#instruction").inner_text()
    # The instruction is Japanese text from the route's steps (kana/kanji present).
    assert any("\u3040" <= ch <= "\u9fff" for ch in instruction_ja), instruction_ja
    assert page.locator("#arrived").inner_text() == "到着した"

    page.click("#lang")
    assert page.locator("#arrived").inner_text() == "Arrived"
    instruction_en = page.locator("#instruction").inner_text()
    assert instruction_en != instruction_ja
    # English phrasing ("Turn right onto 甲賀町通り"): street names stay as mapped.
    assert instruction_en.split()[0].isascii(), instruction_en
    assert instruction_en.split()[0].isalpha(), instruction_en

    page.click("#arrived")
    expect(page.locator("#notice")).to_have_text("Recorded", timeout=10_000)
    page.screenshot(path=str(artifacts / "driver-page.png"))
    board.locator("button.performed").click()
    # After the pickup the next stop is the drop-off: the same rider now alights.
    page.locator(f".rider.alight[data-request='{booking['id']}']").wait_for(timeout=15_000)
    live = trip["rider"].get(f"/v1/bookings/{booking['id']}").json()
    assert live["status"] == "onboard"
    seq_before = page.locator("#route-meta").inner_text()
    # A reload resumes the same session: the route is back, nothing is replayed twice.
    page.reload()
    page.wait_for_selector("#connection.online", timeout=15_000)
    page.locator(f".rider.alight[data-request='{booking['id']}']").wait_for(timeout=15_000)
    expect(page.locator("#route-meta")).to_have_text(seq_before)
    assert errors == []
    assert outside == []
    context.close()


def test_operator_console_draws_map_reoptimizes_and_replays(
    browser: Any, page_server: Server, trip: dict[str, Any], artifacts: Path
) -> None:
    booking = trip["booking"]
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside = outside_requests(page, page_server.base_url)
    page.goto(f"{page_server.base_url}/operator#token={OPERATOR_TOKEN}")
    page.locator("#fleet tbody tr", has_text="bus-page").wait_for(timeout=15_000)
    page.locator(f"#bookings tr[data-booking='{booking['id']}']").wait_for(timeout=15_000)
    # The map is drawn: count canvas pixels that differ from the background colour.
    painted = page.evaluate(
        """() => {
          const c = document.getElementById('map');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) {
            if (d[i] !== 0xee || d[i + 1] !== 0xf1 || d[i + 2] !== 0xf4) n++;
          }
          return n;
        }"""
    )
    assert painted > 5_000, painted
    page.click("#reoptimize")
    # The console shows the answer of POST /v1/console/reoptimize (the request succeeded);
    # whether the solver's plans were adopted depends on the solver, not on the console.
    expect(page.locator("#reopt-result")).to_have_text(
        re.compile("^(adopted|kept current plans)"), timeout=30_000
    )
    page.screenshot(path=str(artifacts / "operator-page.png"))

    page.locator("#replay-day option").first.wait_for(state="attached", timeout=10_000)
    page.click("#replay-load")
    page.wait_for_selector("#mode.replay", timeout=10_000)
    summary = page.locator("#replay-summary").inner_text()
    assert "events" in summary
    assert page.locator(f"#bookings tr[data-booking='{booking['id']}']").count() == 1
    page.screenshot(path=str(artifacts / "operator-replay.png"))
    assert errors == []
    assert outside == []
    context.close()
    with httpx.Client(base_url=page_server.base_url) as anonymous:
        assert anonymous.get("/v1/console/fleet").status_code == 401
