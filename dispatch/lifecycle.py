"""The request lifecycle: one record per request and the transitions it may take.

::

    submitted -> offered -> booked -> assigned -> onboard -> completed
         |          |  \\                 |  \\
         v          v   expired          |   no_show
      rejected   cancelled  <------------+   (cancelled: booked or assigned, not onboard)

A new quote for the same request id is allowed while it is offered, rejected or expired.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dispatch.errors import InvalidTransitionError
from dispatch.model import CancelledBy, RejectionReason, Request, RequestStatus
from routing.types import Seconds

__all__ = ["ALLOWED_TRANSITIONS", "RequestRecord", "transition"]

S = RequestStatus

ALLOWED_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    S.SUBMITTED: frozenset({S.OFFERED, S.REJECTED}),
    S.OFFERED: frozenset({S.OFFERED, S.REJECTED, S.BOOKED, S.EXPIRED, S.CANCELLED}),
    S.REJECTED: frozenset({S.OFFERED, S.REJECTED}),
    S.EXPIRED: frozenset({S.OFFERED, S.REJECTED}),
    S.BOOKED: frozenset({S.ASSIGNED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.ONBOARD, S.CANCELLED, S.NO_SHOW}),
    S.ONBOARD: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}
"""For each state, the states it may move to."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """Everything the dispatcher knows about one request.

    Attributes
    ----------
    request : Request
        As submitted.
    status : RequestStatus
        Current lifecycle state.
    updated_at : Seconds
        When the status last changed.
    offer_ids : tuple of str
        Offers of the latest quote (best first).
    booked_offer_id : str or None
        The offer that was booked.
    vehicle_id : str or None
        Vehicle serving it (assigned or on board).
    rejection : RejectionReason or None
        Why it was rejected.
    cancelled_by : CancelledBy or None
        Who cancelled.
    cancel_reason : str
        Free text given with the cancellation.
    max_ride_s : Seconds or None
        Maximum ride time of the booked trip.
    picked_up_at, dropped_off_at : Seconds or None
        When the rider boarded / alighted.
    """

    request: Request
    status: RequestStatus
    updated_at: Seconds
    offer_ids: tuple[str, ...] = ()
    booked_offer_id: str | None = None
    vehicle_id: str | None = None
    rejection: RejectionReason | None = None
    cancelled_by: CancelledBy | None = None
    cancel_reason: str = ""
    max_ride_s: Seconds | None = None
    picked_up_at: Seconds | None = None
    dropped_off_at: Seconds | None = None


def transition(
    record: RequestRecord, status: RequestStatus, now: Seconds, **changes: object
) -> RequestRecord:
    """``record`` moved to ``status`` at ``now`` with other fields changed.

    Raises
    ------
    InvalidTransitionError
        When the lifecycle does not allow the step.
    """
    allowed = ALLOWED_TRANSITIONS[record.status]
    if status not in allowed:
        raise InvalidTransitionError(
            f"request {record.request.id!r} is {record.status.value}; it cannot become "
            f"{status.value} (allowed: {sorted(s.value for s in allowed)})"
        )
    return replace(record, status=status, updated_at=now, **changes)  # type: ignore[arg-type]
