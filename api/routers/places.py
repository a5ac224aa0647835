"""Named places of the service area (station, hospital, city hall ...), searchable."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlmodel import col, or_, select

from api.deps import SessionDep
from api.schemas import ErrorPublic, PlacePublic
from api.service import Problem
from api.storage.models import NamedPlace

__all__ = ["router"]

router = APIRouter(prefix="/v1/places", tags=["places"])


def _public(row: NamedPlace) -> PlacePublic:
    return PlacePublic(
        id=row.id, name=row.name, name_ja=row.name_ja, kind=row.kind, lat=row.lat, lon=row.lon
    )


@router.get("", response_model=list[PlacePublic])
def search_places(
    session: SessionDep,
    q: str | None = Query(default=None, max_length=100, description="part of a name or kind"),
) -> list[PlacePublic]:
    """Named places, optionally filtered by a case-insensitive part of the name or kind."""
    statement = select(NamedPlace).order_by(col(NamedPlace.id))
    if q:
        pattern = f"%{q.lower()}%"
        statement = statement.where(
            or_(
                col(NamedPlace.name).ilike(pattern),
                col(NamedPlace.name_ja).ilike(pattern),
                col(NamedPlace.kind).ilike(pattern),
                col(NamedPlace.id).ilike(pattern),
            )
        )
    return [_public(row) for row in session.exec(statement)]


@router.get("/{place_id}", response_model=PlacePublic, responses={404: {"model": ErrorPublic}})
def read_place(place_id: str, session: SessionDep) -> PlacePublic:
    """One named place."""
    row = session.get(NamedPlace, place_id) if len(place_id) <= 64 else None
    if row is None:
        raise Problem(404, f"no place {place_id!r}; list them with GET /v1/places")
    return _public(row)
