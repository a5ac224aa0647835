"""Key performance indicators computed from an event log's records.

The KPIs read only the records (see :mod:`simulations.eventlog`), so a hand-made log can check
the arithmetic. Definitions:

- ``served_share``: completed requests (a ``dropoff``) / all requests.
- ``rejections``: count of each rejection reason (``rejected`` and ``book_failed``); rider
  outcomes ``declined``, ``cancelled`` and ``no_show`` are counted apart.
- ``wait_mean_s`` / ``wait_p90_s``: pickup time minus the moment the rider was at the stop
  (``ready_t``, the start of the promised pickup window), over picked-up requests.
- ``walk_mean_m``: pickup plus drop-off walking metres per served request.
- ``in_vehicle_mean_s``: ride time per served request: arrival at the drop-off stop minus the
  departure from the pickup stop (``leave_t``, the end of boarding), as in the DARP literature.
- ``detour_mean``: ride time / direct driving time between the two stops.
- ``on_time_share``: served arrive-by requests dropped off no later than ``arrive_by``.
- ``occupancy``: rider-metres / vehicle-metres driven (mean riders on board per km driven).
- ``pooled_share``: served requests whose ride overlapped another request's ride in the same
  vehicle.
- ``vehicle_km`` / ``empty_km``: metres driven / driven with nobody on board, in km.
- ``vehicle_hours``: time vehicles were working (driving, dwelling, waiting at stops), in
  hours; idle time between jobs is not counted.
- ``passengers_per_vehicle_hour``: served riders (passengers of served requests) / vehicle hours.
- ``vehicle_hours_per_served_rider``: the inverse.
- ``reoptimizations`` / ``_adopted`` / ``_failed``: re-optimization runs with something to
  optimize, those whose plans were adopted, and those the solver failed on (from the
  Dispatcher's ``Reoptimized`` events).
- ``errors``: failed engine events (``error`` records).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["KPI_LABELS", "compute_kpis", "kpi_rows", "rider_outcomes"]

KPI_LABELS: dict[str, str] = {
    "requests": "requests",
    "served": "served requests",
    "served_share": "served share",
    "served_riders": "served riders (passengers)",
    "rejected": "rejected requests",
    "declined": "offers declined by riders",
    "cancelled": "cancelled by riders",
    "no_show": "no-shows",
    "wait_mean_s": "pickup wait, mean (s)",
    "wait_p90_s": "pickup wait, 90th percentile (s)",
    "walk_mean_m": "walk per served request, mean (m)",
    "in_vehicle_mean_s": "in-vehicle time, mean (s)",
    "detour_mean": "detour factor, mean",
    "on_time_share": "on-time arrival (arrive-by)",
    "occupancy": "occupancy (riders per vehicle-km)",
    "pooled_share": "pooled share",
    "vehicle_km": "vehicle-km",
    "empty_km": "empty km",
    "vehicle_hours": "vehicle-hours (working)",
    "passengers_per_vehicle_hour": "passengers per vehicle-hour",
    "vehicle_hours_per_served_rider": "vehicle-hours per served rider",
    "reoptimizations": "re-optimizations run",
    "reoptimizations_adopted": "re-optimizations adopted",
    "reoptimizations_failed": "re-optimizations failed (solver error)",
    "errors": "failed events (logged)",
}


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _p90(values: Sequence[float]) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), 90)) if values else None


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def rider_outcomes(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Final outcome of every request id: served, rejected, declined, cancelled, no_show, ..."""
    outcome: dict[str, str] = {}
    for record in records:
        kind = record["type"]
        if kind == "request":
            outcome[record["id"]] = "open"
        elif kind == "rejected" or kind == "book_failed":
            outcome[record["id"]] = "rejected"
        elif kind == "declined":
            outcome[record["id"]] = "declined"
        elif kind == "booked":
            outcome[record["id"]] = "booked"
        elif kind == "cancel":
            outcome[record["id"]] = "cancelled"
        elif kind == "no_show":
            outcome[record["id"]] = "no_show"
        elif kind == "pickup":
            outcome[record["id"]] = "onboard"
        elif kind == "dropoff":
            outcome[record["id"]] = "served"
    return outcome


