"""The FastAPI application factory.

``create_app(settings)`` builds nothing at import time. Its lifespan loads the service area,
opens and migrates the database, stores the operator token's hash (printing a generated token
at the first start), rebuilds every stored day and starts the periodic work. The
:class:`api.service.DispatchService` is then reachable as ``app.state.service`` (dependency
``api.deps.ServiceDep``); later routers (driver websocket, operator console, TV) are added with
``app.include_router`` or through ``extra_routers``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from api.area import ServiceAreaBundle, build_service_area
from api.auth import ensure_operator_token
from api.routers import (
    bookings,
    console,
    drivers,
    households,
    live,
    me,
    operator,
    pages,
    places,
    quotes,
    riders,
    tv,
    vehicles,
)
from api.service import DispatchService, Problem
from api.settings import Settings
from api.storage.engine import make_engine, migrate
from api.timeutil import ServiceClock, zone
from dispatch.errors import (
    InvalidRequestError,
    InvalidTransitionError,
    OfferError,
    UnknownRequestError,
    UnknownVehicleError,
)
from routing.errors import PointOffMapError

__all__ = ["create_app"]

log = logging.getLogger("noriai.api")

ROUTERS: tuple[APIRouter, ...] = (
    riders.router,
    me.router,
    quotes.router,
    bookings.router,
    live.router,
    places.router,
    vehicles.router,
    operator.router,
    drivers.router,
    console.router,
    pages.router,
    households.router,
    tv.router,
    tv.page_router,
)


def _problem(status_code: int, detail: str, reason: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status_code, content={"detail": detail, "reason": reason})


def _validation_detail(error: RequestValidationError) -> list[dict[str, object]]:
    details = []
    for item in error.errors():
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        details.append({"loc": list(item.get("loc", ())), "msg": message, "type": item.get("type")})
    return details


def install_error_handlers(app: FastAPI) -> None:
    """Map known errors to 4xx bodies ``{detail, reason}``; anything else to a bare 500."""

    @app.exception_handler(Problem)
    async def _on_problem(_request: Request, error: Problem) -> JSONResponse:
        return _problem(error.status_code, error.detail, error.reason)

    @app.exception_handler(RequestValidationError)
    async def _on_validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _validation_detail(error)})

    @app.exception_handler(OfferError)
    async def _on_offer(_request: Request, error: OfferError) -> JSONResponse:
        return _problem(410, f"{error}; ask for a new quote", error.reason)

    @app.exception_handler(UnknownRequestError)
    async def _on_unknown_request(_request: Request, error: UnknownRequestError) -> JSONResponse:
        return _problem(404, str(error))

    @app.exception_handler(UnknownVehicleError)
    async def _on_unknown_vehicle(_request: Request, error: UnknownVehicleError) -> JSONResponse:
        return _problem(404, str(error))

    @app.exception_handler(InvalidRequestError)
    async def _on_invalid(_request: Request, error: InvalidRequestError) -> JSONResponse:
        return _problem(422, str(error), "invalid_request")

    @app.exception_handler(InvalidTransitionError)
    async def _on_transition(_request: Request, error: InvalidTransitionError) -> JSONResponse:
        return _problem(409, str(error), "invalid_transition")

    @app.exception_handler(PointOffMapError)
    async def _on_off_map(_request: Request, error: PointOffMapError) -> JSONResponse:
        return _problem(422, str(error), "outside_service_area")

    @app.exception_handler(DataError)
    async def _on_data(_request: Request, _error: DataError) -> JSONResponse:
        return _problem(422, "a value cannot be stored (for example a NUL character); fix it")

    @app.exception_handler(IntegrityError)
    async def _on_integrity(_request: Request, _error: IntegrityError) -> JSONResponse:
        return _problem(409, "this conflicts with stored data (duplicate id?); retry or change it")

    @app.exception_handler(Exception)
    async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return _problem(500, "internal error; it was logged, please retry later")


GC_FREEZE_EVERY_S = 5.0
GC_FULL_EVERY_S = 600.0


async def _short_gc_pauses() -> None:
    """Keep the cyclic collector's pauses short under a steady stream of quotes.

    Open quotes live for their offers' validity (two minutes): at 200 quotes/s that is
    ~400,000 objects, and every full collection walks all of them (measured: pauses growing
    24 -> 52 -> 112 ms within 30 s of load, every request in flight waiting). So every
    ``GC_FREEZE_EVERY_S`` the survivors are frozen (``gc.freeze``: still freed by reference
    counting when dropped, only no longer walked), and every ``GC_FULL_EVERY_S`` everything is
    unfrozen and collected once, so that reference cycles frozen meanwhile are not kept.
    """
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(GC_FREEZE_EVERY_S)
        if time.monotonic() - last_full >= GC_FULL_EVERY_S:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        else:
            gc.collect(1)  # the young generations (cheap): their garbage is not frozen
        gc.freeze()


def create_app(
    settings: Settings,
    *,
    bundle: ServiceAreaBundle | None = None,
    clock: ServiceClock | None = None,
    background: bool = True,
    extra_routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """Build the application; heavy work happens in its lifespan, not here.

    Parameters
    ----------
    settings : Settings
        Validated settings.
    bundle : ServiceAreaBundle, optional
        A prebuilt service area (tests share one); built from ``settings`` otherwise.
    clock : ServiceClock, optional
        Injected clock (tests); the real clock in the service time zone otherwise.
    background : bool
        Run the periodic tick and re-optimization tasks.
    extra_routers : sequence of APIRouter
        Routers of later adapters to include.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        area = bundle if bundle is not None else build_service_area(settings)
        engine = make_engine(settings.db_url)
        migrate(engine)
        token = ensure_operator_token(
            engine,
            settings.operator_token.get_secret_value() if settings.operator_token else None,
        )
        if token is not None:
            print(
                f"noriai: generated operator token (shown once, stored hashed): {token}",
                file=sys.stderr,
                flush=True,
            )
        service = DispatchService(
            settings=settings,
            engine=engine,
            bundle=area,
            clock=clock if clock is not None else ServiceClock(zone(settings.timezone)),
        )
        app.state.service = service
        await service.start(background=background)
        # Everything built so far (map, stops, modules, restored days) lives as long as the
        # process: move it out of the cyclic collector's reach. Otherwise each full collection
        # walks those ~200,000 objects again, a pause of 100-200 ms on a small machine that
        # stalls every request in flight. Objects are still freed by reference counting.
        gc.collect()
        gc.freeze()
        collector = asyncio.create_task(_short_gc_pauses()) if background else None
        try:
            yield
        finally:
            if collector is not None:
                collector.cancel()
            await service.stop()
            engine.dispose()

    app = FastAPI(
        title="Noriai",
        summary="On-demand bus booking and dispatch",
        version="1",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (*ROUTERS, *extra_routers):
        app.include_router(router)

    @app.get("/healthz", tags=["meta"])
    async def health(request: Request) -> dict[str, object]:
        """Liveness and what was restored at start."""
        service: DispatchService = request.app.state.service
        return {"ok": True, "area": service.bundle.description, "restored": service.startup_report}

    return app
