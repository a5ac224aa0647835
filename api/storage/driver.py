"""Driver-side storage: the dispatch event log (operator replay) and the driver outboxes.

**Event log** (``dispatch_event``):
One row per event, in the order the server saw them (``id`` increases). ``time_s`` is seconds
since the service day's local midnight, like the core. ``payload`` is the event as JSON: the
Dispatcher's fields, plus for ``PlanChanged`` the vehicle's node and planned stops, for
``VehiclePosition`` the reported position. The table is created by alembic revision
``0003_dispatch_event_log``.

**Outboxes** (``driver_channel``, ``driver_outbox``, revision ``0004_driver_outbox``): each
vehicle's session id and seq counters and its unacknowledged events, written shortly after
they change (write-behind, in order), so a tablet can resume across a server restart.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, Index, Text, delete
from sqlmodel import Field, Session, SQLModel, col, select

from api.storage.models import utc_now

__all__ = [
    "ChannelSave",
    "DispatchEventRow",
    "DriverChannelRow",
    "DriverOutboxRow",
    "load_channels",
    "read_event_log",
    "save_channels",
    "write_event_log",
]


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


class DriverChannelRow(SQLModel, table=True):
    """One vehicle's seq space: session id and counters (see api.driver_protocol)."""

    __tablename__ = "driver_channel"
    vehicle_id: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(max_length=40)
    last_seq: int
    acked_seq: int
    first_kept_seq: int
    route_version: int | None = None
    updated_at: dt.datetime = Field(default_factory=utc_now)


class DriverOutboxRow(SQLModel, table=True):
    """One unacknowledged server event (the whole envelope as JSON)."""

    __tablename__ = "driver_outbox"
    vehicle_id: str = Field(primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    message: str = Field(sa_column=Column(Text, nullable=False))


@dataclass(frozen=True, slots=True)
class ChannelSave:
    """What changed in one channel since it was last saved.

    ``new_messages`` are ``(seq, envelope)`` appended since; every stored event with a seq
    below ``first_kept_seq`` or at most ``acked_seq`` is deleted.
    """

    vehicle_id: str
    session_id: str
    last_seq: int
    acked_seq: int
    first_kept_seq: int
    route_version: int | None
    new_messages: tuple[tuple[int, dict[str, Any]], ...]


def save_channels(engine: Engine, saves: Sequence[ChannelSave]) -> None:
    """Write channel counters and outbox changes in one transaction (off the event loop)."""
    if not saves:
        return
    with Session(engine) as session:
        for save in saves:
            row = session.get(DriverChannelRow, save.vehicle_id)
            if row is None:
                row = DriverChannelRow(
                    vehicle_id=save.vehicle_id,
                    session_id=save.session_id,
                    last_seq=save.last_seq,
                    acked_seq=save.acked_seq,
                    first_kept_seq=save.first_kept_seq,
                )
            row.session_id = save.session_id
            row.last_seq = save.last_seq
            row.acked_seq = save.acked_seq
            row.first_kept_seq = save.first_kept_seq
            row.route_version = save.route_version
            row.updated_at = utc_now()
            session.add(row)
            for seq, message in save.new_messages:
                if seq > save.acked_seq and seq >= save.first_kept_seq:
                    session.add(
                        DriverOutboxRow(
                            vehicle_id=save.vehicle_id,
                            seq=seq,
                            message=json.dumps(message, ensure_ascii=False),
                        )
                    )
            session.flush()
            session.execute(
                delete(DriverOutboxRow).where(
                    col(DriverOutboxRow.vehicle_id) == save.vehicle_id,
                    (col(DriverOutboxRow.seq) <= save.acked_seq)
                    | (col(DriverOutboxRow.seq) < save.first_kept_seq),
                )
            )
        session.commit()


def load_channels(
    engine: Engine,
) -> list[tuple[DriverChannelRow, list[tuple[int, dict[str, Any]]]]]:
    """Every stored channel with its outbox events ``(seq, envelope)``, oldest first."""
    with Session(engine) as session:
        channels = session.exec(select(DriverChannelRow)).all()
        outboxes: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for row in session.exec(
            select(DriverOutboxRow).order_by(
                col(DriverOutboxRow.vehicle_id), col(DriverOutboxRow.seq)
            )
        ):
            outboxes.setdefault(row.vehicle_id, []).append((row.seq, json.loads(row.message)))
    return [(channel, outboxes.get(channel.vehicle_id, [])) for channel in channels]
