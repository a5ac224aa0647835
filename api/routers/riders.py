"""``POST /v1/riders``: register and receive a bearer token."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Body

from api.auth import Role, hash_token, new_token
from api.deps import SessionDep
from api.schemas import RiderCreate, RiderCreated
from api.storage.models import Rider

__all__ = ["router"]

router = APIRouter(prefix="/v1/riders", tags=["rider"])


@router.post("", response_model=RiderCreated, status_code=201)
def register_rider(
    session: SessionDep, body: Annotated[RiderCreate | None, Body()] = None
) -> RiderCreated:
    """Register a rider. The token is shown once; keep it (we store only its hash).

    Nothing personal is stored until the rider opts in with ``PUT /v1/me/consent``.
    """
    token = new_token(Role.RIDER)
    rider = Rider(
        id="R" + secrets.token_hex(8),
        token_hash=hash_token(token),
        language=body.language if body else None,
    )
    session.add(rider)
    session.commit()
    return RiderCreated(id=rider.id, token=token, consent_personal_data=False)
