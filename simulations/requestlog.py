"""Request logs: the demand of a day as CSV or JSON, read and written.

Columns (CSV header, or keys of each JSON object in a list):

=================  ==========================================================================
``id``             request id (optional; ``r0001`` .. in file order when missing)
``request_time``   when the rider asked: ``"HH:MM"``, ``"HH:MM:SS"`` or seconds since midnight
``origin_lat``     origin latitude, degrees
``origin_lon``     origin longitude, degrees
``destination_lat`` destination latitude, degrees
``destination_lon`` destination longitude, degrees
``arrive_by``      appointment time (same formats as ``request_time``), or empty
``depart_at``      earliest departure (same formats), or empty; exactly one of the two is set
``passengers``     riders travelling together, >= 1 (default 1)
``wheelchair``     wheelchair users among them, 0 .. passengers (default 0; true counts as 1)
``door_to_door``   optional, true/false (default false)
=================  ==========================================================================

Times are written back as ``HH:MM:SS`` and coordinates with ``repr`` precision, so writing a
log and reading it again gives identical requests.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dispatch.model import Request
from routing.types import LatLon
from simulations.demand import DemandRequest, sorted_demand
from simulations.errors import RequestLogError, ScenarioError
from simulations.scenario import format_clock, parse_clock

__all__ = [
    "COLUMNS",
    "read_request_log",
    "request_from_row",
    "request_to_row",
    "rows_to_demand",
    "write_request_log",
]

COLUMNS = (
    "id",
    "request_time",
    "origin_lat",
    "origin_lon",
    "destination_lat",
    "destination_lon",
    "arrive_by",
    "depart_at",
    "passengers",
    "wheelchair",
    "door_to_door",
)


def request_to_row(item: DemandRequest) -> dict[str, Any]:
    """One request as a JSON-friendly row (times as ``HH:MM:SS``)."""
    request = item.request
    return {
        "id": request.id,
        "request_time": format_clock(item.request_time),
        "origin_lat": request.origin.lat,
        "origin_lon": request.origin.lon,
        "destination_lat": request.destination.lat,
        "destination_lon": request.destination.lon,
        "arrive_by": None if request.arrive_by is None else format_clock(request.arrive_by),
        "depart_at": None if request.depart_at is None else format_clock(request.depart_at),
        "passengers": request.passengers,
        "wheelchair": request.wheelchairs,
        "door_to_door": request.door_to_door,
    }


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _clock(value: Any, *, row: int, field: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    try:
        return parse_clock(value, key=field)
    except ScenarioError as error:
        raise RequestLogError(f"row {row}: {error}") from None


def _float(value: Any, *, row: int, field: str, bound: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RequestLogError(
            f"row {row}: {field} = {value!r} is not a number of degrees"
        ) from None
    if not -bound <= number <= bound:
        raise RequestLogError(f"row {row}: {field} = {number} is outside -{bound}..{bound}")
    return number


def _int(value: Any, *, row: int, field: str, default: int) -> int:
    if _empty(value):
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return 1 if value.strip().lower() == "true" else 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RequestLogError(f"row {row}: {field} = {value!r} is not a whole number") from None
    if number != int(number):
        raise RequestLogError(f"row {row}: {field} = {value!r} is not a whole number")
    return int(number)


def _bool(value: Any, *, row: int, field: str) -> bool:
    if _empty(value):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise RequestLogError(f"row {row}: {field} = {value!r}: write true or false")


def request_from_row(
    row: Mapping[str, Any], *, number: int, door_to_door: bool = False
) -> DemandRequest:
    """Parse one row (1-based ``number`` for messages) into a :class:`DemandRequest`.

    ``door_to_door`` is the default when the row has no ``door_to_door`` value.
    """
    missing = [
        key
        for key in (
            "request_time",
            "origin_lat",
            "origin_lon",
            "destination_lat",
            "destination_lon",
        )
        if _empty(row.get(key))
    ]
    if missing:
        raise RequestLogError(f"row {number}: missing {missing}; columns are {list(COLUMNS)}")
    arrive_by = None if _empty(row.get("arrive_by")) else row.get("arrive_by")
    depart_at = None if _empty(row.get("depart_at")) else row.get("depart_at")
    if (arrive_by is None) == (depart_at is None):
        raise RequestLogError(f"row {number}: set exactly one of arrive_by and depart_at")
    passengers = _int(row.get("passengers"), row=number, field="passengers", default=1)
    wheelchairs = _int(row.get("wheelchair"), row=number, field="wheelchair", default=0)
    if passengers < 1:
        raise RequestLogError(f"row {number}: passengers = {passengers}: must be >= 1")
    if not 0 <= wheelchairs <= passengers:
        raise RequestLogError(
            f"row {number}: wheelchair = {wheelchairs}: must be 0 .. passengers ({passengers})"
        )
    request_id = row.get("id")
    request = Request(
        id=str(request_id) if not _empty(request_id) else f"r{number:04d}",
        origin=LatLon(
            _float(row["origin_lat"], row=number, field="origin_lat", bound=90.0),
            _float(row["origin_lon"], row=number, field="origin_lon", bound=180.0),
        ),
        destination=LatLon(
            _float(row["destination_lat"], row=number, field="destination_lat", bound=90.0),
            _float(row["destination_lon"], row=number, field="destination_lon", bound=180.0),
        ),
        arrive_by=None if arrive_by is None else _clock(arrive_by, row=number, field="arrive_by"),
        depart_at=None if depart_at is None else _clock(depart_at, row=number, field="depart_at"),
        passengers=passengers,
        wheelchairs=wheelchairs,
        door_to_door=(
            door_to_door
            if _empty(row.get("door_to_door"))
            else _bool(row.get("door_to_door"), row=number, field="door_to_door")
        ),
    )
    return DemandRequest(
        request_time=_clock(row["request_time"], row=number, field="request_time"),
        request=request,
    )


def rows_to_demand(
    rows: Iterable[Mapping[str, Any]], *, door_to_door: bool = False
) -> list[DemandRequest]:
    """Parse rows; ids must be unique. Returned in submission order (time, then id)."""
    out = [
        request_from_row(row, number=i, door_to_door=door_to_door)
        for i, row in enumerate(rows, start=1)
    ]
    seen: set[str] = set()
    for item in out:
        if item.request.id in seen:
            raise RequestLogError(
                f"request id {item.request.id!r} appears twice; ids must be unique"
            )
        seen.add(item.request.id)
    return sorted_demand(out)


def read_request_log(path: Path | str, *, door_to_door: bool = False) -> list[DemandRequest]:
    """Read a ``.csv`` or ``.json`` request log.

    Raises
    ------
    RequestLogError
        When the file is missing or a row is malformed (the row number and field are named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequestLogError(f"request log {path} does not exist; check demand.log") from None
    except OSError as error:
        raise RequestLogError(f"cannot read request log {path}: {error}") from error
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise RequestLogError(f"{path} is not valid JSON: {error}") from error
        if isinstance(data, Mapping):
            data = data.get("requests")
        if not isinstance(data, list) or not all(isinstance(row, Mapping) for row in data):
            raise RequestLogError(
                f'{path}: expected a JSON list of request objects (or {{"requests": [...]}})'
            )
        return rows_to_demand(data, door_to_door=door_to_door)
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        return rows_to_demand(list(reader), door_to_door=door_to_door)
    raise RequestLogError(f"{path}: a request log must end in .csv or .json")


def write_request_log(path: Path | str, requests: Sequence[DemandRequest]) -> Path:
    """Write requests as ``.csv`` or ``.json`` (chosen by the suffix); returns the path."""
    path = Path(path)
    rows = [request_to_row(item) for item in requests]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path
    if path.suffix.lower() != ".csv":
        raise RequestLogError(f"{path}: a request log must end in .csv or .json")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ("" if v is None else repr(v) if isinstance(v, float) else v)
                for k, v in row.items()
            }
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
