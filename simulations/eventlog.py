"""The simulation's event log: one JSON object per line (JSONL).

Line 1 is the header: the scenario as read (``scenario``, ``base_dir``), the policy and seed, and
the day's request log (``requests``, rows as in :mod:`simulations.requestlog`), so that
``noriai replay`` can re-run the day from the log alone. The last line is the summary with the
KPIs. Every line in between is a record ``{"t": seconds, "type": ..., ...}`` in the order the
engine produced it. The record types the KPIs read:

============  =================================================================================
request       ``id, passengers, wheelchairs, arrive_by, depart_at`` (a rider asks for a quote)
offered       ``id, offers, vehicle, pickup_stop, dropoff_stop, pickup_walk_m, dropoff_walk_m,
              pickup_earliest, pickup_latest, latest_arrival`` (the best offer)
rejected      ``id, reason`` (no offer: :class:`dispatch.model.RejectionReason` value)
declined      ``id`` (the rider let the offer expire)
booked        ``id, vehicle, direct_s, direct_m, ready_t`` (``ready_t``: rider at the stop)
book_failed   ``id, reason``
cancel        ``id`` (the rider cancelled before pickup)
no_show       ``id, vehicle``
pickup        ``id, vehicle, node, ready_t, leave_t`` (boards at ``t``, leaves at ``leave_t``)
dropoff       ``id, vehicle, node``
drive         ``vehicle, t0, t1, m, load`` (one stretch driven with ``load`` riders on board)
service       ``vehicle, t0, t1`` (dwelling at a stop)
wait          ``vehicle, t0, t1`` (waiting at a stop for the window or the rider)
dispatch      ``event`` plus its fields (an event returned by the Dispatcher)
error         ``event, message`` (a failed event; never dropped silently)
============  =================================================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulations.errors import SimulationError

__all__ = ["LOG_VERSION", "EventLog", "read_event_log", "write_event_log"]

LOG_VERSION = 1


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(
        record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )


@dataclass(slots=True)
class EventLog:
    """Header, records and summary of one run (in memory; see :func:`write_event_log`)."""

    header: dict[str, Any] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def add(self, t: int, kind: str, /, **fields: Any) -> None:
        """Append a record at time ``t`` (seconds since midnight)."""
        record: dict[str, Any] = {"t": int(t), "type": kind}
        record.update(fields)
        self.records.append(record)

    def lines(self) -> list[str]:
        """The records (without header and summary) as canonical JSON lines."""
        return [_dumps(record) for record in self.records]

    def of_type(self, *kinds: str) -> Iterable[dict[str, Any]]:
        """Records whose ``type`` is one of ``kinds``."""
        wanted = set(kinds)
        return (r for r in self.records if r["type"] in wanted)


def write_event_log(path: Path | str, log: EventLog) -> Path:
    """Write header, records and summary as JSONL; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.write(_dumps({"type": "header", "version": LOG_VERSION, **log.header}) + "\n")
        for line in log.lines():
            out.write(line + "\n")
        out.write(_dumps({"type": "summary", **log.summary}) + "\n")
    return path


def read_event_log(path: Path | str) -> EventLog:
    """Read a JSONL event log written by :func:`write_event_log`.

    Raises
    ------
    SimulationError
        When the file is missing, a line is not JSON, or the header is missing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SimulationError(f"event log {path} does not exist; check the path") from None
    except OSError as error:
        raise SimulationError(f"cannot read event log {path}: {error}") from error
    log = EventLog()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise SimulationError(f"{path} line {number} is not JSON: {error}") from error
        kind = record.get("type") if isinstance(record, dict) else None
        if number == 1:
            if kind != "header":
                raise SimulationError(
                    f"{path} has no header line; is it an event log written by noriai simulate?"
                )
            record.pop("type")
            log.header = record
        elif kind == "summary":
            record.pop("type")
            log.summary = record
        else:
            log.records.append(record)
    if not log.header:
        raise SimulationError(f"{path} is empty; is it an event log written by noriai simulate?")
    return log
