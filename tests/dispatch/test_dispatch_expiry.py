"""Offer expiry by due time and forgetting finished quotes (what a busy server relies on).

The three-bus line of tests/dispatch/fakes.py; offers are valid 120 s (ServiceParams default).
"""

from __future__ import annotations

from fakes import LineArea, line_oracle, point, three_vehicles

from dispatch.dispatcher import Dispatcher
from dispatch.events import Expired
from dispatch.model import Request, RequestStatus
from dispatch.params import ServiceParams

NOW = 35_000


def make() -> Dispatcher:
    return Dispatcher(
        oracle=line_oracle(11),
        area=LineArea(11),
        params=ServiceParams(reoptimize_interval_s=0),
        vehicles=three_vehicles(),
    )


def depart(rid: str, at: int = 36_000) -> Request:
    return Request(rid, point(2.0), point(7.0), depart_at=at)


def test_offers_expire_when_due_in_first_quote_order_and_a_requote_postpones_expiry() -> None:
    d = make()
    d.quote(depart("c"), NOW)  # offers expire at NOW + 120
    d.quote(depart("a"), NOW + 10)  # NOW + 130
    d.quote(depart("b"), NOW + 20)  # NOW + 140
    d.quote(depart("c"), NOW + 30)  # quoted again: now expires at NOW + 150
    assert d.tick(NOW + 125) == []  # c's first offers are gone; its new ones run to NOW + 150
    assert d.status("c") is RequestStatus.OFFERED
    assert d.tick(NOW + 131) == [Expired(time=NOW + 131, request_id="a")]
    # b (due NOW + 140) and c (NOW + 150) together: in the order they were first quoted.
    assert d.tick(NOW + 200) == [
        Expired(time=NOW + 200, request_id="c"),
        Expired(time=NOW + 200, request_id="b"),
    ]
    assert d.tick(NOW + 300) == []


def test_booked_offer_never_expires() -> None:
    d = make()
    offer = d.quote(depart("r1"), NOW).offers[0]
    d.book(offer.id, NOW + 5)
    assert d.tick(NOW + 500) == []
    assert d.status("r1") is RequestStatus.ASSIGNED


def test_forget_drops_only_expired_and_rejected_requests_and_their_offers() -> None:
    d = make()
    expired = d.quote(depart("old"), NOW).offers
    rejected = d.quote(depart("past", at=NOW - 60), NOW)  # asks for a time that has passed
    assert rejected.rejection is not None
    d.tick(NOW + 121)  # "old" expires
    open_offer = d.quote(depart("open"), NOW + 121).offers[0]
    booked = d.quote(depart("booked"), NOW + 121).offers[0]
    d.book(booked.id, NOW + 122)
    assert d.forget(["old", "past", "open", "booked", "unknown"]) == 2
    assert set(d.requests()) == {"open", "booked"}
    snapshot_offers = {o["id"] for o in d.snapshot()["offers"]}
    assert not snapshot_offers & {o.id for o in expired}
    assert {open_offer.id, booked.id} <= snapshot_offers
    # A forgotten id can be quoted afresh; a restored Dispatcher expires open offers as well.
    assert d.quote(depart("old"), NOW + 130).offers
    restored = Dispatcher.from_snapshot(
        d.snapshot(), oracle=line_oracle(11), area=LineArea(11), params=d.params
    )
    assert restored.tick(NOW + 300) == [
        Expired(time=NOW + 300, request_id="open"),
        Expired(time=NOW + 300, request_id="old"),
    ]


def test_snapshot_of_chosen_statuses_keeps_those_requests_and_only_their_offers() -> None:
    d = make()
    d.quote(depart("open"), NOW)
    booked = d.quote(depart("booked"), NOW).offers[0]
    d.book(booked.id, NOW + 5)
    full = d.snapshot()
    durable = d.snapshot(statuses={RequestStatus.ASSIGNED})
    assert [r["request"]["id"] for r in full["records"]] == ["open", "booked"]
    assert [r["request"]["id"] for r in durable["records"]] == ["booked"]
    assert {o["request_id"] for o in durable["offers"]} == {"booked"}
    assert durable["vehicles"] == full["vehicles"]
    assert durable["offer_seq"] == full["offer_seq"]
