"""Re-optimization on the line: adopted only when consistent, feasible by our checker, cheaper.

Line: stops 0..10 one km apart, 60 s per km; dwell 45 s per one-rider stop visit.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import LineArea, line_oracle, point

from dispatch.dispatcher import Dispatcher
from dispatch.events import PlanChanged, Reoptimized
from dispatch.model import CancelledBy, Request, StopKind, Vehicle
from dispatch.params import ServiceParams
from dispatch.pdp import PdpSolution
from dispatch.reoptimize import ReoptimizationSolution, solve_reoptimization
from dispatch.schedule import check_plan, plan_duration, time_plan, vehicle_start

PARAMS = ServiceParams(reoptimize_interval_s=300, reoptimize_time_limit_s=0.2)


def two_trips_in_a_bad_order() -> Dispatcher:
    """bus-0 at depot 0 carries r1 (4 -> 3) and r2 (2 -> 1), both from 1000, in the order
    2, 1, 4, 3 (780 s) instead of 4, 3, 2, 1 (660 s)."""
    d = Dispatcher(
        oracle=line_oracle(11),
        area=LineArea(11),
        params=PARAMS,
        vehicles=[Vehicle("bus-0", 4, 1, 0, 0, 86_400)],
    )
    for rid, origin, destination in (("r1", 4.0, 3.0), ("r2", 2.0, 1.0)):
        offer = d.quote(Request(rid, point(origin), point(destination), depart_at=1_000), 0)
        d.book(offer.offers[0].id, 0)
    stops = {(s.request_id, s.kind): s for s in d.plan("bus-0").stops}
    pick, drop = StopKind.PICKUP, StopKind.DROPOFF
    bad = [stops[("r2", pick)], stops[("r2", drop)], stops[("r1", pick)], stops[("r1", drop)]]
    d.adopt_plans({"bus-0": bad}, 0)
    # 0->2 120, 2->1 60, 1->4 180, 4->3 60, 3->0 180 = 600 driving + 4 x 45 dwell = 780 s.
    return d


def test_tick_adopts_a_cheaper_feasible_order_and_reports_the_changed_plan() -> None:
    d = two_trips_in_a_bad_order()
    version = d.plan("bus-0").version
    events = d.tick(0)
    # 0->4 240, 4->3 60, 3->2 60, 2->1 60, 1->0 60 = 480 driving + 180 dwell = 660 s.
    assert events[0] == Reoptimized(
        time=0, adopted=True, cost_before=780, cost_after=660, reason=""
    )
    assert events[1:] == [PlanChanged(time=0, vehicle_id="bus-0", version=version + 1)]
    # 4, 3, 2, 1 and 2, 4, 3, 1 both drive 480 s; either is fine, and keeps every promise.
    state = d.vehicle("bus-0")
    timing = time_plan(d.plan("bus-0").stops, vehicle_start(state, 0), d.oracle, PARAMS)
    assert check_plan(timing) is None
    assert plan_duration(timing) == 660
    # Not due again until 300 s later; then nothing cheaper is found.
    assert d.tick(299) == []
    assert d.tick(300)[0].adopted is False  # type: ignore[attr-defined]


def test_solution_is_refused_when_the_plans_changed_while_solving() -> None:
    d = two_trips_in_a_bad_order()
    problem = d.reoptimization_problem(0)
    solution = solve_reoptimization(problem)
    d.cancel("r2", CancelledBy.RIDER, 1)
    events = d.apply_reoptimization(solution, 2)
    assert events == [
        Reoptimized(
            time=2,
            adopted=False,
            cost_before=780,
            cost_after=0,
            reason="plans changed while solving",
        )
    ]


def test_quotes_and_position_updates_while_solving_do_not_void_the_solution() -> None:
    d = two_trips_in_a_bad_order()
    problem = d.reoptimization_problem(0)
    solution = solve_reoptimization(problem)
    d.quote(Request("r3", point(9.0), point(10.0), depart_at=2_000), 1)
    d.on_position("bus-0", 0, 2)  # still at the depot: nothing locked
    events = d.apply_reoptimization(solution, 2)
    assert events[0] == Reoptimized(
        time=2, adopted=True, cost_before=780, cost_after=660, reason=""
    )


def route_solution(d: Dispatcher, route: list[tuple[str, str]]) -> ReoptimizationSolution:
    problem = d.reoptimization_problem(0)
    index = {stops[1].request_id: k for k, stops in enumerate(problem.stops)}
    routes = (tuple((index[rid], kind) for rid, kind in route),)
    pdp = PdpSolution(routes=routes, cost=0, unserved=(), feasible=True, seconds=0.0)
    return ReoptimizationSolution(problem=problem, pdp=pdp)


def test_solution_breaking_a_rule_is_refused_by_our_checker() -> None:
    d = two_trips_in_a_bad_order()
    before = d.plan("bus-0")
    # A drop-off before its pickup (the solver's model is not trusted):
    solution = route_solution(
        d, [("r1", "dropoff"), ("r1", "pickup"), ("r2", "pickup"), ("r2", "dropoff")]
    )
    events = d.apply_reoptimization(solution, 0)
    assert events[0].adopted is False  # type: ignore[attr-defined]
    assert "breaks a rule" in events[0].reason  # type: ignore[attr-defined]
    assert d.plan("bus-0") == before


def test_solution_leaving_a_booked_request_out_is_refused() -> None:
    d = two_trips_in_a_bad_order()
    solution = route_solution(d, [("r1", "pickup"), ("r1", "dropoff")])
    unserved = replace(solution, pdp=replace(solution.pdp, unserved=(1,)))  # type: ignore[arg-type]
    assert d.apply_reoptimization(unserved, 0)[0].reason == "solver left booked requests out"  # type: ignore[attr-defined]
    assert (
        d.apply_reoptimization(solution, 0)[0].reason  # type: ignore[attr-defined]
        == "solver routes do not visit every stop exactly once"
    )


@pytest.mark.timeout(60)
def test_rider_on_board_stays_on_the_locked_vehicle() -> None:
    d = Dispatcher(
        oracle=line_oracle(11),
        area=LineArea(11),
        params=PARAMS,
        vehicles=[Vehicle("bus-0", 4, 1, 0, 0, 86_400), Vehicle("bus-10", 4, 1, 10, 0, 86_400)],
    )
    offer = d.quote(Request("r1", point(2.0), point(6.0), depart_at=1_000), 0).offers[0]
    d.book(offer.id, 0)
    vehicle = offer.vehicle_id
    d.on_position(vehicle, 2, 1_000)
    d.on_pickup("r1", 1_045)
    d.book(
        d.quote(Request("r2", point(7.0), point(9.0), depart_at=1_100), 1_045).offers[0].id, 1_045
    )
    d.tick(1_050)
    stops = d.plan(vehicle).stops
    assert (stops[0].request_id, stops[0].kind) == ("r1", StopKind.DROPOFF)
    assert d.plan(vehicle).locked
    for vid, state in d.vehicles().items():
        timing = time_plan(d.plan(vid).stops, vehicle_start(state, 1_050), d.oracle, PARAMS)
        assert check_plan(timing) is None
