"""The driver tablet page ``/driver`` and the operator console page ``/operator``.

Plain HTML, CSS and JavaScript from ``api/static`` with a Content-Security-Policy that allows
only this server (and its websocket), so the pages load nothing from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.service import Problem

__all__ = ["CONTENT_SECURITY_POLICY", "router"]

router = APIRouter(tags=["pages"], include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
ASSETS = {
    "driver.js": "text/javascript",
    "driver.css": "text/css",
    "operator.js": "text/javascript",
    "operator.css": "text/css",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}


def _file(name: str, media_type: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=_HEADERS)


@router.get("/driver")
async def driver_page() -> FileResponse:
    """The driver tablet page (token and vehicle from ``#token=...&vehicle=...`` or a form)."""
    return _file("driver.html", "text/html")


@router.get("/operator")
async def operator_page() -> FileResponse:
    """The operator console page (operator token from ``#token=...`` or a form)."""
    return _file("operator.html", "text/html")


@router.get("/pages/{name}")
async def page_asset(name: str) -> FileResponse:
    """Scripts and styles of the two pages."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise Problem(404, f"no page asset {name[:40]}; use one of {', '.join(sorted(ASSETS))}")
    return _file(name, media_type)
