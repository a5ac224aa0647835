"""Persistence: SQLModel tables, engine setup (SQLite WAL or PostgreSQL) and migrations."""

from api.storage.engine import make_engine, migrate
from api.storage.models import (
    Booking,
    DayState,
    IdempotencyRecord,
    Meta,
    NamedPlace,
    Rider,
    SavedPlace,
    VehicleRow,
)

__all__ = [
    "Booking",
    "DayState",
    "IdempotencyRecord",
    "Meta",
    "NamedPlace",
    "Rider",
    "SavedPlace",
    "VehicleRow",
    "make_engine",
    "migrate",
]
