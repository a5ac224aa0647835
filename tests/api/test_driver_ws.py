"""Driver websocket end to end: real ``noriai serve`` on 127.0.0.1, real websocket clients.

The server here has re-optimization switched off (NORIAI_REOPTIMIZE_INTERVAL_S=0), so every
plan change comes from what a test does; one vehicle per test, so every booking lands on it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import api_helpers
import pytest
from api_helpers import OPERATOR_TOKEN, Server, quote_body, register, server_env
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def driver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (SQLite) so no other test's vehicles take these bookings."""
    folder: Path = tmp_path_factory.mktemp("driver-server")
    server = Server(
        db_url=f"sqlite:///{folder / 'noriai.sqlite'}",
        log_path=folder / "server.log",
        env=server_env(NORIAI_REOPTIMIZE_INTERVAL_S="0", NORIAI_DRIVER_HEARTBEAT_MS="2000"),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def add_vehicle(driver_server: Server) -> Iterator[Any]:
    """Adds all-day vehicles at the station (returns the driver token); retires them after,
    so the next test's bookings go to its own vehicle (fresh clients: the server may have
    been restarted meanwhile)."""
    added: list[str] = []

    def add(vehicle_id: str, shift_end: str = "24:00") -> str:
        added.append(vehicle_id)
        with driver_server.client(OPERATOR_TOKEN) as operator:
            station = operator.get("/v1/places/station").json()
            vehicle = api_helpers.add_vehicle(operator, vehicle_id, station, shift_end=shift_end)
            return str(vehicle["driver_token"])

    yield add
    with driver_server.client(OPERATOR_TOKEN) as operator:
        for vehicle_id in added:
            operator.post(f"/v1/vehicles/{vehicle_id}/retire")


def book(server: Server, origin: str, destination: str) -> dict[str, Any]:
    _, rider = register(server)
    places = {p["id"]: p for p in rider.get("/v1/places").json()}
    quote = rider.post("/v1/quotes", json=quote_body(places[origin], {"place_id": destination}))
    assert quote.status_code == 200, quote.text
    offers = quote.json()["offers"]
    assert offers, quote.json()
    booked = rider.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]})
    assert booked.status_code == 201, booked.text
    body: dict[str, Any] = booked.json()
    body["_rider"] = rider
    body["_places"] = places
    return body


