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
import functools
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH_OPERATOR_TOKEN as TOKEN
from common import free_port, percentile, start_server

CLIENTS = 50
WARMUP_S = 3.0
MEASURE_S = 15.0


async def load(
    base_url: str, make_request: object, seconds: float, tasks: int = CLIENTS
) -> tuple[list[float], int, int]:
    """Run ``tasks`` loops for ``seconds``; returns latencies (s), ok count, error count.

    Each loop is one client with its own ``httpx.AsyncClient`` (one keep-alive connection):
    httpcore's pool scans all its connections for every request, so one shared client with
    50 connections spends most of its time in that scan (measured: about 30 requests/s).
    """
    import ssl

    latencies: list[float] = []
    errors = 0
    shared_tls = ssl.create_default_context()  # loopback is plain HTTP; load certificates once
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits, verify=shared_tls)
        for _ in range(tasks)
    ]
    stop_at = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal errors
        rng = random.Random(index)
        client = clients[index]
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await make_request(client, rng)  # type: ignore[operator]
            took = time.perf_counter() - started
            if response.status_code == 200:
                latencies.append(took)
            else:
                errors += 1

    await asyncio.gather(*(worker(i) for i in range(tasks)))
    for client in clients:
        await client.aclose()
    return latencies, len(latencies), errors


TOKYO = ZoneInfo("Asia/Tokyo")


def make_quote(places: list[dict[str, object]], rng: random.Random) -> tuple[str, str, object]:
    """A quote from near one named place (up to 0.006 degrees away) to another."""
    near, destination = rng.sample(places, 2)
    when = dt.datetime.now(TOKYO) + dt.timedelta(minutes=rng.randint(30, 300))
    return (
        "POST",
        "/v1/quotes",
        {
            "origin": {
                "lat": float(near["lat"]) + rng.uniform(-0.006, 0.006),  # type: ignore[arg-type]
                "lon": float(near["lon"]) + rng.uniform(-0.006, 0.006),  # type: ignore[arg-type]
            },
            "destination": {"place_id": destination["id"]},
            "depart_at": when.replace(microsecond=0).isoformat(),
        },
    )


def make_health(_places: list[dict[str, object]], _rng: random.Random) -> tuple[str, str, object]:
    """The no-work peer request."""
    return "GET", "/healthz", None


MAKERS = {"quote": make_quote, "health": make_health}


def httpx_process(
    base_url: str, kind: str, places: list[dict[str, object]], seconds: float, tasks: int
) -> tuple[list[float], int, int]:
    """One client process: ``tasks`` httpx AsyncClient loops (top level so it pickles)."""
    maker = MAKERS[kind]

    async def request(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
        method, path, body = maker(places, rng)
        return await client.request(method, path, json=body)

    return asyncio.run(load(base_url, request, seconds, tasks))


def httpx_processes(
    base_url: str, kind: str, places: list[dict[str, object]], seconds: float, processes: int
) -> tuple[list[float], int, int]:
    """CLIENTS httpx tasks spread over ``processes`` client processes."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(httpx_process, base_url, kind, places, seconds, CLIENTS // processes)
            for _ in range(processes)
        ]
        results = [future.result() for future in futures]
    latencies = [value for result in results for value in result[0]]
    return latencies, len(latencies), sum(result[2] for result in results)


def load_threads(port: int, make_body: object, seconds: float) -> tuple[list[float], int, int]:
    """The same load from CLIENTS OS threads with keep-alive ``http.client`` connections.

    ``make_body(rng)`` returns ``(method, path, body or None)``. A lighter client than httpx,
    to show how much of the figure is the load generator's own cost on the shared cores.
    """
    import http.client
    import json
    import threading

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(index: int) -> None:
        nonlocal errors
        rng = random.Random(index)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop_at:
            method, path, body = make_body(rng)  # type: ignore[operator]
            payload = None if body is None else json.dumps(body)
            headers = {} if body is None else {"Content-Type": "application/json"}
            started = time.perf_counter()
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            took = time.perf_counter() - started
            with lock:
                if response.status == 200:
                    latencies.append(took)
                else:
                    errors += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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

            rows = []
            clients = (
                "httpx AsyncClient, 1 process x 50 tasks",
                "httpx AsyncClient, 5 processes x 10 tasks",
                "http.client, 50 threads",
            )
            for client_name in clients:
                for name, kind in (("POST /v1/quotes", "quote"), ("GET /healthz", "health")):

                    def run(seconds: float, kind: str = kind, client_name: str = client_name):  # type: ignore[no-untyped-def]
                        if client_name.startswith("httpx AsyncClient, 1"):
                            return httpx_processes(base_url, kind, places, seconds, 1)
                        if client_name.startswith("httpx"):
                            return httpx_processes(base_url, kind, places, seconds, 5)
                        maker = functools.partial(MAKERS[kind], places)
                        return load_threads(port, maker, seconds)

                    run(WARMUP_S)
                    started = time.perf_counter()
                    latencies, ok, errors = run(MEASURE_S)
                    took = time.perf_counter() - started
                    rows.append(
                        (
                            client_name,
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
    print("## api: quotes under 50 concurrent clients\n")
    print(
        "Command: `.venv/bin/python benchmarks/run_all.py --only api` "
        "(script `benchmarks/bench_api.py`).\n"
    )
    print(
        f"Inputs: `python -m api.cli_serve` (uvicorn, one worker) on 127.0.0.1, synthetic town "
        f"(seed 7), SQLite, 4 all-day vehicles, 5 named places; {CLIENTS} concurrent clients "
        "on the same 2-core machine, each sending the next request as soon "
        f"as the last was answered; {WARMUP_S:.0f} s warm-up, {MEASURE_S:.0f} s measured per "
        "row. Quotes: a random origin (a named place moved by up to 0.006 degrees, about 600 m, "
        "so walking access is computed afresh) to another named place, depart 30-300 min "
        "ahead; anonymous, no booking. Peer: `GET /healthz` (no Dispatcher work) with the same "
        "client. Load generators: httpx AsyncClient (as the issue asks) in one process, the "
        "same 50 tasks spread over 5 processes, and plain `http.client` in 50 threads (a "
        "lighter client). The client competes with the server for the two cores, so the "
        "lighter the client, the more the figure shows the server. "
        "Goal: >= 200 quotes/s with p99 < 250 ms.\n"
    )
    print("| client | endpoint | requests/s | p50 ms | p99 ms | answered 200 | other |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for client_name, name, rate, p50, p99, ok, errors in rows:
        print(
            f"| {client_name} | {name} | {rate:.0f} | {p50 * 1000:.1f} | {p99 * 1000:.1f} "
            f"| {ok} | {errors} |"
        )
    print()
    for client_name in dict.fromkeys(row[0] for row in rows):
        quotes, peer = (row for row in rows if row[0] == client_name)
        verdict = "met" if quotes[2] >= 200 and quotes[4] < 0.25 else "NOT met"
        print(
            f"- {client_name}: quotes at {quotes[2] / peer[2]:.2f}x the peer's request rate; "
            f"goal {verdict}."
        )
    load1, load5, _ = os.getloadavg()
    print(
        f"\nLoad average when the run ended: {load1:.1f} (1 min), {load5:.1f} (5 min) on "
        f"{os.cpu_count()} cores; other work on the machine slows every row alike.\n"
    )


if __name__ == "__main__":
    main()