def compute_kpis(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The KPI table (see the module docstring) as a flat mapping; ``None`` when undefined.

    ``rejections`` is a nested mapping reason -> count.
    """
    requests: dict[str, Mapping[str, Any]] = {}
    offered: dict[str, Mapping[str, Any]] = {}
    booked: dict[str, Mapping[str, Any]] = {}
    pickups: dict[str, Mapping[str, Any]] = {}
    dropoffs: dict[str, Mapping[str, Any]] = {}
    rejections: Counter[str] = Counter()
    declined = cancelled = no_show = errors = 0
    reopt_runs = reopt_adopted = reopt_failed = 0
    drive_m = empty_m = 0.0
    rider_m = 0.0
    working_s = 0.0
    for record in records:
        kind = record["type"]
        if kind == "request":
            requests[record["id"]] = record
        elif kind == "offered":
            offered[record["id"]] = record
        elif kind in ("rejected", "book_failed"):
            rejections[str(record["reason"])] += 1
        elif kind == "declined":
            declined += 1
        elif kind == "booked":
            booked[record["id"]] = record
        elif kind == "cancel":
            cancelled += 1
        elif kind == "no_show":
            no_show += 1
        elif kind == "pickup":
            pickups[record["id"]] = record
        elif kind == "dropoff":
            dropoffs[record["id"]] = record
        elif kind == "drive":
            metres = float(record["m"])
            drive_m += metres
            rider_m += metres * float(record["load"])
            if record["load"] == 0:
                empty_m += metres
            working_s += float(record["t1"]) - float(record["t0"])
        elif kind in ("service", "wait"):
            working_s += float(record["t1"]) - float(record["t0"])
        elif kind == "error":
            errors += 1
        elif kind == "dispatch" and record.get("event") == "Reoptimized":
            if record.get("reason") != "nothing to optimize":
                reopt_runs += 1
            reopt_adopted += bool(record.get("adopted"))
            reopt_failed += str(record.get("reason", "")).startswith("solver failed")

    served_ids = [rid for rid in dropoffs if rid in pickups]
    waits = [float(p["t"]) - float(p["ready_t"]) for p in pickups.values()]
    walks = [
        float(offered[rid]["pickup_walk_m"]) + float(offered[rid]["dropoff_walk_m"])
        for rid in served_ids
        if rid in offered
    ]
    ride = {
        rid: float(dropoffs[rid]["t"]) - float(pickups[rid].get("leave_t", pickups[rid]["t"]))
        for rid in served_ids
    }
    in_vehicle = list(ride.values())
    detours = [
        ride[rid] / float(booked[rid]["direct_s"])
        for rid in served_ids
        if rid in booked and float(booked[rid]["direct_s"]) > 0
    ]
    arrive_by = [
        (float(dropoffs[rid]["t"]), float(requests[rid]["arrive_by"]))
        for rid in served_ids
        if rid in requests and requests[rid].get("arrive_by") is not None
    ]
    on_time = [arrival <= deadline for arrival, deadline in arrive_by]

    # Pooled: another ride in the same vehicle overlapped this one (open intervals).
    rides_by_vehicle: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for rid in served_ids:
        rides_by_vehicle[str(pickups[rid]["vehicle"])].append(
            (float(pickups[rid]["t"]), float(dropoffs[rid]["t"]), rid)
        )
    pooled: set[str] = set()
    for rides in rides_by_vehicle.values():
        for i, (start_i, end_i, rid_i) in enumerate(rides):
            for start_j, end_j, rid_j in rides[i + 1 :]:
                if start_i < end_j and start_j < end_i:
                    pooled.add(rid_i)
                    pooled.add(rid_j)

    served_riders = sum(int(requests[rid]["passengers"]) for rid in served_ids if rid in requests)
    n_requests = len(requests)
    vehicle_hours = working_s / 3600.0
    return {
        "requests": n_requests,
        "served": len(served_ids),
        "served_share": _ratio(len(served_ids), n_requests),
        "served_riders": served_riders,
        "rejected": sum(rejections.values()),
        "rejections": dict(sorted(rejections.items())),
        "declined": declined,
        "cancelled": cancelled,
        "no_show": no_show,
        "wait_mean_s": _mean(waits),
        "wait_p90_s": _p90(waits),
        "walk_mean_m": _mean(walks),
        "in_vehicle_mean_s": _mean(in_vehicle),
        "detour_mean": _mean(detours),
        "on_time_share": _ratio(sum(on_time), len(on_time)),
        "occupancy": _ratio(rider_m, drive_m),
        "pooled_share": _ratio(len(pooled), len(served_ids)),
        "vehicle_km": drive_m / 1000.0,
        "empty_km": empty_m / 1000.0,
        "vehicle_hours": vehicle_hours,
        "passengers_per_vehicle_hour": _ratio(served_riders, vehicle_hours),
        "vehicle_hours_per_served_rider": _ratio(vehicle_hours, served_riders),
        "reoptimizations": reopt_runs,
        "reoptimizations_adopted": reopt_adopted,
        "reoptimizations_failed": reopt_failed,
        "errors": errors,
    }


def _format(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("_share"):
        return f"{100 * value:.1f} %"
    if isinstance(value, float):
        if key.endswith(("_s", "_m")):
            return f"{value:.0f}"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def kpi_rows(kpis: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, formatted value)`` rows for a table, rejection reasons indented under them."""
    rows: list[tuple[str, str]] = []
    for key, label in KPI_LABELS.items():
        if key not in kpis:
            continue
        rows.append((label, _format(key, kpis[key])))
        if key == "rejected":
            for reason, count in kpis.get("rejections", {}).items():
                rows.append((f"  rejected: {reason}", str(count)))
    return rows
