"""Bearer tokens for riders, the operator and vehicle drivers. Only SHA-256 hashes are stored.

Tokens are 256-bit random strings with a role prefix (``nr_r_`` rider, ``nr_o_`` operator,
``nr_v_`` vehicle), so an unsalted SHA-256 is enough to make a leaked table useless.
A missing or unknown token is 401; a valid token of the wrong role is 403.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from api.storage.models import Meta, Rider, VehicleRow

__all__ = [
    "OPERATOR_HASH_KEY",
    "OperatorDep",
    "OptionalPrincipalDep",
    "Principal",
    "PrincipalDep",
    "RiderDep",
    "Role",
    "ensure_operator_token",
    "hash_token",
    "new_token",
    "principal_for_token",
]

OPERATOR_HASH_KEY = "operator_token_sha256"


class Role(StrEnum):
    """Who is calling."""

    RIDER = "rider"
    OPERATOR = "operator"
    VEHICLE = "vehicle"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: role and id (rider id, vehicle id, or "operator")."""

    role: Role
    id: str

    @property
    def key(self) -> str:
        """A stable string naming the caller (used to scope idempotency keys)."""
        return f"{self.role.value}:{self.id}"


_PREFIX = {Role.RIDER: "nr_r_", Role.OPERATOR: "nr_o_", Role.VEHICLE: "nr_v_"}


def new_token(role: Role) -> str:
    """A fresh random bearer token for ``role``."""
    return _PREFIX[role] + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Hex SHA-256 of a token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_operator_token(engine: Engine, configured: str | None) -> str | None:
    """Store the operator token's hash; return a newly generated token to print, else None.

    ``configured`` (``NORIAI_OPERATOR_TOKEN``) replaces any stored hash. Without it, a token is
    generated only at the first start (no hash stored yet).
    """
    with Session(engine) as session:
        row = session.get(Meta, OPERATOR_HASH_KEY)
        generated: str | None = None
        if configured:
            value = hash_token(configured)
        elif row is None:
            generated = new_token(Role.OPERATOR)
            value = hash_token(generated)
        else:
            return None
        if row is None:
            session.add(Meta(key=OPERATOR_HASH_KEY, value=value))
        else:
            row.value = value
            session.add(row)
        session.commit()
        return generated


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The caller a token belongs to, or None when unknown."""
    digest = hash_token(token)
    if token.startswith(_PREFIX[Role.RIDER]):
        rider = session.exec(select(Rider).where(Rider.token_hash == digest)).first()
        return Principal(Role.RIDER, rider.id) if rider else None
    if token.startswith(_PREFIX[Role.VEHICLE]):
        vehicle = session.exec(
            select(VehicleRow).where(VehicleRow.driver_token_hash == digest)
        ).first()
        if vehicle is None or vehicle.retired_at is not None:
            return None
        return Principal(Role.VEHICLE, vehicle.id)
    meta = session.get(Meta, OPERATOR_HASH_KEY)
    if meta is not None and secrets.compare_digest(meta.value, digest):
        return Principal(Role.OPERATOR, "operator")
    return None


_bearer = HTTPBearer(auto_error=False, description="A rider, operator or vehicle token")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": "Bearer"},
    )


# The dependencies are ``async``: FastAPI runs a plain ``def`` dependency on a worker thread,
# and that hand-off (twice per request, GIL hand-over included) cost more than the check itself.
# Only the token lookup, which reads storage, goes to a thread.


def _principal_from_storage(engine: Engine, token: str) -> Principal | None:
    with Session(engine) as session:
        return principal_for_token(session, token)


async def _optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        if request.headers.get("authorization"):
            raise _unauthorized("Authorization header must be 'Bearer <token>'")
        return None
    engine: Engine = request.app.state.service.engine
    principal = await run_in_threadpool(_principal_from_storage, engine, credentials.credentials)
    if principal is None:
        raise _unauthorized("unknown or revoked token; register with POST /v1/riders")
    return principal


async def _principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise _unauthorized("this endpoint needs 'Authorization: Bearer <token>'")
    return principal


async def _rider(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if principal.role is not Role.RIDER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs a rider token")
    return principal


async def _operator(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if principal.role is not Role.OPERATOR:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs the operator token")
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(_optional_principal)]
PrincipalDep = Annotated[Principal, Depends(_principal)]
RiderDep = Annotated[Principal, Depends(_rider)]
OperatorDep = Annotated[Principal, Depends(_operator)]