class Tablet:
    """A driver tablet over a real websocket (the ``websockets`` library)."""

    def __init__(self, server: Server) -> None:
        self.url = server.base_url.replace("http://", "ws://") + "/v1/drivers/ws"
        self.socket: ClientConnection | None = None
        self.received: list[dict[str, Any]] = []
        self.last_seq = 0
        self.beats: asyncio.Task[None] | None = None
        self.backlog: list[dict[str, Any]] = []

    async def open(
        self, token: str, vehicle_id: str, resume: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.socket = await connect(self.url, open_timeout=10)
        await self.send("auth", {"token": token, "vehicle_id": vehicle_id, "resume": resume})
        hello = await self.next()
        if hello["type"] == "hello":
            self.beats = asyncio.create_task(self._heartbeats(hello["payload"]))
        return hello

    async def _heartbeats(self, hello: dict[str, Any]) -> None:
        """Like a real tablet: a heartbeat every half interval (their answers are skipped)."""
        while True:
            await asyncio.sleep(hello["heartbeat_interval_ms"] / 2000)
            try:
                await self.send("heartbeat", {"last_seq": self.last_seq}, message_id="beat")
            except ConnectionClosed:
                return

    async def send(self, type_: str, payload: Any, *, message_id: str | None = None) -> str:
        assert self.socket is not None
        message_id = message_id or str(uuid.uuid4())
        await self.socket.send(
            json.dumps({"v": 1, "type": type_, "id": message_id, "payload": payload})
        )
        return message_id

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        """The next message other than the answer to a background heartbeat."""
        assert self.socket is not None
        if self.backlog:
            return self.backlog.pop(0)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = max(deadline - asyncio.get_running_loop().time(), 0.001)
            text = await asyncio.wait_for(self.socket.recv(), left)
            message: dict[str, Any] = json.loads(text)
            if message["type"] == "heartbeat_ack" and self.beats is not None:
                continue
            self.received.append(message)
            if message.get("seq"):
                self.last_seq = max(self.last_seq, message["seq"])
            return message

    async def until(self, type_: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next message of ``type_`` whose payload has the ``match`` values."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await self.next(max(left, 0.01))
            payload = message["payload"]
            if message["type"] == type_ and all(payload.get(k) == v for k, v in match.items()):
                return message

    async def command(self, type_: str, payload: Any, message_id: str | None = None) -> dict:
        """Send a command and return its answer (command.result or error)."""
        sent = await self.send(type_, payload, message_id=message_id)
        skipped: list[dict[str, Any]] = []
        while True:
            message = await self.next()
            if message["type"] in {"command.result", "error"}:
                key = "command_id" if message["type"] == "command.result" else "id"
                if message["payload"].get(key) == sent:
                    self.backlog.extend(skipped)  # events that came first, read them later
                    return message
            skipped.append(message)

    async def close(self) -> None:
        if self.beats is not None:
            self.beats.cancel()
        if self.socket is not None:
            await self.socket.close()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_rider_books_tablet_drives_pickup_dropoff_and_second_booking_reroutes(
    driver_server: Server, add_vehicle: Any
) -> None:
    token = add_vehicle("tab-e2e")
    # A second vehicle whose shift is over (00:00-00:01): it gets no trips, so its connected
    # tablet must get nothing after its snapshot while tab-e2e's plan changes.
    idle_token = add_vehicle("tab-idle", shift_end="00:01")

    async def scenario() -> None:
        idle = Tablet(driver_server)
        await idle.open(idle_token, "tab-idle")
        await idle.until("route.updated", reason="snapshot")
        tablet = Tablet(driver_server)
        hello = await tablet.open(token, "tab-e2e")
        assert hello["type"] == "hello"
        assert hello["payload"]["heartbeat_interval_ms"] == 2000
        snapshot = await tablet.until("route.updated")
        assert snapshot["payload"]["reason"] == "snapshot"
        assert snapshot["payload"]["stops"] == []  # nothing booked yet
        assert snapshot["seq"] == 1

        first = await asyncio.to_thread(book, driver_server, "station", "hospital")
        assert first["vehicle_id"] == "tab-e2e"
        assigned = await tablet.until("task.assigned", request_id=first["id"])
        assert assigned["payload"]["pickup"]["stop_id"] == first["pickup"]["stop_id"]
        route = await tablet.until("route.updated", reason="plan_changed")
        payload = route["payload"]
        assert route["seq"] > assigned["seq"]  # task first, then the route it changed
        assert payload["route_version"] > snapshot["payload"]["route_version"]
        # One pickup stop then one drop-off stop, the rider boarding then alighting.
        assert [s["stop_id"] for s in payload["stops"]] == [
            first["pickup"]["stop_id"],
            first["dropoff"]["stop_id"],
        ]
        assert payload["stops"][0]["board"][0]["request_id"] == first["id"]
        assert payload["stops"][1]["alight"][0]["request_id"] == first["id"]
        steps = payload["steps"]
        assert steps[0]["maneuver"]["type"] == "depart"
        assert steps[-1]["maneuver"]["type"] == "arrive"
        assert {s["leg"] for s in steps} == {0, 1}  # to the pickup and beyond, to the drop-off
        assert all(s["instructions"]["ja"] and s["instructions"]["en"] for s in steps)
        # Leg distances add up to the route distance (integer metres).
        assert (
            sum(leg["distance"] for leg in payload["route"]["legs"])
            == (payload["route"]["distance"])
        )
        await tablet.send("ack", {"upto_seq": route["seq"]})

        station = payload["position"]
        moved = await tablet.command(
            "position",
            {"lat": station["lat"], "lon": station["lon"], "speed_mps": 0, "accuracy_m": 5},
        )
        assert moved["type"] == "command.result", moved
        assert moved["payload"]["rerouted"] is False  # at the start of its route

        # The driver strays to the supermarket, far from the way to the pickup: re-routed from
        # there, same plan (same route_version), steps now start where the vehicle is.
        far = first["_places"]["supermarket"]
        strayed = await tablet.command("position", {"lat": far["lat"], "lon": far["lon"]})
        assert strayed["payload"]["rerouted"] is True, strayed
        assert strayed["payload"]["off_route_m"] > 60
        detour = await tablet.until("route.updated", reason="off_route")
        assert detour["payload"]["route_version"] == payload["route_version"]
        assert detour["payload"]["position"]["node"] == strayed["payload"]["node"]
        start = detour["payload"]["steps"][0]["maneuver"]["location"]
        assert start == [detour["payload"]["position"]["lon"], detour["payload"]["position"]["lat"]]
        assert detour["payload"]["steps"][-1]["maneuver"]["type"] == "arrive"

        pickup_stop = payload["stops"][0]["stop_id"]
        early = await tablet.command("task.no_show", {"request_id": first["id"]})
        assert early["payload"]["code"] == "not_arrived"  # report the arrival first
        arrived = await tablet.command("stop.arrived", {"stop_id": pickup_stop})
        assert arrived["type"] == "command.result", arrived
        # The pickup window opens in about 30 minutes, plus the 180 s wait: far too early.
        early = await tablet.command("task.no_show", {"request_id": first["id"]})
        assert early["payload"]["code"] == "too_early"
        boarded_id = str(uuid.uuid4())
        boarded = await tablet.command(
            "task.performed", {"request_id": first["id"], "action": "pickup"}, boarded_id
        )
        assert boarded["payload"]["status"] == "onboard", boarded
        left = await tablet.command("stop.departed", {"stop_id": pickup_stop})
        assert left["type"] == "command.result", left  # the pickup stop is done: leave it
        after_pickup = await tablet.until("route.updated")
        assert [s["stop_id"] for s in after_pickup["payload"]["stops"]] == [
            first["dropoff"]["stop_id"]
        ]
        # The same command id again: the same answer, and not applied a second time.
        again = await tablet.command(
            "task.performed", {"request_id": first["id"], "action": "pickup"}, boarded_id
        )
        assert again == boarded

        second = await asyncio.to_thread(book, driver_server, "clinic", "city-hall")
        assert second["vehicle_id"] == "tab-e2e"
        rerouted = await tablet.until("route.updated", reason="plan_changed")
        assert rerouted["payload"]["route_version"] > after_pickup["payload"]["route_version"]
        planned = {r["request_id"] for s in rerouted["payload"]["stops"] for r in s["board"]}
        assert planned == {second["id"]}

        dropoff_stop = first["dropoff"]["stop_id"]
        assert (await tablet.command("stop.arrived", {"stop_id": dropoff_stop}))["type"] == (
            "command.result"
        )
        dropped = await tablet.command(
            "task.performed", {"request_id": first["id"], "action": "dropoff"}
        )
        assert dropped["payload"]["status"] == "completed", dropped
        stored = await asyncio.to_thread(first["_rider"].get, f"/v1/bookings/{first['id']}")
        assert stored.json()["status"] == "completed"  # the rider sees the trip completed
        await tablet.close()
        # Only the changed vehicle's tablet was told: the idle one got no event at all.
        with pytest.raises(TimeoutError):
            await idle.next(timeout=0.5)
        assert [m["type"] for m in idle.received] == ["hello", "route.updated"]
        await idle.close()

    run(scenario())


def test_tablet_resumes_with_exactly_the_events_it_missed(
    driver_server: Server, add_vehicle: Any
) -> None:
    token = add_vehicle("tab-resume")

    async def scenario() -> None:
        tablet = Tablet(driver_server)
        hello = await tablet.open(token, "tab-resume")
        session_id = hello["payload"]["session_id"]
        snapshot = await tablet.until("route.updated")
        last_seq = snapshot["seq"]
        await tablet.send("ack", {"upto_seq": last_seq})
        await tablet.close()  # the tablet drops mid-route ...

        # ... while two plan changes happen.
        one = await asyncio.to_thread(book, driver_server, "station", "supermarket")
        two = await asyncio.to_thread(book, driver_server, "city-hall", "clinic")
        assert one["vehicle_id"] == two["vehicle_id"] == "tab-resume"
        await asyncio.sleep(0.5)

        back = Tablet(driver_server)
        hello = await back.open(
            token, "tab-resume", resume={"session_id": session_id, "last_seq": last_seq}
        )
        assert hello["type"] == "hello"
        assert hello["payload"]["resumed"] is True
        newest = hello["payload"]["last_seq"]
        missed = [await back.next() for _ in range(newest - last_seq)]
        # Exactly the missed events, in order, each once.
        assert [m["seq"] for m in missed] == list(range(last_seq + 1, newest + 1))
        kinds = [m["type"] for m in missed]
        assert kinds.count("task.assigned") == 2
        assert kinds.count("route.updated") == 2
        versions = [m["payload"]["route_version"] for m in missed if m["type"] == "route.updated"]
        assert versions == sorted(versions)
        assert versions[0] > snapshot["payload"]["route_version"]
        last_route = [m for m in missed if m["type"] == "route.updated"][-1]["payload"]
        booked = {r["request_id"] for s in last_route["stops"] for r in s["board"]}
        assert booked == {one["id"], two["id"]}
        # Nothing is sent twice: no further event follows the replay.
        await back.send("ack", {"upto_seq": newest})
        with pytest.raises(TimeoutError):
            await back.next(timeout=1.0)
        # The first rider cancels: the tablet is told, then gets the route without that trip.
        cancelled = await asyncio.to_thread(
            one["_rider"].post, f"/v1/bookings/{one['id']}/cancel", json={"reason": "ill"}
        )
        assert cancelled.status_code == 200, cancelled.text
        told = await back.until("task.cancelled", request_id=one["id"])
        assert told["payload"]["cancelled_by"] == "rider"
        shorter = await back.until("route.updated")
        assert shorter["seq"] == told["seq"] + 1
        left = {r["request_id"] for s in shorter["payload"]["stops"] for r in s["board"]}
        assert left == {two["id"]}
        await back.close()

        # Too old (another session): a full snapshot instead of a replay.
        fresh = Tablet(driver_server)
        hello = await fresh.open(token, "tab-resume", resume={"session_id": "x", "last_seq": 1})
        assert hello["payload"]["resumed"] is False
        snap = await fresh.next()
        assert snap["type"] == "route.updated"
        assert snap["payload"]["reason"] == "snapshot"
        assert snap["seq"] == shorter["seq"] + 1  # the seq space goes on
        await fresh.close()

    run(scenario())


def test_tokens_cannot_drive_another_vehicle_and_bad_messages_get_errors(
    driver_server: Server, add_vehicle: Any
) -> None:
    token_a = add_vehicle("tab-a")
    add_vehicle("tab-b")

    async def close_code(token: str, vehicle_id: str) -> int | None:
        tablet = Tablet(driver_server)
        try:
            await tablet.open(token, vehicle_id)
            await tablet.next()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        return None

    async def scenario() -> None:
        assert await close_code(token_a, "tab-b") == 4403  # a real token of another vehicle
        assert await close_code("nr_v_not-a-token", "tab-a") == 4401
        assert await close_code(OPERATOR_TOKEN, "tab-a") == 4403  # not a driver token

        tablet = Tablet(driver_server)
        await tablet.open(token_a, "tab-a")
        await tablet.until("route.updated")
        assert tablet.socket is not None
        await tablet.socket.send("{not json")
        bad = await tablet.until("error")
        assert bad["payload"]["code"] == "bad_json"
        await tablet.send("teleport", {})
        unknown = await tablet.until("error")
        assert unknown["payload"]["code"] == "unknown_type"
        nowhere = await tablet.command("position", {"lat": "north", "lon": 1})
        assert nowhere["payload"]["code"] == "bad_field"
        stranger = await tablet.command("task.performed", {"request_id": "B-nobody"})
        assert stranger["payload"]["code"] == "unknown_request"
        # Still usable after all that: a heartbeat gets its answer.
        if tablet.beats is not None:
            tablet.beats.cancel()
            tablet.beats = None
        await tablet.send("heartbeat", {"last_seq": 1})
        assert (await tablet.until("heartbeat_ack"))["payload"]["last_seq"] >= 1
        await tablet.close()

    run(scenario())


def test_a_silent_tablet_is_closed_after_three_heartbeat_intervals(
    driver_server: Server, add_vehicle: Any
) -> None:
    token = add_vehicle("tab-silent")

    async def scenario() -> int | None:
        tablet = Tablet(driver_server)
        await tablet.open(token, "tab-silent")
        assert tablet.beats is not None
        tablet.beats.cancel()  # the tablet goes quiet (no heartbeats): 3 x 2 s later it is closed
        try:
            while True:
                await tablet.next(timeout=15)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    assert run(scenario()) == 4408


def wait_until_stored(server: Server, vehicle_id: str, seq: int) -> None:
    """Outbox writes are write-behind: wait until the console says ``seq`` is stored."""
    with server.client(OPERATOR_TOKEN) as operator:
        for _ in range(300):
            drivers = operator.get("/v1/console/drivers").json()["drivers"]
            if drivers.get(vehicle_id, {}).get("persisted_seq", 0) >= seq:
                return
            time.sleep(0.1)
    raise AssertionError(
        f"seq {seq} of {vehicle_id} was not stored within 30 s: {drivers}\n{server.log_tail()}"
    )


def test_tablet_resumes_across_a_server_crash(driver_server: Server, add_vehicle: Any) -> None:
    """Outboxes are stored: after a crash (SIGKILL) the tablet resumes with its old session,
    gets the events it missed, then a fresh snapshot of the route (the plan may have changed
    while the server was down). Last in this module: it restarts the module's server."""
    server = driver_server
    token = add_vehicle("tab-crash")

    async def before_crash() -> tuple[str, int, dict[str, Any]]:
        tablet = Tablet(server)
        hello = await tablet.open(token, "tab-crash")
        snapshot = await tablet.until("route.updated")
        await tablet.send("ack", {"upto_seq": snapshot["seq"]})
        await tablet.close()
        booking = await asyncio.to_thread(book, server, "station", "hospital")
        await asyncio.to_thread(wait_until_stored, server, "tab-crash", snapshot["seq"] + 2)
        return hello["payload"]["session_id"], snapshot["seq"], booking

    session_id, last_seq, booking = run(before_crash())
    server.stop(kill=True)
    server.start()

    async def after_restart() -> None:
        tablet = Tablet(server)
        resume = {"session_id": session_id, "last_seq": last_seq}
        hello = await tablet.open(token, "tab-crash", resume=resume)
        assert hello["payload"]["resumed"] is True
        assert hello["payload"]["session_id"] == session_id
        got = [await tablet.next() for _ in range(hello["payload"]["last_seq"] - last_seq)]
        # seq 2 task.assigned, seq 3 its route (missed), seq 4 the post-restart snapshot.
        assert [(m["seq"], m["type"]) for m in got] == [
            (last_seq + 1, "task.assigned"),
            (last_seq + 2, "route.updated"),
            (last_seq + 3, "route.updated"),
        ]
        assert got[0]["payload"]["request_id"] == booking["id"]
        assert got[2]["payload"]["reason"] == "snapshot"
        assert got[2]["payload"]["route_version"] == got[1]["payload"]["route_version"]
        await tablet.close()

    run(after_restart())
