"""Core values -> public schemas (seconds of a service day become ISO datetimes here)."""

from __future__ import annotations

import datetime as dt

from api.schemas import (
    BookingPublic,
    OfferPublic,
    PickupWindow,
    PlannedStopPublic,
    PlanPublic,
    RejectionPublic,
    StopPublic,
    VehiclePublic,
)
from api.storage.models import Booking, VehicleRow
from api.timeutil import ServiceClock, format_time_of_day
from dispatch.model import Access, Offer, RejectionReason, VehicleState

__all__ = [
    "REJECTION_MESSAGES",
    "booking_public",
    "offer_public",
    "plan_public",
    "rejection_public",
    "vehicle_public",
]

REJECTION_MESSAGES: dict[str, str] = {
    RejectionReason.NO_VEHICLE_IN_TIME: "No bus can make it in time; try a later time.",
    RejectionReason.OUTSIDE_SERVICE_AREA: "The origin or destination is outside the service area.",
    RejectionReason.NO_STOP_WITHIN_WALK: "There is no bus stop within walking distance.",
    RejectionReason.CAPACITY: "No bus has enough free seats or wheelchair places then.",
    RejectionReason.SHIFT_END: "No bus is in service at that time; try within service hours.",
    RejectionReason.NO_VEHICLES: "No bus is in service that day.",
    RejectionReason.TOO_FAR_AHEAD: "That is too far ahead; bookings open closer to the day.",
    RejectionReason.IN_THE_PAST: "That time has passed; pick a time in the future.",
    RejectionReason.SAME_ORIGIN_AND_DESTINATION: "Origin and destination use the same stop.",
    RejectionReason.OFFER_EXPIRED: "The offer has expired; ask for a new quote.",
    RejectionReason.OFFER_NO_LONGER_FEASIBLE: "The offer is no longer possible; ask again.",
}


def rejection_public(reason: str) -> RejectionPublic:
    """A rejection with its human message."""
    return RejectionPublic(
        reason=reason, message=REJECTION_MESSAGES.get(reason, "No trip possible; try another time.")
    )


def _stop(access: Access) -> StopPublic:
    return StopPublic(
        stop_id=access.stop_id,
        name=access.name,
        lat=access.point.lat,
        lon=access.point.lon,
        walk_m=access.walk_m,
    )


def offer_public(offer: Offer, offer_id: str, day: dt.date, clock: ServiceClock) -> OfferPublic:
    """An offer (under its public id) with datetimes in the service time zone."""

    def at(seconds: int) -> dt.datetime:
        return clock.to_datetime(day, seconds)

    return OfferPublic(
        offer_id=offer_id,
        kind=offer.kind.value,
        pickup=_stop(offer.pickup),
        dropoff=_stop(offer.dropoff),
        pickup_window=PickupWindow(
            earliest=at(offer.pickup_earliest), latest=at(offer.pickup_latest)
        ),
        latest_arrival=at(offer.latest_arrival),
        expected_pickup=at(offer.expected_pickup),
        expected_arrival=at(offer.expected_arrival),
        expires_at=at(offer.expires_at),
    )


def booking_public(
    row: Booking, clock: ServiceClock, *, status: str | None = None, vehicle_id: str | None = None
) -> BookingPublic:
    """A stored booking (``status`` from the live Dispatcher when known)."""

    def at(seconds: int) -> dt.datetime:
        return clock.to_datetime(row.service_day, seconds)

    return BookingPublic(
        id=row.id,
        status=status or row.status,
        channel=row.channel,
        service_day=row.service_day,
        passengers=row.passengers,
        wheelchairs=row.wheelchairs,
        pickup=StopPublic(
            stop_id=row.pickup_stop_id,
            name=row.pickup_name,
            lat=row.pickup_lat,
            lon=row.pickup_lon,
            walk_m=row.pickup_walk_m,
        ),
        dropoff=StopPublic(
            stop_id=row.dropoff_stop_id,
            name=row.dropoff_name,
            lat=row.dropoff_lat,
            lon=row.dropoff_lon,
            walk_m=row.dropoff_walk_m,
        ),
        pickup_window=PickupWindow(
            earliest=at(row.pickup_earliest_s), latest=at(row.pickup_latest_s)
        ),
        latest_arrival=at(row.latest_arrival_s),
        expected_pickup=at(row.expected_pickup_s),
        expected_arrival=at(row.expected_arrival_s),
        destination_place_id=row.destination_place_id,
        vehicle_id=vehicle_id,
        created_at=_utc(row.created_at),
        cancelled_by=row.cancelled_by,
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def vehicle_public(row: VehicleRow) -> VehiclePublic:
    """A stored vehicle."""
    from api.schemas import LatLonIn

    return VehiclePublic(
        id=row.id,
        seats=row.seats,
        wheelchair_places=row.wheelchair_places,
        depot=LatLonIn(lat=row.depot_lat, lon=row.depot_lon),
        shift_start=format_time_of_day(row.shift_start_s),
        shift_end=format_time_of_day(row.shift_end_s),
        retired=row.retired_at is not None,
        created_at=_utc(row.created_at),
    )


def plan_public(state: VehicleState, day: dt.date, clock: ServiceClock) -> PlanPublic:
    """A vehicle's plan with datetimes."""

    def at(seconds: int) -> dt.datetime:
        return clock.to_datetime(day, seconds)

    plan = state.plan
    stops = plan.stops if plan is not None else ()
    return PlanPublic(
        vehicle_id=state.vehicle.id,
        service_day=day,
        version=plan.version if plan is not None else 0,
        locked=plan.locked if plan is not None else False,
        onboard=list(state.onboard),
        stops=[
            PlannedStopPublic(
                request_id=stop.request_id,
                kind=stop.kind.value,
                stop_id=stop.access.stop_id,
                name=stop.access.name,
                lat=stop.access.point.lat,
                lon=stop.access.point.lon,
                earliest=at(stop.earliest),
                latest=at(stop.latest),
                arrival=at(stop.arrival),
                departure=at(stop.departure),
                passengers=stop.passengers,
            )
            for stop in stops
        ],
    )
