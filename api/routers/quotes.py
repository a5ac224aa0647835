"""``POST /v1/quotes``: offers or a rejection with its reason."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import OptionalPrincipalDep, Role
from api.deps import ServiceDep
from api.present import offer_public, rejection_public
from api.schemas import ErrorPublic, LatLonIn, QuoteCreate, QuotePublic
from api.service import Problem
from dispatch.model import Channel
from routing.types import LatLon

__all__ = ["router"]

router = APIRouter(prefix="/v1/quotes", tags=["rider"])

CHANNEL_BY_ROLE = {Role.RIDER: Channel.APP, Role.OPERATOR: Channel.PHONE}


@router.post(
    "",
    response_model=QuotePublic,
    responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
)
async def create_quote(
    body: QuoteCreate, service: ServiceDep, principal: OptionalPrincipalDep
) -> QuotePublic:
    """Ask for offers. A bearer token is optional (phone bookings: the operator's token)."""
    place_id = None
    if isinstance(body.destination, LatLonIn):
        destination = LatLon(body.destination.lat, body.destination.lon)
    else:
        place_id = body.destination.place_id
        place = service.place(place_id)
        if place is None:
            raise Problem(404, f"no place {place_id!r}; list them with GET /v1/places")
        destination = LatLon(place.lat, place.lon)
    if principal is not None and principal.role is Role.VEHICLE:
        raise Problem(403, "vehicle tokens cannot ask for quotes")
    channel = CHANNEL_BY_ROLE[principal.role] if principal is not None else Channel.APP
    quote = service.build_request(
        origin=LatLon(body.origin.lat, body.origin.lon),
        destination=destination,
        arrive_by=body.arrive_by,
        depart_at=body.depart_at,
        passengers=body.passengers,
        wheelchair=body.wheelchair,
        channel=channel,
        rider_id=principal.id if principal is not None and principal.role is Role.RIDER else None,
        destination_place_id=place_id,
    )
    result, offer_ids = await service.quote(quote, principal)
    return QuotePublic(
        request_id=result.request_id,
        offers=[
            offer_public(offer, offer_id, quote.day, service.clock)
            for offer, offer_id in zip(result.offers, offer_ids, strict=True)
        ],
        rejection=None if result.rejection is None else rejection_public(result.rejection.value),
    )
