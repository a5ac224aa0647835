"""Quotes per second and latency with 50 concurrent clients against a real server on loopback.

Starts ``python -m api.cli_serve`` (the synthetic town, SQLite in a temporary folder, four
all-day vehicles) as a subprocess, then 50 httpx AsyncClient tasks post quotes back to back for
a fixed time (after a warm-up). Peer in the same run: the same load on ``GET /healthz`` (no
Dispatcher work), which shows the HTTP stack's own ceiling on this machine.
Prints one Markdown section.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, percentile

CLIENTS = 50
WARMUP_S = 3.0
MEASURE_S = 15.0
TOKEN = "nr_o_bench-operator-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORIAI_")}
    env.update(NORIAI_OPERATOR_TOKEN=TOKEN, NORIAI_REOPTIMIZE_INTERVAL_S="0")
    database = f"sqlite:///{folder / 'bench.sqlite'}"
    command = [sys.executable, "-m", "api.cli_serve", "--db", database, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("wb"),
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((folder / "server.log").read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


async def load(base_url: str, make_request: object, seconds: float) -> tuple[list[float], int, int]:
    """Run CLIENTS loops for ``seconds``; returns latencies (s), ok count, error count."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def worker(index: int) -> None:
            nonlocal errors
            rng = random.Random(index)
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = await make_request(client, rng)  # type: ignore[operator]
                took = time.perf_counter() - started
                if response.status_code == 200:
                    latencies.append(took)
                else:
                    errors += 1

        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
    return latencies, len(latencies), errors


def main() -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        process = start_server(Path(tmp), port)
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            places = httpx.get(base_url + "/v1/places").json()
            for number, depot in enumerate(places[:4]):
                httpx.post(
                    base_url + "/v1/vehicles",
                    headers=headers,
                    json={
                        "id": f"bench-{number}",
                        "seats": 8,
                        "depot": {"lat": depot["lat"], "lon": depot["lon"]},
                        "shift_start": "00:00",
                        "shift_end": "24:00",
                    },
                ).raise_for_status()
            tokyo = ZoneInfo("Asia/Tokyo")

            async def quote(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
                near, destination = rng.sample(places, 2)
                when = dt.datetime.now(tokyo) + dt.timedelta(minutes=rng.randint(30, 300))
                return await client.post(
                    "/v1/quotes",
                    json={
                        "origin": {
                            "lat": near["lat"] + rng.uniform(-0.006, 0.006),
                            "lon": near["lon"] + rng.uniform(-0.006, 0.006),
                        },
                        "destination": {"place_id": destination["id"]},
                        "depart_at": when.replace(microsecond=0).isoformat(),
                    },
                )

            async def health(client: httpx.AsyncClient, _rng: random.Random) -> httpx.Response:
                return await client.get("/healthz")

            rows = []
            for name, make in (("POST /v1/quotes", quote), ("GET /healthz (peer)", health)):
                asyncio.run(load(base_url, make, WARMUP_S))
                started = time.perf_counter()
                latencies, ok, errors = asyncio.run(load(base_url, make, MEASURE_S))
                took = time.perf_counter() - started
                rows.append(
                    (
                        name,
                        ok / took,
                        percentile(latencies, 50),
                        percentile(latencies, 99),
                        ok,
                        errors,
                    )
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    quotes, peer = rows
    print("## api: quotes under 50 concurrent clients\n")
    print(
        "Command: `.venv/bin/python benchmarks/run_all.py --only api` "
        "(script `benchmarks/bench_api.py`).\n"
    )
    print(
        f"Inputs: `python -m api.cli_serve` (uvicorn, one worker) on 127.0.0.1, synthetic town "
        f"(seed 7), SQLite, 4 all-day vehicles, 5 named places; {CLIENTS} httpx AsyncClient "
        f"tasks in one client process on the same 2-core machine, each posting the next request "
        f"as soon as the last was answered; {WARMUP_S:.0f} s warm-up, {MEASURE_S:.0f} s measured. "
        "Quotes: a random origin (a named place moved by up to 0.006 degrees, about 600 m, "
        "so walking access is computed afresh) to another named place, depart 30-300 min "
        "ahead; anonymous, no booking. "
        "Goal: >= 200 quotes/s with p99 < 250 ms.\n"
    )
    print("| endpoint | requests/s | p50 ms | p99 ms | answered 200 | other answers |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rate, p50, p99, ok, errors in rows:
        print(f"| {name} | {rate:.0f} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {ok} | {errors} |")
    verdict = "met" if quotes[1] >= 200 and quotes[3] < 0.25 else "NOT met"
    print(
        f"\nQuotes reach {quotes[1] / peer[1]:.2f}x the request rate of the no-work peer. "
        f"Goal {verdict}. The load generator shares the two cores with the server.\n"
    )


if __name__ == "__main__":
    main()
