"""Dispatch errors. Infeasibility during search is a value (None), never an exception.

Hierarchy::

    DispatchError
    ├── UnknownRequestError    no request or offer with that id
    ├── UnknownVehicleError    no vehicle with that id
    ├── OfferError             an offer cannot be booked (expired or no longer feasible)
    ├── InvalidRequestError    a request breaks a basic rule (passengers < 1, both times set ...)
    └── InvalidTransitionError the lifecycle does not allow this step (cancel a completed trip)
"""

from __future__ import annotations

__all__ = [
    "DispatchError",
    "InvalidRequestError",
    "InvalidTransitionError",
    "OfferError",
    "UnknownRequestError",
    "UnknownVehicleError",
]


class DispatchError(Exception):
    """Base of every dispatch error."""


class UnknownRequestError(DispatchError):
    """No request or offer with that id; check the id returned by quote or book."""


class UnknownVehicleError(DispatchError):
    """No vehicle with that id; add it first."""


class OfferError(DispatchError):
    """The offer cannot be booked any more; ask for a new quote."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidRequestError(DispatchError):
    """The request breaks a basic rule; the message names the field and what is allowed."""


class InvalidTransitionError(DispatchError):
    """The request's lifecycle state does not allow this step."""
