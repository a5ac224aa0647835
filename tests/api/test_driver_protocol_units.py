"""The driver protocol's pure parts: envelope parsing, outbox/resume invariants, geometry."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.driver_protocol import ProtocolError, VehicleChannel, parse_envelope
from api.navigation import distance_to_line_m


def test_envelope_parses_a_command_and_its_piggy_backed_ack() -> None:
    message = parse_envelope(
        json.dumps({"v": 1, "type": "stop.arrived", "id": "c-1", "ack": 4, "payload": {"x": 1}})
    )
    assert (message.type, message.id, message.ack, message.payload) == (
        "stop.arrived",
        "c-1",
        4,
        {"x": 1},
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{oops", "bad_json"),
        ("[1, 2]", "bad_envelope"),
        ('{"type": "ack"}', "bad_envelope"),  # no id
        ('{"id": "x", "type": "fly"}', "unknown_type"),
        ('{"id": "x", "type": "ack", "v": 2}', "unsupported_version"),
        ('{"id": "x", "type": "ack", "ack": -1}', "bad_field"),
        ('{"id": "x", "type": "ack", "payload": [1]}', "bad_envelope"),
    ],
)
def test_malformed_messages_name_what_is_wrong(text: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_envelope(text)
    assert caught.value.code == code


def test_outbox_keeps_unacked_events_and_resume_replays_exactly_the_rest() -> None:
    channel = VehicleChannel("bus-1")
    for version in range(1, 6):  # seqs 1..5
        channel.append("route.updated", {"route_version": version})
    assert channel.acknowledge(2) == 2  # seqs 1 and 2 leave the outbox
    assert [seq for seq, _ in channel.outbox] == [3, 4, 5]
    # The tablet had 3: it gets 4 and 5. It had 2 (acked, still resumable): 3, 4, 5.
    assert [m["seq"] for m in channel.events_after(3)] == [4, 5]
    assert channel.can_resume(channel.session_id, 2)
    # Seq 1 is gone, so "I have up to 1" cannot be answered exactly: snapshot instead.
    assert not channel.can_resume(channel.session_id, 1)
    assert not channel.can_resume("another-session", 5)
    assert not channel.can_resume(channel.session_id, 6)  # from the future
    assert channel.route_version == 5


def test_a_full_outbox_drops_the_oldest_and_forces_a_snapshot() -> None:
    channel = VehicleChannel("bus-1", outbox_limit=3)
    for version in range(1, 6):  # seqs 1..5, only 3..5 kept
        channel.append("route.updated", {"route_version": version})
    assert [seq for seq, _ in channel.outbox] == [3, 4, 5]
    assert channel.can_resume(channel.session_id, 2)
    assert not channel.can_resume(channel.session_id, 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.just(("append", 0)), st.tuples(st.just("ack"), st.integers(0, 40))),
        max_size=60,
    ),
    st.integers(1, 8),
)
def test_resume_always_returns_the_missing_seqs_in_order(
    operations: list[tuple[str, int]], limit: int
) -> None:
    channel = VehicleChannel("bus-1", outbox_limit=limit)
    for operation, value in operations:
        if operation == "append":
            channel.append("task.assigned", {"request_id": "r"})
        else:
            channel.acknowledge(value)
        assert len(channel.outbox) <= limit
        assert all(seq > channel.acked_seq for seq, _ in channel.outbox)
    for last in range(channel.last_seq + 2):
        if channel.can_resume(channel.session_id, last):
            seqs = [m["seq"] for m in channel.events_after(last)]
            assert seqs == list(range(last + 1, channel.last_seq + 1))


def test_command_answers_are_remembered_for_retries_up_to_a_limit() -> None:
    channel = VehicleChannel("bus-1", command_memory=2)
    for number in range(3):
        channel.remember_reply(f"c{number}", {"n": number})
    assert channel.reply_for("c0") is None  # the oldest answer was forgotten
    assert channel.reply_for("c2") == {"n": 2}


def test_distance_to_a_line_along_the_equator() -> None:
    # A line along the equator from lon 0 to lon 0.001; a point 0.0001 deg north of its middle
    # is 0.0001 * 111320 = 11.132 m away; a point beyond the east end measures to the end:
    # 0.001 deg east = 111.32 m.
    line = [[0.0, 0.0], [0.001, 0.0]]
    assert distance_to_line_m(line, 0.0001, 0.0005) == pytest.approx(11.132, abs=0.01)
    assert distance_to_line_m(line, 0.0, 0.002) == pytest.approx(111.32, abs=0.01)
    assert distance_to_line_m([], 0.0, 0.0) == float("inf")


def test_english_text_of_a_japanese_leg_matches_the_english_leg() -> None:
    """The tablet's English instructions are derived from the Japanese leg's maneuvers; on 60
    routes of the synthetic town they equal what routing.steps builds in English."""
    from api.navigation import english_instruction
    from routing.paths import shortest_path
    from routing.steps import leg_response
    from routing.synthetic import synthetic_town

    graph = synthetic_town(seed=7)
    checked = 0
    for number in range(60):
        origin = (number * 131) % graph.n_nodes
        destination = (number * 317 + 59) % graph.n_nodes
        if origin == destination:
            continue
        path = shortest_path(graph, origin, destination)
        final = number % 2 == 0
        japanese = leg_response(graph, path, lang="ja", stop_number=2, final=final)
        english = leg_response(graph, path, lang="en", stop_number=2, final=final)
        for step_ja, step_en in zip(japanese["steps"], english["steps"], strict=True):
            derived = english_instruction(step_ja, stop_number=2, final=final)
            assert derived == step_en["instruction"]
            checked += 1
    assert checked > 200
