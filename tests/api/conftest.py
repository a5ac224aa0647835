"""Fixtures for the API tests: one real ``noriai serve`` per backend (SQLite, PostgreSQL).

Every backend test runs twice, on SQLite (a file) and on PostgreSQL (a fresh database per
server, from ``NORIAI_TEST_POSTGRES_URL``, which ``make test`` sets from ``.services.env``;
under ``CI=true`` a missing URL fails instead of skipping).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_helpers import OPERATOR_TOKEN, Server, add_vehicle, running_server


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running server per backend for the whole session."""
    with running_server(backend, tmp_path_factory.mktemp(f"server-{backend}")) as srv:
        yield srv


@pytest.fixture(scope="session")
def operator(server: Server) -> Iterator[httpx.Client]:
    with server.client(OPERATOR_TOKEN) as client:
        yield client


@pytest.fixture(scope="session")
def fleet(operator: httpx.Client) -> list[str]:
    """Three all-day vehicles at the station (added once per server)."""
    station = operator.get("/v1/places/station").json()
    return [add_vehicle(operator, f"bus-{number}", station)["id"] for number in range(1, 4)]
