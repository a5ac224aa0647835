"""FastAPI dependency aliases shared by the routers (``Annotated`` style)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.service import DispatchService

__all__ = ["ServiceDep", "SessionDep", "get_service"]


async def get_service(request: Request) -> DispatchService:
    """The app's :class:`DispatchService` (``app.state.service``).

    ``async`` so FastAPI calls it on the event loop (a plain ``def`` would be a thread hop).
    """
    service: DispatchService = request.app.state.service
    return service


def _session(service: Annotated[DispatchService, Depends(get_service)]) -> Iterator[Session]:
    with Session(service.engine, expire_on_commit=False) as session:
        yield session


ServiceDep = Annotated[DispatchService, Depends(get_service)]
SessionDep = Annotated[Session, Depends(_session)]
