"""Fixtures for the API tests: one real ``noriai serve`` per backend (SQLite, PostgreSQL).

Every backend test runs twice, on SQLite (a file) and on PostgreSQL (a fresh database per
server, from ``NORIAI_TEST_POSTGRES_URL``, which ``make test`` sets from ``.services.env``;
under ``CI=true`` a missing URL fails instead of skipping).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_helpers import OPERATOR_TOKEN, PostgresDatabase, Server, postgres_admin_url, server_env


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One running server per backend for the whole session."""
    folder = tmp_path_factory.mktemp(f"server-{backend}")
    database = None
    if backend == "sqlite":
        db_url = f"sqlite:///{folder / 'noriai.sqlite'}"
    else:
        database = PostgresDatabase(postgres_admin_url())
        database.create()
        db_url = database.url
    srv = Server(db_url=db_url, log_path=folder / "server.log", env=server_env())
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if database is not None:
            database.drop()


@pytest.fixture(scope="session")
def operator(server: Server) -> Iterator[httpx.Client]:
    with server.client(OPERATOR_TOKEN) as client:
        yield client


@pytest.fixture(scope="session")
def fleet(operator: httpx.Client) -> list[str]:
    """Three all-day vehicles at the station (added once per server)."""
    station = operator.get("/v1/places/station").json()
    ids = []
    for number in range(1, 4):
        response = operator.post(
            "/v1/vehicles",
            json={
                "id": f"bus-{number}",
                "seats": 8,
                "wheelchair_places": 1,
                "depot": {"lat": station["lat"], "lon": station["lon"]},
                "shift_start": "00:00",
                "shift_end": "24:00",
            },
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids
