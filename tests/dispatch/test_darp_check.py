"""The independent DARP checker catches each kind of violation on hand-made routes.

The tiny instance puts everything on the x axis, so distances are differences of x:

    node      0 depot  1 (pick 1)  2 (pick 2)  3 (drop 1)  4 (drop 2)  5 end depot
    x         0        1           2           3           4           0

Every visit has service 1. Route [1, 3, 2, 4] driven as early as possible:
    B1 = 1, leave 2; B3 = 2 + 2 = 4 (ride 1: 4 - 2 = 2), leave 5; B2 = 5 + 1 = 6, leave 7;
    B4 = 7 + 2 = 9 (ride 2: 9 - 7 = 2), leave 10; back at the depot at 10 + 4 = 14.
    Distance 1 + 2 + 1 + 2 + 4 = 10.
"""

from __future__ import annotations

import pytest

from dispatch.darp_check import check_solution
from dispatch.darp_instance import DarpFormatError, parse_cordeau


def tiny(
    *,
    capacity: int = 2,
    duration: int = 100,
    ride: int = 10,
    windows: dict[int, tuple[int, int]] | None = None,
    vehicles: int = 1,
) -> str:
    windows = windows or {}
    xs = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 0}
    loads = {0: 0, 1: 1, 2: 1, 3: -1, 4: -1, 5: 0}
    lines = [f"{vehicles} 2 {duration} {capacity} {ride}"]
    for node in range(6):
        service = 0 if node in (0, 5) else 1
        start, end = windows.get(node, (0, 100))
        lines.append(f"{node} {xs[node]} 0 {service} {loads[node]} {start} {end}")
    return "\n".join(lines) + "\n"


def kinds(result_violations: tuple[object, ...]) -> list[str]:
    return [violation.kind for violation in result_violations]  # type: ignore[attr-defined]


def test_parse_reads_header_and_nodes_and_adds_a_missing_end_depot() -> None:
    instance = parse_cordeau(tiny(), name="tiny")
    assert (instance.vehicles, instance.requests, instance.capacity) == (1, 2, 2)
    assert instance.max_route_duration == 100
    assert instance.max_ride_time == 10
    assert instance.nodes[3].load == -1
    assert instance.nodes[3].x == 3
    without_end = "\n".join(tiny().splitlines()[:-1])
    again = parse_cordeau(without_end, name="tiny")
    assert len(again.nodes) == 6  # node 5 = copy of the depot
    assert (again.nodes[5].x, again.nodes[5].tw_end) == (0, 100)


@pytest.mark.parametrize(
    "text",
    ["", "1 2 100\n", "1 2 100 2 10\n0 0 0 0 0 0 100\n", "1 x 100 2 10\n", "1 1 9 9 9\n0 a"],
)
def test_parse_rejects_malformed_text(text: str) -> None:
    with pytest.raises(DarpFormatError):
        parse_cordeau(text, name="bad")


def test_feasible_route_costs_ten_and_has_a_valid_schedule() -> None:
    instance = parse_cordeau(tiny(), name="tiny")
    result = check_solution(instance, [[1, 3, 2, 4]])
    assert result.feasible, result.violations
    assert result.cost == pytest.approx(10.0)
    assert result.served == 2
    times = result.schedules[0]  # depot, 1, 3, 2, 4, depot
    assert len(times) == 6
    assert times[2] - (times[1] + 1) <= 10 + 1e-6  # ride of request 1
    assert times[5] - times[0] <= 100 + 1e-6


def test_capacity_one_rejects_carrying_both_riders() -> None:
    # Route 1, 2, 3, 4: after node 2 both riders are on board, load 2 > Q = 1.
    instance = parse_cordeau(tiny(capacity=1), name="tiny")
    result = check_solution(instance, [[1, 2, 3, 4]])
    assert kinds(result.violations) == ["capacity"]
    assert result.violations[0].node == 2


def test_late_drop_off_breaks_its_window() -> None:
    # Route 2, 4, 1, 3: B2 = 2, B4 = 3 + 2 = 5, B1 = 6 + 3 = 9, B3 = 10 + 2 = 12 > 11.
    instance = parse_cordeau(tiny(windows={3: (0, 11)}), name="tiny")
    result = check_solution(instance, [[2, 4, 1, 3]])
    assert kinds(result.violations) == ["time_window"]
    assert result.violations[0].node == 3


def test_route_longer_than_t_breaks_the_duration() -> None:
    # Route 1, 3, 2, 4 needs 14 without any waiting; T = 12.
    instance = parse_cordeau(tiny(duration=12), name="tiny")
    result = check_solution(instance, [[1, 3, 2, 4]])
    assert kinds(result.violations) == ["route_duration"]


def test_ride_time_broken_when_the_drop_off_window_opens_too_late() -> None:
    # Pickup 1 must start by 2 (leave by 3), drop-off 3 cannot start before 20:
    # ride >= 20 - 3 = 17 > L = 10.
    instance = parse_cordeau(tiny(windows={1: (0, 2), 3: (20, 30)}), name="tiny")
    result = check_solution(instance, [[1, 3, 2, 4]])
    assert kinds(result.violations) == ["ride_time"]
    assert result.violations[0].node == 1


def test_waiting_before_the_pickup_keeps_the_ride_short() -> None:
    # Same, but pickup 1 may start until 100: start it at 9 or later (leave 10, arrive 12,
    # wait, drop at 20: ride 10). The earliest schedule (ride 17) would be wrong to reject.
    instance = parse_cordeau(tiny(windows={3: (20, 30)}), name="tiny")
    result = check_solution(instance, [[1, 3, 2, 4]])
    assert result.feasible, result.violations
    times = result.schedules[0]
    assert times[2] - (times[1] + 1) <= 10 + 1e-6


def test_structural_violations_are_named() -> None:
    instance = parse_cordeau(tiny(vehicles=2), name="tiny")
    assert kinds(check_solution(instance, [[1, 3], []]).violations) == ["unserved"]
    assert "duplicate" in kinds(check_solution(instance, [[1, 3, 1, 3, 2, 4], []]).violations)
    # The lone drop-off also empties a vehicle below zero: split is named first.
    assert kinds(check_solution(instance, [[1, 2, 4], [3]]).violations)[0] == "split"
    assert kinds(check_solution(instance, [[3, 1, 2, 4], []]).violations)[0] == "order"
    assert "unknown_node" in kinds(check_solution(instance, [[1, 3, 2, 4, 9], []]).violations)
    one_vehicle = parse_cordeau(tiny(vehicles=1), name="tiny")
    assert kinds(check_solution(one_vehicle, [[1, 3], [2, 4]]).violations) == ["too_many_routes"]
