"""Engine setup and programmatic migrations.

SQLite: every connection gets ``journal_mode=WAL``, ``busy_timeout`` and ``foreign_keys=ON``
(``synchronous=FULL`` so a committed transaction survives a crash). PostgreSQL: plain URL,
``pool_pre_ping``. The schema is created and upgraded by alembic (``api/migrations``) at
startup, never by ``create_all``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from api.errors import StorageError

__all__ = ["MIGRATIONS_DIR", "make_engine", "migrate"]

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite file or PostgreSQL) with the per-connection settings above.

    Raises
    ------
    StorageError
        When the SQLite file's folder does not exist.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:" and not Path(path).resolve().parent.is_dir():
            raise StorageError(f"folder of database file {path} does not exist; create it first")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=20,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest alembic revision.

    Raises
    ------
    StorageError
        When the database cannot be reached or a migration fails (message says which).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as error:
        raise StorageError(
            f"cannot open or migrate the database {engine.url.render_as_string()}: "
            f"{str(error).splitlines()[0]}; check --db / NORIAI_DB_URL and that the server runs"
        ) from error
