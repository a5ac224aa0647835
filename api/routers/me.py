"""The rider's own data: consent, profile, saved places, bookings, export and erasure.

Consent model: without opt-in we keep only the bookings themselves (needed to run the trip);
home, display name, saved places and the history of past trips are kept only after
``PUT /v1/me/consent {"personal_data": true}``. Withdrawing consent deletes profile fields and
saved places at once; finished bookings of past days are unlinked from riders without consent
by the service's periodic sweep. ``DELETE /v1/me`` cancels every future trip (refused with 409
while a trip is under way), anonymises all bookings (rider link, coordinates and contact removed;
stops and times kept for statistics) and deletes the rider; the token stops working.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlmodel import Session, col, select

from api.auth import RiderDep
from api.deps import ServiceDep, SessionDep
from api.present import booking_public
from api.schemas import (
    BookingPublic,
    ConsentPublic,
    ConsentUpdate,
    ExportPublic,
    LatLonIn,
    ProfilePublic,
    ProfileUpdate,
    SavedPlaceCreate,
    SavedPlacePublic,
)
from api.service import Problem
from api.storage.models import Booking, Rider, SavedPlace, utc_now

__all__ = ["router"]

router = APIRouter(prefix="/v1/me", tags=["rider"])


def _rider(session: Session, rider_id: str) -> Rider:
    rider = session.get(Rider, rider_id)
    if rider is None:  # erased between authentication and now
        raise Problem(404, "this rider no longer exists; register again with POST /v1/riders")
    return rider


def _profile(rider: Rider) -> ProfilePublic:
    home = None
    if rider.home_lat is not None and rider.home_lon is not None:
        home = LatLonIn(lat=rider.home_lat, lon=rider.home_lon)
    return ProfilePublic(
        id=rider.id,
        created_at=rider.created_at,
        language=rider.language,
        consent=ConsentPublic(
            personal_data=rider.consent_personal_data, consent_at=rider.consent_at
        ),
        display_name=rider.display_name,
        home=home,
    )


def _need_consent(rider: Rider) -> None:
    if not rider.consent_personal_data:
        raise Problem(
            409,
            "personal data is kept only after opt-in; send PUT /v1/me/consent "
            '{"personal_data": true} first',
            reason="consent_required",
        )


@router.get("", response_model=ProfilePublic)
def read_me(session: SessionDep, rider: RiderDep) -> ProfilePublic:
    """Your profile and consent."""
    return _profile(_rider(session, rider.id))


@router.put("/consent", response_model=ConsentPublic)
def update_consent(body: ConsentUpdate, session: SessionDep, rider: RiderDep) -> ConsentPublic:
    """Opt in to, or out of, keeping personal data. Opting out deletes it now."""
    row = _rider(session, rider.id)
    row.consent_personal_data = body.personal_data
    row.consent_at = utc_now() if body.personal_data else None
    if not body.personal_data:
        row.display_name = None
        row.home_lat = row.home_lon = None
        for place in session.exec(select(SavedPlace).where(SavedPlace.rider_id == rider.id)):
            session.delete(place)
    session.add(row)
    session.commit()
    return ConsentPublic(personal_data=row.consent_personal_data, consent_at=row.consent_at)


@router.put("/profile", response_model=ProfilePublic)
def update_profile(body: ProfileUpdate, session: SessionDep, rider: RiderDep) -> ProfilePublic:
    """Set display name and home (needs consent)."""
    row = _rider(session, rider.id)
    _need_consent(row)
    row.display_name = body.display_name
    row.home_lat = body.home.lat if body.home else None
    row.home_lon = body.home.lon if body.home else None
    session.add(row)
    session.commit()
    return _profile(row)


@router.get("/places", response_model=list[SavedPlacePublic])
def list_saved_places(session: SessionDep, rider: RiderDep) -> list[SavedPlacePublic]:
    """Your saved places."""
    rows = session.exec(select(SavedPlace).where(SavedPlace.rider_id == rider.id)).all()
    return [SavedPlacePublic(id=p.id or 0, name=p.name, lat=p.lat, lon=p.lon) for p in rows]


@router.post("/places", response_model=SavedPlacePublic, status_code=201)
def add_saved_place(
    body: SavedPlaceCreate, session: SessionDep, rider: RiderDep
) -> SavedPlacePublic:
    """Save a place (needs consent)."""
    _need_consent(_rider(session, rider.id))
    place = SavedPlace(rider_id=rider.id, name=body.name, lat=body.lat, lon=body.lon)
    session.add(place)
    session.commit()
    return SavedPlacePublic(id=place.id or 0, name=place.name, lat=place.lat, lon=place.lon)


@router.delete("/places/{place_id}", status_code=204)
def delete_saved_place(place_id: int, session: SessionDep, rider: RiderDep) -> Response:
    """Forget a saved place."""
    place = session.get(SavedPlace, place_id) if -(2**62) < place_id < 2**62 else None
    if place is None or place.rider_id != rider.id:
        raise Problem(404, f"no saved place {place_id}; list yours with GET /v1/me/places")
    session.delete(place)
    session.commit()
    return Response(status_code=204)


def _bookings(session: Session, rider_id: str) -> list[Booking]:
    return list(
        session.exec(
            select(Booking)
            .where(Booking.rider_id == rider_id)
            .order_by(col(Booking.service_day), col(Booking.pickup_earliest_s))
        ).all()
    )


@router.get("/bookings", response_model=list[BookingPublic])
def list_my_bookings(
    session: SessionDep, service: ServiceDep, rider: RiderDep
) -> list[BookingPublic]:
    """Your bookings (past ones only with consent: they are unlinked after the day otherwise)."""
    return [booking_public(row, service.clock) for row in _bookings(session, rider.id)]


@router.get("/export", response_model=ExportPublic)
def export_me(session: SessionDep, service: ServiceDep, rider: RiderDep) -> ExportPublic:
    """Everything we hold about you."""
    row = _rider(session, rider.id)
    places = session.exec(select(SavedPlace).where(SavedPlace.rider_id == rider.id)).all()
    return ExportPublic(
        profile=_profile(row),
        saved_places=[
            SavedPlacePublic(id=p.id or 0, name=p.name, lat=p.lat, lon=p.lon) for p in places
        ],
        bookings=[booking_public(b, service.clock) for b in _bookings(session, rider.id)],
    )


@router.delete("", status_code=204)
async def erase_me(service: ServiceDep, rider: RiderDep) -> Response:
    """Erase your data: future trips are cancelled, bookings anonymised, the token revoked.

    409 while one of your trips is under way.
    """
    await service.erase_rider(rider.id)
    return Response(status_code=204)
