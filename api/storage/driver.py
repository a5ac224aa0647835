"""The dispatch event log: every dispatch event and driver report, for the operator's replay.

One row per event, in the order the server saw them (``id`` increases). ``time_s`` is seconds
since the service day's local midnight, like the core. ``payload`` is the event as JSON: the
Dispatcher's fields, plus for ``PlanChanged`` the vehicle's node and planned stops, for
``VehiclePosition`` the reported position. The table is created by alembic revision
``0003_dispatch_event_log``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Engine, Index, Text
from sqlmodel import Field, Session, SQLModel, col, select

from api.storage.models import utc_now

__all__ = ["DispatchEventRow", "read_event_log", "write_event_log"]


class DispatchEventRow(SQLModel, table=True):
    """One logged event of one service day."""

    __tablename__ = "dispatch_event"
    __table_args__ = (Index("ix_dispatch_event_day_id", "service_day", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    service_day: dt.date
    time_s: int
    type: str = Field(max_length=40)
    vehicle_id: str | None = Field(default=None, max_length=64)
    request_id: str | None = Field(default=None, max_length=32)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: dt.datetime = Field(default_factory=utc_now)


def write_event_log(engine: Engine, rows: Sequence[DispatchEventRow]) -> None:
    """Insert rows in one transaction (call off the event loop)."""
    if not rows:
        return
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def read_event_log(engine: Engine, day: dt.date, *, limit: int = 50_000) -> list[dict[str, Any]]:
    """The day's events in logged order: ``{id, time_s, type, vehicle_id, request_id,
    payload}`` (at most ``limit``)."""
    with Session(engine) as session:
        rows = session.exec(
            select(DispatchEventRow)
            .where(DispatchEventRow.service_day == day)
            .order_by(col(DispatchEventRow.id))
            .limit(limit)
        ).all()
    return [
        {
            "id": row.id,
            "time_s": row.time_s,
            "type": row.type,
            "vehicle_id": row.vehicle_id,
            "request_id": row.request_id,
            "payload": json.loads(row.payload),
        }
        for row in rows
    ]
