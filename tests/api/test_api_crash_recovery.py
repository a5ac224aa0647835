"""Crash test: SIGKILL the server in the middle of 100 concurrent bookings, restart it.

Every booking that got a 2xx answer must be there and in a vehicle plan; no request may be
booked twice, also when clients retry with their Idempotency-Key after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from api_helpers import (
    OPERATOR_TOKEN,
    SERVICE_ZONE,
    TLS,
    Server,
    free_port,
    running_server,
    server_env,
)

pytestmark = pytest.mark.timeout(240)

CLIENTS = 100
KILL_AFTER_SUCCESSES = 25


@dataclass
class Attempt:
    key: str
    offer_id: str | None = None
    status: int | None = None  # None: no answer (connection dropped by the kill)
    booking_id: str | None = None


async def book_one(
    client: httpx.AsyncClient, token: str, attempt: Attempt, body: dict[str, object]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    quote = await client.post("/v1/quotes", json=body, headers=headers)
    offers = quote.json().get("offers") if quote.status_code == 200 else None
    if not offers:
        attempt.status = quote.status_code if quote.status_code != 200 else 0
        return
    attempt.offer_id = offers[0]["offer_id"]
    booked = await client.post(
        "/v1/bookings",
        json={"offer_id": attempt.offer_id},
        headers={**headers, "Idempotency-Key": attempt.key},
    )
    attempt.status = booked.status_code
    if booked.status_code == 201:
        attempt.booking_id = booked.json()["id"]


async def storm(
    server: Server, tokens: list[str], bodies: list[dict[str, object]]
) -> list[Attempt]:
    attempts = [Attempt(key=f"crash-{i}") for i in range(CLIENTS)]
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=60, limits=limits, verify=TLS
    ) as client:

        async def guarded(i: int) -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server died under this request
                await book_one(client, tokens[i % len(tokens)], attempts[i], bodies[i])

        async def killer() -> None:
            while sum(a.status == 201 for a in attempts) < KILL_AFTER_SUCCESSES:
                if all(a.status is not None for a in attempts):
                    return
                await asyncio.sleep(0.005)
            server.stop(kill=True)

        await asyncio.gather(killer(), *(guarded(i) for i in range(CLIENTS)))
    return attempts


def test_sigkill_mid_booking_storm_loses_and_duplicates_nothing(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with running_server(
        backend, tmp_path, sqlite_name="crash.sqlite", NORIAI_REOPTIMIZE_INTERVAL_S="0"
    ) as server:
        with server.client(OPERATOR_TOKEN) as operator:
            places = operator.get("/v1/places").json()
            for number in range(6):
                depot = places[number % len(places)]
                added = operator.post(
                    "/v1/vehicles",
                    json={
                        "id": f"crash-bus-{number}",
                        "seats": 8,
                        "depot": {"lat": depot["lat"], "lon": depot["lon"]},
                        "shift_start": "00:00",
                        "shift_end": "24:00",
                    },
                )
                assert added.status_code == 201, added.text
        with server.client() as anonymous:
            tokens = [anonymous.post("/v1/riders").json()["token"] for _ in range(10)]
        rng = random.Random(4)
        start = dt.datetime.now(SERVICE_ZONE).replace(microsecond=0)
        bodies: list[dict[str, object]] = []
        for _ in range(CLIENTS):
            origin, destination = rng.sample(places, 2)
            bodies.append(
                {
                    "origin": {"lat": origin["lat"], "lon": origin["lon"]},
                    "destination": {"place_id": destination["id"]},
                    "depart_at": (start + dt.timedelta(minutes=rng.randint(20, 600))).isoformat(),
                }
            )

        attempts = asyncio.run(storm(server, tokens, bodies))
        answered = [a for a in attempts if a.status == 201]
        assert len(answered) >= KILL_AFTER_SUCCESSES
        assert server.process is None, "the storm ended before the kill"

        server.port = free_port()
        server.start()
        with server.client(OPERATOR_TOKEN) as operator:
            # Clients whose answer was lost retry with their key: a committed booking comes
            # back (replayed), an uncommitted one cannot be booked from a dead offer.
            recovered: dict[str, str] = {a.key: a.booking_id for a in answered if a.booking_id}
            for attempt in attempts:
                if attempt.offer_id is None or attempt.status == 201:
                    continue
                token = tokens[int(attempt.key.split("-")[1]) % len(tokens)]
                retry = operator.post(
                    "/v1/bookings",
                    json={"offer_id": attempt.offer_id},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": attempt.key},
                )
                assert retry.status_code in {201, 410}, retry.text
                if retry.status_code == 201:
                    assert retry.headers.get("idempotent-replayed") == "true"
                    recovered[attempt.key] = retry.json()["id"]
            # A retry of an answered booking also returns the very same booking.
            first = answered[0]
            token = tokens[int(first.key.split("-")[1]) % len(tokens)]
            replay = operator.post(
                "/v1/bookings",
                json={"offer_id": first.offer_id},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": first.key},
            )
            assert replay.status_code == 201
            assert replay.json()["id"] == first.booking_id

            days = sorted({str(b["depart_at"])[:10] for b in bodies} | {start.date().isoformat()})
            stored = [
                booking
                for day in days
                for booking in operator.get("/v1/operator/bookings", params={"day": day}).json()
            ]
            stored_ids = Counter(b["id"] for b in stored)
            assert all(count == 1 for count in stored_ids.values())
            # Every 2xx booking (answered, or replayed after the restart) is stored, and
            # nothing else is: no booking exists without a client knowing it.
            assert set(stored_ids) == set(recovered.values())
            assert len(set(recovered.values())) == len(recovered)
            # ... and each is in exactly one vehicle plan, with its pickup and drop-off.
            planned: Counter[tuple[str, str]] = Counter()
            for day in {b["service_day"] for b in stored}:
                for plan in operator.get("/v1/operator/plans", params={"day": day}).json():
                    for stop in plan["stops"]:
                        planned[(stop["request_id"], stop["kind"])] += 1
            for booking_id in recovered.values():
                assert planned[(booking_id, "pickup")] == 1, booking_id
                assert planned[(booking_id, "dropoff")] == 1, booking_id
            # A second server on the same database refuses to start: one owner per database.
            second = Server(
                db_url=server.db_url,
                log_path=tmp_path / "second.log",
                env=server_env(NORIAI_OWNER_LOCK_WAIT_S="0.5"),
            )
            with pytest.raises(RuntimeError, match="another noriai serve process owns"):
                second.start()
            print(
                f"crash test ({backend}): {len(answered)} answered 2xx before the kill, "
                f"{len(recovered) - len(answered)} committed but unanswered (replayed), "
                f"{sum(a.offer_id is not None and a.status is None for a in attempts)} cut off"
            )
