"""In-process publish/subscribe of dispatch events (live updates, later the driver websocket).

Publishing happens on the event loop after the Dispatcher thread returned. Each subscriber has
a bounded queue; a subscriber that falls more than ``maxsize`` messages behind loses the
oldest ones and sees ``lagged = True`` (it should re-read the full state).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from api.timeutil import ServiceClock
from dispatch.events import DispatchEvent

__all__ = ["BusMessage", "EventBus", "Subscription", "event_json"]


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One dispatch event of one service day."""

    day: dt.date
    event: DispatchEvent

    @property
    def type(self) -> str:
        """Event class name: ``"PlanChanged"``, ``"Booked"``, ..."""
        return type(self.event).__name__

    @property
    def request_id(self) -> str | None:
        """The request the event concerns, if any."""
        return getattr(self.event, "request_id", None)

    @property
    def vehicle_id(self) -> str | None:
        """The vehicle the event concerns, if any."""
        return getattr(self.event, "vehicle_id", None)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def event_json(message: BusMessage, clock: ServiceClock) -> dict[str, Any]:
    """A JSON-ready dict: ``type``, ``service_day``, ``at`` (ISO) and the event's fields."""
    fields = _plain(message.event)
    seconds = fields.pop("time")
    return {
        "type": message.type,
        "service_day": message.day.isoformat(),
        "at": clock.to_datetime(message.day, seconds).isoformat(),
        **fields,
    }


class Subscription:
    """A subscriber's queue; iterate with ``async for message in subscription``."""

    def __init__(
        self, bus: EventBus, accept: Callable[[BusMessage], bool] | None, maxsize: int
    ) -> None:
        self._bus = bus
        self._accept = accept
        self.queue: asyncio.Queue[BusMessage] = asyncio.Queue(maxsize=maxsize)
        self.lagged = False

    def offer(self, message: BusMessage) -> None:
        """Queue the message if accepted; drop the oldest when full."""
        if self._accept is not None and not self._accept(message):
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.lagged = True
        self.queue.put_nowait(message)

    async def get(self, timeout: float | None = None) -> BusMessage | None:
        """The next message, or None after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop receiving."""
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> BusMessage:
        return await self.queue.get()


class EventBus:
    """Fan-out of :class:`BusMessage` to subscribers (call only from the event loop)."""

    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []

    def subscribe(
        self, accept: Callable[[BusMessage], bool] | None = None, *, maxsize: int = 1000
    ) -> Subscription:
        """A new subscription receiving the messages ``accept`` returns True for (all if None)."""
        subscription = Subscription(self, accept, maxsize)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a subscription (idempotent)."""
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    def publish(self, day: dt.date, events: Iterable[DispatchEvent]) -> None:
        """Deliver every event of ``day`` to every subscriber that accepts it."""
        for event in events:
            message = BusMessage(day, event)
            for subscription in list(self._subscribers):
                subscription.offer(message)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)
