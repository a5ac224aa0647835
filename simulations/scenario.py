"""Scenario files (TOML): map, stops, fleet, service rules, demand, riders, seed and policy.

A scenario is read once, validated completely, and turned into frozen dataclasses. Every bad
value raises :class:`simulations.errors.ScenarioError` naming the key (``fleet.vehicles``) and
what is allowed. Clock times are written ``"07:00"`` or ``"07:00:30"`` in the file and become
integer seconds since the service day's midnight.

The raw TOML mapping is kept on the scenario (``Scenario.raw``) so that an event log can embed
it and ``noriai replay`` can rebuild the exact same scenario; :func:`with_overrides` changes
dotted keys (``fleet.vehicles=6``) for sweeps.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dispatch.params import ServiceParams
from routing.types import LatLon, Seconds
from simulations.errors import ScenarioError
from simulations.policies import POLICIES, apply_policy

__all__ = [
    "POLICIES",
    "SIMULATION_SOLUTION_LIMIT",
    "DemandSpec",
    "Destination",
    "FleetSpec",
    "MapSpec",
    "RiderSpec",
    "Scenario",
    "StopsSpec",
    "format_clock",
    "load_scenario",
    "parse_clock",
    "parse_override",
    "scenario_from_mapping",
    "shared_data_dir",
    "with_overrides",
]

MAP_KINDS = ("osm", "place", "synthetic")

SIMULATION_SOLUTION_LIMIT = 5
"""``service.reoptimize_solution_limit`` when a scenario does not set it. Simulations use this
deterministic solver budget (the same seed gives the same day) where the live service defaults
to the wall-clock limit alone (0); a scenario may set 0 to get that back. Five solutions took
0.28 s per re-optimization on average on a 300-request, 20-vehicle north-bayreuth day (the
benchmark's setup), close to the 0.27 s of its 0.25 s time limit."""


def shared_data_dir() -> Path:
    """``NORIAI_SHARED_DATA`` or ``../shared/data`` beside the project checkout."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("NORIAI_SHARED_DATA", default)).resolve()


def parse_clock(value: Any, *, key: str) -> Seconds:
    """``"07:00"``, ``"07:00:30"`` or an integer number of seconds -> seconds since midnight.

    Hours may exceed 23 (``"25:30"``) for service days that run past midnight.
    """
    if isinstance(value, bool):
        raise ScenarioError(f'{key} = {value!r}: write a clock time such as "07:00"')
    if isinstance(value, int):
        if value < 0:
            raise ScenarioError(f"{key} = {value}: seconds since midnight must be >= 0")
        return value
    if isinstance(value, str):
        parts = value.strip().split(":")
        if len(parts) in (2, 3) and all(part.isdigit() for part in parts):
            hours, minutes = int(parts[0]), int(parts[1])
            secs = int(parts[2]) if len(parts) == 3 else 0
            if minutes < 60 and secs < 60:
                return hours * 3600 + minutes * 60 + secs
    raise ScenarioError(f'{key} = {value!r}: write a clock time such as "07:00" or "07:00:30"')


def format_clock(seconds: Seconds) -> str:
    """Seconds since midnight -> ``"HH:MM:SS"`` (hours may exceed 23)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


@dataclass(frozen=True, slots=True)
class MapSpec:
    """Where the road graph comes from.

    Attributes
    ----------
    kind : str
        ``"osm"`` (an .osm/.osm.bz2 file), ``"place"`` (OSMnx by name, online) or ``"synthetic"``.
    osm_path : Path or None
        Resolved file path for ``kind == "osm"``.
    place : str or None
        Place name for ``kind == "place"``.
    synthetic_rows, synthetic_cols : int
        Grid size of the synthetic town (nodes per side).
    synthetic_spacing_m : int
        Block length of the synthetic town, metres.
    synthetic_seed : int
        Seed of the synthetic town's street pattern.
    """

    kind: str
    osm_path: Path | None = None
    place: str | None = None
    synthetic_rows: int = 30
    synthetic_cols: int = 30
    synthetic_spacing_m: int = 120
    synthetic_seed: int = 7

    def describe(self) -> str:
        """One human line naming the map."""
        if self.kind == "osm":
            return f"OpenStreetMap extract {self.osm_path}"
        if self.kind == "place":
            return f"OpenStreetMap place {self.place!r} (via OSMnx)"
        return (
            f"synthetic town {self.synthetic_rows}x{self.synthetic_cols}, "
            f"{self.synthetic_spacing_m} m blocks, seed {self.synthetic_seed}"
        )


@dataclass(frozen=True, slots=True)
class StopsSpec:
    """Virtual stops.

    Attributes
    ----------
    spacing_m : int
        Target spacing of generated stops along suitable roads, metres.
    file : Path or None
        A GeoJSON/CSV stop file instead of generating them.
    door_to_door : bool
        True: every request is door-to-door (``Request.door_to_door``), as in Minato.
    """

    spacing_m: int = 250
    file: Path | None = None
    door_to_door: bool = False


@dataclass(frozen=True, slots=True)
class FleetSpec:
    """The fleet.

    Attributes
    ----------
    vehicles : int
        Number of vehicles (ids ``bus-1`` ..).
    seats, wheelchair_places : int
        Capacity of every vehicle.
    shift_start, shift_end : Seconds
        Every vehicle's shift, seconds since midnight.
    depots : tuple of LatLon
        Depot points, assigned round-robin; empty means the node nearest the map's centre.
    """

    vehicles: int = 4
    seats: int = 8
    wheelchair_places: int = 1
    shift_start: Seconds = 7 * 3600
    shift_end: Seconds = 19 * 3600
    depots: tuple[LatLon, ...] = ()


@dataclass(frozen=True, slots=True)
class Destination:
    """A place people go (hospital, station, school, shop, city hall) with a relative weight."""

    name: str
    point: LatLon
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class DemandSpec:
    """Demand: a seeded generator's parameters or a request log.

    Attributes
    ----------
    requests : int
        Number of generated requests (ignored when ``log`` is set).
    log : Path or None
        A CSV or JSON request log to replay instead of generating.
    arrive_by_share : float
        Share of requests with an appointment time (``arrive_by``); the rest are depart-at.
    peak : Seconds
        Centre of the morning appointment peak, seconds since midnight.
    peak_spread_s : Seconds
        Standard deviation of appointment times around ``peak``.
    peak_share : float
        Share of arrive-by requests in the peak; the rest spread evenly over the day.
    lead_min_s, lead_max_s : Seconds
        How long before the appointment (or departure) riders ask, uniform in this range.
    group_sizes : tuple of float
        Probability of a group of 1, 2, 3, ... riders (sums to 1).
    wheelchair_share : float
        Probability that a request includes one wheelchair user.
    residential_weight : float
        How much more likely an origin lies on a ``highway=residential`` street than elsewhere.
    destinations : tuple of Destination
        Configured places people go; empty means arterial roads near the centre.
    """

    requests: int = 100
    log: Path | None = None
    arrive_by_share: float = 0.75
    peak: Seconds = 9 * 3600 + 30 * 60
    peak_spread_s: Seconds = 3600
    peak_share: float = 0.7
    lead_min_s: Seconds = 900
    lead_max_s: Seconds = 7200
    group_sizes: tuple[float, ...] = (0.8, 0.15, 0.05)
    wheelchair_share: float = 0.03
    residential_weight: float = 4.0
    destinations: tuple[Destination, ...] = ()


@dataclass(frozen=True, slots=True)
class RiderSpec:
    """Rider behaviour (all seeded).

    Attributes
    ----------
    no_show_rate : float
        Probability that a booked rider does not appear at the stop.
    cancel_rate : float
        Probability that a booked rider cancels before the pickup.
    decline_rate : float
        Probability that a rider lets the best offer expire instead of booking it.
    no_show_wait_s : Seconds
        How long a vehicle waits after the pickup window opens before reporting a no-show.
    """

    no_show_rate: float = 0.03
    cancel_rate: float = 0.05
    decline_rate: float = 0.05
    no_show_wait_s: Seconds = 120


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete, validated scenario.

    Attributes
    ----------
    name : str
        Display name.
    seed : int
        Seed of every random draw (demand and rider behaviour).
    policy : str
        One of :data:`POLICIES`.
    reoptimize_interval_s : Seconds
        Re-optimization interval for ``insertion_reopt``.
    tick_interval_s : Seconds
        How often ``Dispatcher.tick`` runs (expires offers; re-optimizes when due).
    position_interval_s : Seconds
        A driving vehicle reports its position at the first node reached after this long.
    map, stops, fleet, demand, riders
        The sections.
    service : ServiceParams
        Service rules as written (before the policy is applied; see :meth:`dispatch_params`).
    raw : dict
        The TOML mapping as read (plus overrides), for embedding in event logs.
    base_dir : Path
        Directory relative paths (stops file, request log) are resolved against.
    """

    name: str
    seed: int
    policy: str
    reoptimize_interval_s: Seconds
    tick_interval_s: Seconds
    position_interval_s: Seconds
    map: MapSpec
    stops: StopsSpec
    fleet: FleetSpec
    service: ServiceParams
    demand: DemandSpec
    riders: RiderSpec
    raw: Mapping[str, Any]
    base_dir: Path

    def dispatch_params(self) -> ServiceParams:
        """The service rules with the policy applied (pooling and re-optimization switched)."""
        return apply_policy(
            self.service, self.policy, reoptimize_interval_s=self.reoptimize_interval_s
        )


# --- validation helpers --------------------------------------------------------------------


class _Section:
    """Reads typed values from one TOML table, remembering which keys were used."""

    def __init__(self, data: Any, prefix: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ScenarioError(f"[{prefix}] must be a table, not {type(data).__name__}")
        self.data = data
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = None) -> Any:
        self.used.add(name)
        return self.data.get(name, default)

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{self.key(name)} = {value!r}: must be a whole number")
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and <= {maximum}"
            raise ScenarioError(f"{self.key(name)} = {value}: must be >= {minimum}{upper}")
        return value

    def number(
        self, name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None
    ) -> float:
        value = self.raw(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{self.key(name)} = {value!r}: must be a number")
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and <= {maximum}"
            raise ScenarioError(f"{self.key(name)} = {value}: must be >= {minimum}{upper}")
        return float(value)

    def share(self, name: str, default: float) -> float:
        return self.number(name, default, minimum=0.0, maximum=1.0)

    def text(self, name: str, default: str) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise ScenarioError(f"{self.key(name)} = {value!r}: must be a string")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name, default)
        if not isinstance(value, bool):
            raise ScenarioError(f"{self.key(name)} = {value!r}: must be true or false")
        return value

    def clock(self, name: str, default: Seconds) -> Seconds:
        return parse_clock(self.raw(name, default), key=self.key(name))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            where = f"[{self.prefix}]" if self.prefix else "the top level"
            raise ScenarioError(
                f"unknown key(s) {[self.key(k) for k in unknown]} in {where}; "
                f"allowed: {sorted(self.used)}"
            )


def _latlon(value: Any, *, key: str) -> LatLon:
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        lat, lon = float(value[0]), float(value[1])
        if -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
            return LatLon(lat, lon)
    raise ScenarioError(f"{key} = {value!r}: write [latitude, longitude] in degrees")


def _resolve(path_text: str, *, base: Path, key: str) -> Path:
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = base / path
    return path


def _map_spec(section: _Section) -> MapSpec:
    kinds = [k for k in MAP_KINDS if section.has(k)]
    if len(kinds) != 1:
        raise ScenarioError(
            f"[map] needs exactly one of {list(MAP_KINDS)} (found {kinds or 'none'}): "
            'e.g. osm = "osm/krems.osm.bz2", place = "Aizuwakamatsu, Japan" or '
            "synthetic = { rows = 30, cols = 30 }"
        )
    kind = kinds[0]
    if kind == "osm":
        text = section.text("osm", "")
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = shared_data_dir() / path
        spec = MapSpec(kind="osm", osm_path=path)
    elif kind == "place":
        spec = MapSpec(kind="place", place=section.text("place", ""))
    else:
        table = _Section(section.raw("synthetic"), "map.synthetic")
        spec = MapSpec(
            kind="synthetic",
            synthetic_rows=table.integer("rows", 30, minimum=2, maximum=1000),
            synthetic_cols=table.integer("cols", 30, minimum=2, maximum=1000),
            synthetic_spacing_m=table.integer("spacing_m", 120, minimum=10, maximum=5000),
            synthetic_seed=table.integer("seed", 7, minimum=0),
        )
        table.finish()
    section.finish()
    return spec


def _service_params(data: Any) -> ServiceParams:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ScenarioError("[service] must be a table of service rules")
    defaults = ServiceParams()
    for field_info in fields(ServiceParams):
        if field_info.name not in data:
            continue
        value = data[field_info.name]
        expected = type(getattr(defaults, field_info.name))
        ok = (
            isinstance(value, bool)
            if expected is bool
            else (isinstance(value, int | float) and not isinstance(value, bool))
            if expected is float
            else (isinstance(value, expected) and not isinstance(value, bool))
        )
        if not ok:
            raise ScenarioError(
                f"service.{field_info.name} = {value!r}: must be of type {expected.__name__}"
            )
        if expected in (int, float) and value < 0:
            raise ScenarioError(f"service.{field_info.name} = {value}: must be >= 0")
    if "pooling" in data or "reoptimize_interval_s" in data:
        raise ScenarioError(
            "service.pooling and service.reoptimize_interval_s are set by the policy: use "
            f"policy = one of {list(POLICIES)} and the top-level reoptimize_interval_s"
        )
    try:
        values = dict(data)
        if "walk_speed_mps" in values:
            values["walk_speed_mps"] = float(values["walk_speed_mps"])
        if "ride_alpha" in values:
            values["ride_alpha"] = float(values["ride_alpha"])
        if "reoptimize_time_limit_s" in values:
            values["reoptimize_time_limit_s"] = float(values["reoptimize_time_limit_s"])
        values.setdefault("reoptimize_solution_limit", SIMULATION_SOLUTION_LIMIT)
        return ServiceParams.from_mapping(values)
    except ValueError as error:
        raise ScenarioError(f"[service]: {error}") from error


def scenario_from_mapping(data: Mapping[str, Any], *, base_dir: Path) -> Scenario:
    """Validate a scenario mapping (as read from TOML) and build a :class:`Scenario`.

    Parameters
    ----------
    data : mapping
        The TOML document.
    base_dir : Path
        Directory that relative ``stops.file`` and ``demand.log`` paths are resolved against.

    Raises
    ------
    ScenarioError
        On the first bad value, naming the key and what is allowed.
    """
    top = _Section(data, "")
    name = top.text("name", "scenario")
    seed = top.integer("seed", 0)
    policy = top.text("policy", "insertion_reopt")
    if policy not in POLICIES:
        raise ScenarioError(f"policy = {policy!r}: allowed: {list(POLICIES)}")
    reoptimize_interval_s = top.integer("reoptimize_interval_s", 300, minimum=1)
    tick_interval_s = top.integer("tick_interval_s", 60, minimum=1)
    position_interval_s = top.integer("position_interval_s", 60, minimum=1)

    map_spec = _map_spec(_Section(top.raw("map"), "map"))

    stops_section = _Section(top.raw("stops"), "stops")
    stops_file = stops_section.raw("file")
    if stops_file is not None and not isinstance(stops_file, str):
        raise ScenarioError(f"stops.file = {stops_file!r}: must be a path string")
    stops = StopsSpec(
        spacing_m=stops_section.integer("spacing_m", 250, minimum=20, maximum=10000),
        file=_resolve(stops_file, base=base_dir, key="stops.file") if stops_file else None,
        door_to_door=stops_section.flag("door_to_door", False),
    )
    stops_section.finish()

    fleet_section = _Section(top.raw("fleet"), "fleet")
    depots_raw = fleet_section.raw("depots", [])
    if not isinstance(depots_raw, list):
        raise ScenarioError("fleet.depots must be a list of [latitude, longitude] pairs")
    fleet = FleetSpec(
        vehicles=fleet_section.integer("vehicles", 4, minimum=1, maximum=10000),
        seats=fleet_section.integer("seats", 8, minimum=1, maximum=200),
        wheelchair_places=fleet_section.integer("wheelchair_places", 1, minimum=0, maximum=20),
        shift_start=fleet_section.clock("shift_start", 7 * 3600),
        shift_end=fleet_section.clock("shift_end", 19 * 3600),
        depots=tuple(_latlon(d, key=f"fleet.depots[{i}]") for i, d in enumerate(depots_raw)),
    )
    if fleet.shift_end <= fleet.shift_start:
        raise ScenarioError(
            f"fleet.shift_end ({format_clock(fleet.shift_end)}) must be after fleet.shift_start "
            f"({format_clock(fleet.shift_start)})"
        )
    fleet_section.finish()

    service = _service_params(top.raw("service"))

    demand_section = _Section(top.raw("demand"), "demand")
    log_raw = demand_section.raw("log")
    if log_raw is not None and not isinstance(log_raw, str):
        raise ScenarioError(f"demand.log = {log_raw!r}: must be a path string")
    groups_raw = demand_section.raw("group_sizes", [0.8, 0.15, 0.05])
    if (
        not isinstance(groups_raw, list)
        or not groups_raw
        or not all(
            isinstance(g, int | float) and not isinstance(g, bool) and g >= 0 for g in groups_raw
        )
        or abs(sum(groups_raw) - 1.0) > 1e-6
    ):
        raise ScenarioError(
            f"demand.group_sizes = {groups_raw!r}: a list of probabilities for groups of 1, 2, "
            "3, ... riders that sums to 1"
        )
    destinations_raw = demand_section.raw("destinations", [])
    if not isinstance(destinations_raw, list):
        raise ScenarioError("demand.destinations must be a list of {name, lat, lon, weight}")
    destinations = []
    for i, item in enumerate(destinations_raw):
        table = _Section(item, f"demand.destinations[{i}]")
        point = _latlon([table.raw("lat"), table.raw("lon")], key=f"demand.destinations[{i}]")
        destinations.append(
            Destination(
                name=table.text("name", f"destination {i + 1}"),
                point=point,
                weight=table.number("weight", 1.0, minimum=0.0),
            )
        )
        table.finish()
    demand = DemandSpec(
        requests=demand_section.integer("requests", 100, minimum=0, maximum=1_000_000),
        log=_resolve(log_raw, base=base_dir, key="demand.log") if log_raw else None,
        arrive_by_share=demand_section.share("arrive_by_share", 0.75),
        peak=demand_section.clock("peak", 9 * 3600 + 1800),
        peak_spread_s=demand_section.integer("peak_spread_s", 3600, minimum=0),
        peak_share=demand_section.share("peak_share", 0.7),
        lead_min_s=demand_section.integer("lead_min_s", 900, minimum=0),
        lead_max_s=demand_section.integer("lead_max_s", 7200, minimum=0),
        group_sizes=tuple(float(g) for g in groups_raw),
        wheelchair_share=demand_section.share("wheelchair_share", 0.03),
        residential_weight=demand_section.number("residential_weight", 4.0, minimum=0.0),
        destinations=tuple(destinations),
    )
    if demand.lead_max_s < demand.lead_min_s:
        raise ScenarioError(
            f"demand.lead_max_s ({demand.lead_max_s}) must be >= demand.lead_min_s "
            f"({demand.lead_min_s})"
        )
    demand_section.finish()

    riders_section = _Section(top.raw("riders"), "riders")
    riders = RiderSpec(
        no_show_rate=riders_section.share("no_show_rate", 0.03),
        cancel_rate=riders_section.share("cancel_rate", 0.05),
        decline_rate=riders_section.share("decline_rate", 0.05),
        no_show_wait_s=riders_section.integer("no_show_wait_s", 120, minimum=0),
    )
    riders_section.finish()
    top.finish()

    return Scenario(
        name=name,
        seed=seed,
        policy=policy,
        reoptimize_interval_s=reoptimize_interval_s,
        tick_interval_s=tick_interval_s,
        position_interval_s=position_interval_s,
        map=map_spec,
        stops=stops,
        fleet=fleet,
        service=service,
        demand=demand,
        riders=riders,
        raw=copy.deepcopy(dict(data)),
        base_dir=base_dir,
    )


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        When the file is missing, is not valid TOML, or has a bad value.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {path} does not exist; check the path") from None
    except OSError as error:
        raise ScenarioError(f"cannot read scenario file {path}: {error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path} is not valid TOML: {error}") from error
    return scenario_from_mapping(data, base_dir=path.resolve().parent)


def parse_override(text: str) -> tuple[str, list[Any]]:
    """``"fleet.vehicles=4,6,8"`` -> ``("fleet.vehicles", [4, 6, 8])``.

    Each value is read as a TOML literal (numbers, booleans, quoted strings); anything else is
    taken as a plain string (so ``policy=insertion,no_pooling`` works).
    """
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ScenarioError(f"--vary {text!r}: write KEY=V1,V2,... such as fleet.vehicles=4,6,8")
    parsed: list[Any] = []
    for item in values.split(","):
        item = item.strip()
        if not item:
            raise ScenarioError(f"--vary {text!r}: empty value in the list")
        try:
            parsed.append(tomllib.loads(f"v = {item}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(item)
    return key, parsed


def with_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """A new scenario with dotted keys replaced (``{"fleet.vehicles": 6}``) and re-validated."""
    data = copy.deepcopy(dict(scenario.raw))
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        table: dict[str, Any] = data
        for part in parts[:-1]:
            child = table.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(f"cannot set {dotted}: {part} is not a table")
            table = child
        table[parts[-1]] = value
        if dotted == "demand.requests" and "log" in data.get("demand", {}):
            raise ScenarioError("demand.requests cannot vary when demand.log replays a request log")
    return scenario_from_mapping(data, base_dir=scenario.base_dir)
