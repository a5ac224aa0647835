"""Helpers for the API tests: real ``noriai serve`` processes on 127.0.0.1.

Every backend test runs twice, on SQLite (a file) and on PostgreSQL (a fresh database per
server, from ``NORIAI_TEST_POSTGRES_URL``, which ``make test`` sets from ``.services.env``;
under ``CI=true`` a missing URL fails instead of skipping).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

OPERATOR_TOKEN = "nr_o_test-operator-token-0123456789"
TLS = ssl.create_default_context()
"""One TLS context for every test client: building one per httpx client costs ~100 ms (the
servers are plain HTTP on 127.0.0.1, but httpx loads the certificate store regardless)."""


def _daytime_zone_name() -> str:
    """A fixed-offset IANA zone in which it is now between 09:00 and 10:00.

    The servers under test run in this zone instead of Asia/Tokyo, so a test that books
    "in 30 minutes" or "in two hours" never crosses the service day's midnight, whatever hour
    CI starts at. (Etc/GMT signs are inverted: Etc/GMT-9 is UTC+9.)
    """
    offset = 9 - dt.datetime.now(dt.UTC).hour
    if offset < -12:
        offset += 24
    if offset == 0:
        return "Etc/GMT"
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


SERVICE_ZONE_NAME = _daytime_zone_name()
SERVICE_ZONE = ZoneInfo(SERVICE_ZONE_NAME)
ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, why: str) -> None:
    """Skip locally when a resource is missing; fail under CI=true (as tests/conftest.py)."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{why} (required when CI=true)")
        pytest.skip(why)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``noriai serve`` subprocess and an HTTP client for it."""

    db_url: str
    log_path: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli_serve",
                "--db",
                self.db_url,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1, verify=TLS).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout_s} s:\n{self.log_tail()}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, verify=TLS)


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORIAI_")}
    for key in ("NORIAI_SHARED_DATA", "NORIAI_TEST_POSTGRES_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(
        NORIAI_OPERATOR_TOKEN=OPERATOR_TOKEN,
        NORIAI_REOPTIMIZE_INTERVAL_S="5",
        NORIAI_TICK_INTERVAL_S="1",
        NORIAI_TIMEZONE=SERVICE_ZONE_NAME,
        NORIAI_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class PostgresDatabase:
    """A throw-away database on the test PostgreSQL server."""

    admin_url: str
    name: str = field(default_factory=lambda: "noriai_t_" + secrets.token_hex(4))

    @property
    def url(self) -> str:
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.name}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(
            self.admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )

    def create(self) -> None:
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_admin_url() -> str:
    url = os.environ.get("NORIAI_TEST_POSTGRES_URL", "")
    need(bool(url), "NORIAI_TEST_POSTGRES_URL is not set; run `make services` (or make test)")
    return url


@contextmanager
def running_server(
    backend: str, folder: Path, *, sqlite_name: str = "noriai.sqlite", **env: str
) -> Iterator[Server]:
    """A started server on ``backend``, stopped (and its PostgreSQL database dropped) on exit.

    ``backend`` is "sqlite" (the file ``folder/sqlite_name``) or "postgres" (a fresh database
    on ``NORIAI_TEST_POSTGRES_URL``). The log is ``folder/server.log``; ``env`` goes to
    :func:`server_env`.
    """
    database = None
    if backend == "sqlite":
        db_url = f"sqlite:///{folder / sqlite_name}"
    else:
        database = PostgresDatabase(postgres_admin_url())
        database.create()
        db_url = database.url
    server = Server(db_url=db_url, log_path=folder / "server.log", env=server_env(**env))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if database is not None:
            database.drop()


def add_vehicle(
    operator: httpx.Client,
    vehicle_id: str,
    depot: Mapping[str, Any],
    *,
    shift_end: str = "24:00",
) -> Any:
    """Add a vehicle (8 seats, 1 wheelchair place, shift from 00:00 to ``shift_end``) at
    ``depot`` (a place with lat, lon); returns the answer's JSON (``id``, ``driver_token``, ...)."""
    added = operator.post(
        "/v1/vehicles",
        json={
            "id": vehicle_id,
            "seats": 8,
            "wheelchair_places": 1,
            "depot": {"lat": depot["lat"], "lon": depot["lon"]},
            "shift_start": "00:00",
            "shift_end": shift_end,
        },
    )
    assert added.status_code == 201, added.text
    return added.json()


def book_station_to_hospital(server: Server) -> tuple[httpx.Client, dict[str, Any]]:
    """A new rider books the first offer from the station to the hospital (soon); returns
    (the rider's client, the booking's JSON)."""
    _, rider = register(server)
    places = {p["id"]: p for p in rider.get("/v1/places").json()}
    offers = rider.post(
        "/v1/quotes", json=quote_body(places["station"], {"place_id": "hospital"})
    ).json()["offers"]
    booking: dict[str, Any] = rider.post(
        "/v1/bookings", json={"offer_id": offers[0]["offer_id"]}
    ).json()
    return rider, booking


def register(server: Server) -> tuple[str, httpx.Client]:
    """A new rider: (id, client carrying its token)."""
    response = httpx.post(server.base_url + "/v1/riders", json={}, verify=TLS)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], server.client(body["token"])


def soon(minutes: int = 30) -> str:
    """An ISO datetime ``minutes`` from now in the service zone, with its offset."""
    moment = dt.datetime.now(SERVICE_ZONE) + dt.timedelta(minutes=minutes)
    return moment.replace(microsecond=0).isoformat()


def quote_body(
    origin: dict[str, float], destination: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "origin": {"lat": origin["lat"], "lon": origin["lon"]},
        "destination": destination,
        "depart_at": soon(),
        "passengers": 1,
    }
    body.update(extra)
    return body
