"""Run a scenario end to end: world, demand, Dispatcher, engine, KPIs.

:func:`run_scenario` is what ``noriai simulate``, ``noriai replay``, ``noriai demo``, sweeps and
the benchmark call. The event log's header embeds the scenario and the day's requests, so a run
can be replayed from its log alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dispatch.dispatcher import Dispatcher
from simulations.demand import DemandRequest, generate_demand, sorted_demand
from simulations.engine import EngineSettings, Simulation
from simulations.eventlog import EventLog
from simulations.kpis import compute_kpis
from simulations.requestlog import read_request_log, request_to_row, rows_to_demand
from simulations.scenario import Scenario, scenario_from_mapping
from simulations.world import World, build_world

__all__ = ["SimulationResult", "demand_for", "run_scenario", "scenario_from_header"]


@dataclass(frozen=True, slots=True, eq=False)
class SimulationResult:
    """What a run produced.

    Attributes
    ----------
    scenario : Scenario
        The scenario as run (policy and seed overrides applied).
    world : World
        Map, stops, oracle, area and fleet.
    requests : tuple of DemandRequest
        The day's requests in submission order.
    log : EventLog
        Header, records and summary (``summary["kpis"]``).
    kpis : dict
        The KPI table (:func:`simulations.kpis.compute_kpis`).
    wall_seconds : float
        Wall time of the simulated day (world building excluded).
    """

    scenario: Scenario
    world: World
    requests: tuple[DemandRequest, ...]
    log: EventLog
    kpis: dict[str, Any]
    wall_seconds: float


def demand_for(scenario: Scenario, world: World) -> list[DemandRequest]:
    """The scenario's requests: from its request log, or generated with its seed."""
    if scenario.demand.log is not None:
        return read_request_log(scenario.demand.log, door_to_door=scenario.stops.door_to_door)
    return generate_demand(
        world.graph,
        scenario.demand,
        scenario.fleet,
        seed=scenario.seed,
        door_to_door=scenario.stops.door_to_door,
    )


def scenario_from_header(header: dict[str, Any]) -> tuple[Scenario, list[DemandRequest]]:
    """Rebuild the scenario and requests embedded in an event log's header."""
    scenario = scenario_from_mapping(header["scenario"], base_dir=Path(header["base_dir"]))
    requests = rows_to_demand(header["requests"])
    return scenario, requests


def run_scenario(
    scenario: Scenario,
    *,
    requests: Sequence[DemandRequest] | None = None,
    world: World | None = None,
    progress: Callable[[int, int], None] | None = None,
    recorded_solutions: Mapping[int, Mapping[str, Any]] | None = None,
) -> SimulationResult:
    """Simulate one day of ``scenario``.

    Parameters
    ----------
    scenario : Scenario
        What to run.
    requests : sequence of DemandRequest, optional
        The day's requests (a replay); default: the scenario's log or generator.
    world : World, optional
        A world already built for this scenario's map, stops and fleet (saves loading twice).
    progress : callable, optional
        ``progress(submitted, total)`` after each request.
    recorded_solutions : mapping, optional
        Replay: re-optimization answers by time (``reoptimize`` records of a recorded log),
        adopted instead of solving again.
    """
    if world is None:
        world = build_world(scenario)
    demand = sorted_demand(requests) if requests is not None else demand_for(scenario, world)
    params = scenario.dispatch_params()
    # As in the live service, tick() only expires offers; the engine runs re-optimization in
    # three steps so it can record (and in a replay, re-use) the solver's answers.
    dispatcher = Dispatcher(
        oracle=world.oracle,
        area=world.area,
        params=replace(params, reoptimize_interval_s=0),
        vehicles=world.vehicles,
    )
    log = EventLog(
        header={
            "scenario": scenario.raw,
            "base_dir": str(scenario.base_dir),
            "name": scenario.name,
            "policy": scenario.policy,
            "seed": scenario.seed,
            "map": world.map_description,
            "stops": len(world.stops),
            "vehicles": len(world.vehicles),
            "requests": [request_to_row(item) for item in demand],
        }
    )
    simulation = Simulation(
        dispatcher=dispatcher,
        graph=world.graph,
        oracle=world.oracle,
        vehicles=world.vehicles,
        demand=demand,
        settings=EngineSettings(
            seed=scenario.seed,
            riders=scenario.riders,
            params=params,
            tick_interval_s=scenario.tick_interval_s,
            position_interval_s=scenario.position_interval_s,
            reoptimize_interval_s=params.reoptimize_interval_s,
            recorded_solutions=recorded_solutions,
        ),
        log=log,
        progress=progress,
    )
    started = time.perf_counter()
    simulation.run()
    wall = time.perf_counter() - started
    kpis = compute_kpis(log.records)
    log.summary = {"kpis": kpis}
    return SimulationResult(
        scenario=scenario,
        world=world,
        requests=tuple(demand),
        log=log,
        kpis=kpis,
        wall_seconds=wall,
    )
