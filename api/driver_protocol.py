"""The driver websocket protocol: envelope, per-vehicle sequence numbers, outbox and resume.

See ``docs/driver-protocol.md`` for the wire format. This module holds no I/O: it parses and
builds envelopes and keeps, per vehicle, the outbox of server events that the tablet has not
acknowledged yet.

Envelope (every message, both directions)::

    {"v": 1, "type": "...", "id": "<uuid>", "seq": N | null, "ack": M | null,
     "ts": "2026-11-25T12:00:00.123Z", "payload": {...}}

- Server events (``route.updated``, ``task.assigned``, ``task.cancelled``) carry a per-vehicle
  ``seq`` that increases by one per event, starting at 1 in each server session. They stay in
  the :class:`VehicleChannel` outbox until the tablet acknowledges them (``ack {upto_seq}``,
  ``heartbeat {last_seq}`` or the ``ack`` field of any driver message).
- Replies (``hello``, ``heartbeat_ack``, ``command.result``, ``error``) have ``seq`` null: they
  answer one connection and are not replayed.
- A session id names the seq space of one vehicle in one server process. A tablet resuming
  with the same session id and a ``last_seq`` still covered by the outbox gets exactly the
  events after it, in order; otherwise it gets a full snapshot (a fresh ``route.updated``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CLIENT_TYPES",
    "CLOSE_BAD_MESSAGE",
    "CLOSE_FORBIDDEN",
    "CLOSE_HEARTBEAT_TIMEOUT",
    "CLOSE_REPLACED",
    "CLOSE_UNAUTHORIZED",
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "PROTOCOL_VERSION",
    "Envelope",
    "ProtocolError",
    "VehicleChannel",
    "envelope",
    "parse_envelope",
    "utc_stamp",
]

PROTOCOL_VERSION = 1

CLOSE_BAD_MESSAGE = 4400
"""The stream is unusable (binary frames, or a first message that is not JSON)."""
CLOSE_UNAUTHORIZED = 4401
"""No auth first, unknown or revoked token."""
CLOSE_FORBIDDEN = 4403
"""A valid token of another vehicle (or not a vehicle token)."""
CLOSE_HEARTBEAT_TIMEOUT = 4408
"""No message from the tablet for three heartbeat intervals."""
CLOSE_REPLACED = 4409
"""Another connection of the same vehicle took over."""

EVENT_TYPES = frozenset({"route.updated", "task.assigned", "task.cancelled"})
"""Server messages that get a ``seq`` and stay in the outbox until acknowledged."""

COMMAND_TYPES = frozenset(
    {
        "position",
        "stop.arrived",
        "stop.departed",
        "task.performed",
        "task.no_show",
        "task.no_pickup",
    }
)
"""Driver messages that change state; each carries its own ``id`` (a retry is answered the
same and applied once)."""

CLIENT_TYPES = COMMAND_TYPES | {"auth", "ack", "heartbeat"}

MAX_MESSAGE_BYTES = 64 * 1024


class ProtocolError(Exception):
    """A driver message that cannot be used; ``code`` goes into the ``error`` reply."""

    def __init__(self, code: str, message: str, *, message_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_id = message_id


def utc_stamp(moment: dt.datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2026-11-25T12:00:00.123Z``."""
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def envelope(
    type_: str,
    payload: dict[str, Any],
    *,
    seq: int | None = None,
    ack: int | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A server message as a JSON-ready dict."""
    return {
        "v": PROTOCOL_VERSION,
        "type": type_,
        "id": message_id or str(uuid.uuid4()),
        "seq": seq,
        "ack": ack,
        "ts": utc_stamp(),
        "payload": payload,
    }


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed driver message.

    Attributes
    ----------
    type : str
        One of :data:`CLIENT_TYPES`.
    id : str
        The driver's message id (the idempotency key of a command).
    ack : int or None
        Highest server ``seq`` the tablet has processed (piggy-backed acknowledgement).
    payload : dict
        Type-specific fields.
    """

    type: str
    id: str
    ack: int | None
    payload: dict[str, Any]


def _int_or_none(value: Any, name: str, message_id: str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(
            "bad_field", f"{name} must be a non-negative integer", message_id=message_id
        )
    return value


def parse_envelope(text: str) -> Envelope:
    """Parse and check one driver text frame.

    Raises
    ------
    ProtocolError
        ``bad_json``, ``bad_envelope``, ``unsupported_version``, ``unknown_type`` or
        ``bad_field``, with a message saying what to send instead.
    """
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ProtocolError("bad_json", f"not JSON ({error}); send one JSON object") from error
    if not isinstance(data, dict):
        raise ProtocolError("bad_envelope", "send one JSON object {v, type, id, payload}")
    message_id = data.get("id")
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 100:
        raise ProtocolError("bad_envelope", "id must be a string of 1..100 characters (a uuid)")
    if data.get("v", PROTOCOL_VERSION) != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_version",
            f"protocol version {data.get('v')!r} is not supported; use v={PROTOCOL_VERSION}",
            message_id=message_id,
        )
    type_ = data.get("type")
    if type_ not in CLIENT_TYPES:
        raise ProtocolError(
            "unknown_type",
            f"unknown type {type_!r}; use one of {', '.join(sorted(CLIENT_TYPES))}",
            message_id=message_id,
        )
    payload = data.get("payload", {})
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("bad_envelope", "payload must be an object", message_id=message_id)
    ack = _int_or_none(data.get("ack"), "ack", message_id)
    return Envelope(type=str(type_), id=message_id, ack=ack, payload=payload)


@dataclass(slots=True)
class VehicleChannel:
    """One vehicle's event stream in this server session.

    Attributes
    ----------
    vehicle_id : str
        Owner.
    session_id : str
        Names this seq space (new in every server process).
    last_seq : int
        Seq of the newest event (0: none yet).
    acked_seq : int
        Highest seq the tablet acknowledged.
    outbox : deque of (seq, message)
        Unacknowledged events, oldest first, at most ``outbox_limit``.
    first_kept_seq : int
        Lowest seq a resume can still start after minus one: resuming with ``last_seq >=
        first_kept_seq - 1`` replays exactly what was missed.
    route_version : int or None
        ``route_version`` of the newest ``route.updated`` (None before the first).
    persisted_seq : int
        Events up to this seq are stored (write-behind, see ``api.storage.driver``).
    restored : bool
        True when loaded from storage after a restart and no tablet connected since: the
        next connection also gets a fresh snapshot (the plan may have changed meanwhile).
    """

    vehicle_id: str
    outbox_limit: int = 512
    command_memory: int = 1000
    session_id: str = field(default_factory=lambda: "s_" + secrets.token_hex(8))
    last_seq: int = 0
    acked_seq: int = 0
    outbox: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    first_kept_seq: int = 1
    route_version: int | None = None
    route_request_ids: frozenset[str] = frozenset()
    replies: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    persisted_seq: int = 0
    restored: bool = False

    def append(self, type_: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Give a new server event the next seq and keep it until acknowledged.

        When more than ``outbox_limit`` events are unacknowledged the oldest is dropped; a
        tablet that needs it then gets a snapshot on resume.
        """
        if type_ not in EVENT_TYPES:
            raise ValueError(f"{type_!r} is not an outbox event type")
        self.last_seq += 1
        message = envelope(type_, payload, seq=self.last_seq, ack=self.acked_seq)
        self.outbox.append((self.last_seq, message))
        while len(self.outbox) > self.outbox_limit:
            dropped, _ = self.outbox.popleft()
            self.first_kept_seq = dropped + 1
        if type_ == "route.updated":
            self.route_version = int(payload["route_version"])
        return message

    def acknowledge(self, upto_seq: int) -> int:
        """Drop events up to ``upto_seq`` from the outbox; returns how many were dropped.

        Values above ``last_seq`` are clamped (a tablet cannot acknowledge the future).
        """
        upto = min(upto_seq, self.last_seq)
        if upto <= self.acked_seq:
            return 0
        self.acked_seq = upto
        dropped = 0
        while self.outbox and self.outbox[0][0] <= upto:
            self.outbox.popleft()
            dropped += 1
        self.first_kept_seq = max(self.first_kept_seq, upto + 1)
        return dropped

    def can_resume(self, session_id: str | None, last_seq: int | None) -> bool:
        """True when ``events_after(last_seq)`` is exactly what the tablet missed."""
        if session_id != self.session_id or last_seq is None:
            return False
        return self.first_kept_seq - 1 <= last_seq <= self.last_seq

    def events_after(self, last_seq: int) -> list[dict[str, Any]]:
        """Outbox events with ``seq > last_seq``, oldest first."""
        return [message for seq, message in self.outbox if seq > last_seq]

    def remember_reply(self, command_id: str, reply: dict[str, Any]) -> None:
        """Keep the answer to a command so a retry gets the same answer."""
        self.replies[command_id] = reply
        self.replies.move_to_end(command_id)
        while len(self.replies) > self.command_memory:
            self.replies.popitem(last=False)

    def reply_for(self, command_id: str) -> dict[str, Any] | None:
        """The stored answer to a command already applied, or None."""
        return self.replies.get(command_id)


def message_ids(messages: Iterable[dict[str, Any]]) -> list[int]:
    """The ``seq`` of each message (helper for logs and tests)."""
    return [int(m["seq"]) for m in messages if m.get("seq") is not None]
