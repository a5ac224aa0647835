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

__all__ = ["MIGRATIONS_DIR", "OwnerLock", "make_engine", "migrate"]

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


OWNER_LOCK_KEY = 0x6E6F7269  # "nori": the PostgreSQL advisory lock id of the owning process


class OwnerLock:
    """Proof that this process is the only ``noriai serve`` using a database.

    Each process keeps its own Dispatchers in memory, so two servers on one database would
    hand out conflicting promises. SQLite: ``flock`` on the database file (independent of
    SQLite's own POSIX locks). PostgreSQL: a session advisory lock on a dedicated connection.
    The operating system or the database frees the lock when the process dies, so a restart
    after a crash can take it again. Acquired once per process and URL (re-entrant).
    """

    _held: dict[str, tuple[OwnerLock, int]] = {}  # noqa: RUF012  (per-process registry)

    def __init__(self, release: Any) -> None:
        self._release = release

    @classmethod
    def acquire(cls, engine: Engine, *, wait_s: float = 15.0) -> OwnerLock:
        """Take the lock, waiting up to ``wait_s`` seconds for a dying owner to let go.

        Raises
        ------
        StorageError
            When another process holds it.
        """
        url = engine.url.render_as_string(hide_password=False)
        if url in cls._held:
            lock, count = cls._held[url]
            cls._held[url] = (lock, count + 1)
            return lock
        lock = cls._take(engine, wait_s)
        cls._held[url] = (lock, 1)
        return lock

    @classmethod
    def release_for(cls, engine: Engine) -> None:
        """Drop one hold of the lock on ``engine``'s database (freed at the last one)."""
        url = engine.url.render_as_string(hide_password=False)
        if url not in cls._held:
            return
        lock, count = cls._held[url]
        if count > 1:
            cls._held[url] = (lock, count - 1)
            return
        del cls._held[url]
        lock._release()

    @classmethod
    def _take(cls, engine: Engine, wait_s: float) -> OwnerLock:
        import time

        deadline = time.monotonic() + wait_s
        busy = StorageError(
            f"another noriai serve process owns the database {engine.url.render_as_string()}; "
            "stop it first (one process per database)"
        )
        if engine.dialect.name == "sqlite":
            import fcntl

            path = engine.url.database
            if not path or path == ":memory:":
                return cls(lambda: None)
            handle = Path(path).open("a+b")  # noqa: SIM115  (held for the process lifetime)
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return cls(handle.close)
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        handle.close()
                        raise busy from None
                    time.sleep(0.2)
        connection = engine.connect()
        while True:
            taken = connection.exec_driver_sql(
                f"SELECT pg_try_advisory_lock({OWNER_LOCK_KEY})"
            ).scalar()
            connection.commit()
            if taken:
                return cls(connection.close)
            if time.monotonic() > deadline:
                connection.close()
                raise busy
            time.sleep(0.2)
