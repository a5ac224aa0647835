"""Driver websocket fan-out: 100 connected tablets, latency from plan change to route.updated.

Starts ``python -m api.cli_serve`` (the synthetic town, SQLite in a temporary folder,
re-optimization off) as a subprocess, adds 100 all-day vehicles with depots spread over the
virtual stops and connects one tablet (a ``websockets`` client) per vehicle. Then riders book
trips between random virtual stops (seeded): each booking changes one vehicle's plan and that
vehicle's tablet must get a ``route.updated`` carrying the new trip.

Latency is measured on the client's clock from the moment the booking's HTTP answer arrives
(the plan change is committed and published just before the answer is sent) to the moment
the tablet holds the ``route.updated`` with the trip; it can be negative when the websocket
message wins the race. Peer in the same run: the booking's own HTTP round trip. Two phases:
bookings one after another, and bursts of 20 concurrent bookings. Prints one Markdown section.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_OPERATOR_TOKEN as TOKEN
from common import free_port, percentile, start_server

TABLETS = 100
SEQUENTIAL = 60
BURSTS = 3
BURST_SIZE = 20
SEED = 5
TOKYO = ZoneInfo("Asia/Tokyo")


class Tablet:
    """One vehicle's tablet: records when each trip first appears in a route.updated."""

    def __init__(self, vehicle_id: str, token: str) -> None:
        self.vehicle_id = vehicle_id
        self.token = token
        self.socket: ClientConnection | None = None
        self.seen: dict[str, float] = {}
        self.routes = 0
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.version = 0
        self.version_seen: dict[int, float] = {}

    async def run(self, url: str, ready: asyncio.Event) -> None:
        async with connect(url, max_queue=None) as socket:
            self.socket = socket
            auth = {"token": self.token, "vehicle_id": self.vehicle_id}
            await socket.send(json.dumps({"v": 1, "type": "auth", "id": "auth", "payload": auth}))
            async for raw in socket:
                received = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "hello":
                    ready.set()
                if message["type"] != "route.updated":
                    continue
                self.routes += 1
                version = int(message["payload"]["route_version"])
                self.version_seen.setdefault(version, received)
                self.version = max(self.version, version)
                for stop in message["payload"]["stops"]:
                    for rider in stop["board"]:
                        request_id = rider["request_id"]
                        if request_id not in self.seen:
                            self.seen[request_id] = received
                            waiter = self.waiters.pop(request_id, None)
                            if waiter is not None and not waiter.done():
                                waiter.set_result(received)
                ack = {"upto_seq": message["seq"]}
                await socket.send(
                    json.dumps({"v": 1, "type": "ack", "id": str(uuid.uuid4()), "payload": ack})
                )

    def arrival(self, request_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if request_id in self.seen:
            future.set_result(self.seen[request_id])
        else:
            self.waiters[request_id] = future
        return future


async def book_one(
    client: httpx.AsyncClient, stops: list[dict[str, Any]], rng: random.Random
) -> tuple[dict[str, Any], float, float] | None:
    """Quote and book a random trip; (booking, request start, answer time) or None."""
    origin, destination = rng.sample(stops, 2)
    depart = dt.datetime.now(TOKYO) + dt.timedelta(minutes=rng.randint(20, 90))
    quote = await client.post(
        "/v1/quotes",
        json={
            "origin": {"lat": origin["lat"], "lon": origin["lon"]},
            "destination": {"lat": destination["lat"], "lon": destination["lon"]},
            "depart_at": depart.replace(microsecond=0).isoformat(),
            "passengers": 1,
        },
    )
    offers = quote.json().get("offers") if quote.status_code == 200 else None
    if not offers:
        return None
    started = time.perf_counter()
    booked = await client.post("/v1/bookings", json={"offer_id": offers[0]["offer_id"]})
    answered = time.perf_counter()
    if booked.status_code != 201:
        return None
    return booked.json(), started, answered


async def measure(base: str) -> dict[str, Any]:
    rng = random.Random(SEED)
    operator_headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=operator_headers, timeout=60) as operator:
        stop_features = (await operator.get("/v1/console/stops")).json()["features"]
        stops = [
            {"lat": f["geometry"]["coordinates"][1], "lon": f["geometry"]["coordinates"][0]}
            for f in stop_features
        ]
        tablets: dict[str, Tablet] = {}
        for number in range(TABLETS):
            depot = stops[(number * 7) % len(stops)]
            answer = await operator.post(
                "/v1/vehicles",
                json={
                    "id": f"bus-{number:03d}",
                    "seats": 8,
                    "wheelchair_places": 1,
                    "depot": depot,
                    "shift_start": "00:00",
                    "shift_end": "24:00",
                },
            )
            answer.raise_for_status()
            tablets[f"bus-{number:03d}"] = Tablet(
                f"bus-{number:03d}", answer.json()["driver_token"]
            )
    url = base.replace("http://", "ws://") + "/v1/drivers/ws"
    readies = [asyncio.Event() for _ in tablets]
    runners = [
        asyncio.create_task(tablet.run(url, ready))
        for tablet, ready in zip(tablets.values(), readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
    await asyncio.sleep(1.0)
    baseline = {vid: tablet.routes for vid, tablet in tablets.items()}

    rider = (await httpx.AsyncClient(base_url=base).post("/v1/riders", json={})).json()
    results: dict[str, list[float]] = {
        "seq_after_answer": [],
        "seq_after_request": [],
        "seq_booking": [],
        "burst_after_answer": [],
        "burst_after_request": [],
        "burst_booking": [],
    }
    booked_vehicles: list[str] = []
    missed = 0
    headers = {"Authorization": f"Bearer {rider['token']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def one(prefix: str) -> None:
            nonlocal missed
            done = await book_one(client, stops, rng)
            if done is None:
                return
            booking, started, answered = done
            vehicle_id = booking["vehicle_id"]
            booked_vehicles.append(vehicle_id)
            try:
                received = await asyncio.wait_for(tablets[vehicle_id].arrival(booking["id"]), 10)
            except TimeoutError:
                missed += 1
                return
            results[f"{prefix}_after_answer"].append((received - answered) * 1000)
            results[f"{prefix}_after_request"].append((received - started) * 1000)
            results[f"{prefix}_booking"].append((answered - started) * 1000)

        for _ in range(SEQUENTIAL):
            await one("seq")
        sequential_changes = len(booked_vehicles)
        sequential_vehicles = set(booked_vehicles)
        others = sum(
            tablets[vid].routes - baseline[vid] for vid in tablets if vid not in sequential_vehicles
        )
        for _ in range(BURSTS):
            await asyncio.gather(*(one("burst") for _ in range(BURST_SIZE)))
            await asyncio.sleep(0.5)
    # Re-optimize now: every changed plan goes to its own tablet.
    before = {vid: tablet.version for vid, tablet in tablets.items()}
    async with httpx.AsyncClient(base_url=base, headers=operator_headers, timeout=120) as operator:
        answer = (await operator.post("/v1/console/reoptimize")).json()
    answered = time.perf_counter()
    await asyncio.sleep(3.0)
    reopt_latencies = []
    for vehicle_id in answer.get("changed_vehicles", []):
        seen = [t for v, t in tablets[vehicle_id].version_seen.items() if v > before[vehicle_id]]
        if seen:
            reopt_latencies.append((min(seen) - answered) * 1000)
        else:
            missed += 1
    results["reopt_after_answer"] = reopt_latencies
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    return {
        "reoptimization": answer,
        "results": results,
        "missed": missed,
        "sequential_changes": sequential_changes,
        "distinct_vehicles": len(set(booked_vehicles)),
        "other_tablet_routes": others,
        "total_routes": sum(t.routes - baseline[v] for v, t in tablets.items()),
        "bookings": len(booked_vehicles),
    }


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | - | - | - |"
    return (
        f"| {name} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 99):.1f} "
        f"| {max(values):.1f} |"
    )


def main() -> None:
    load_before = os.getloadavg()[0]
    folder = Path(tempfile.mkdtemp(prefix="noriai-bench-ws-"))
    port = free_port()
    process = start_server(folder, port)
    try:
        outcome = asyncio.run(measure(f"http://127.0.0.1:{port}"))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    results = outcome["results"]
    reopt = outcome["reoptimization"]
    seq_p50 = percentile(results["seq_after_answer"], 50) if results["seq_after_answer"] else 0
    booking_p50 = percentile(results["seq_booking"], 50) if results["seq_booking"] else 0
    lines = [
        "## Driver websocket: plan change to tablet",
        "",
        "Command: `.venv/bin/python benchmarks/bench_driver_ws.py` "
        "(or `python benchmarks/run_all.py --only driver_ws`).",
        "",
        f"Inputs: `noriai serve` on 127.0.0.1 (synthetic town seed 7, SQLite, re-optimization "
        f"off), {TABLETS} vehicles with one connected tablet each (`websockets` clients in one "
        f"process), {SEQUENTIAL} bookings one after another, then {BURSTS} bursts of "
        f"{BURST_SIZE} concurrent bookings; random trips between virtual stops (seed {SEED}). "
        "Each tablet acks every event. Client and server share the machine's two cores.",
        "",
        "Latency on the client's clock, milliseconds: *after answer* = from the booking's HTTP "
        "answer to the tablet holding the `route.updated` with the trip (negative: the "
        "websocket won the race); *after request* = from sending the booking; *booking* = the "
        "booking's own HTTP round trip (the peer).",
        "",
        "| measure | n | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        row("sequential: after answer", results["seq_after_answer"]),
        row("sequential: after request", results["seq_after_request"]),
        row("sequential: booking (peer)", results["seq_booking"]),
        row("burst of 20: after answer", results["burst_after_answer"]),
        row("burst of 20: after request", results["burst_after_request"]),
        row("burst of 20: booking (peer)", results["burst_booking"]),
        row("re-optimize now: after answer", results["reopt_after_answer"]),
        "",
        f"Re-optimization: adopted {reopt.get('adopted')}, "
        f"{len(reopt.get('changed_vehicles', []))} plans changed"
        + (f" ({reopt.get('reason')})" if reopt.get("reason") else "")
        + ".",
        "",
        f"Bookings: {outcome['bookings']} on {outcome['distinct_vehicles']} vehicles; "
        f"route.updated not received within 10 s: {outcome['missed']}. During the sequential "
        f"phase ({outcome['sequential_changes']} plan changes) tablets of vehicles whose plan "
        f"did not change received {outcome['other_tablet_routes']} route.updated (only the "
        f"changed vehicle's tablet is told). route.updated messages in total: "
        f"{outcome['total_routes']}.",
        "",
        f"Ratio (sequential p50): delivery after the answer is {seq_p50:.1f} ms against a "
        f"{booking_p50:.1f} ms booking round trip "
        f"({(seq_p50 / booking_p50 if booking_p50 else 0):.2f}x).",
        "",
        f"Machine load (1-minute load average) before / after: {load_before:.1f} / "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; other work on the machine "
        "shows up as longer tails.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
