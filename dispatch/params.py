"""Service rules as one frozen parameter object (loadable from a TOML table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from routing.types import Metres, Seconds

__all__ = ["ServiceParams"]


@dataclass(frozen=True, slots=True)
class ServiceParams:
    """Service rules.

    Attributes
    ----------
    max_walk_m : Metres
        Farthest a rider is asked to walk to or from a virtual stop.
    walk_speed_mps : float
        Walking speed, metres per second (1.0 suits elderly riders).
    pickup_window_s : Seconds
        Width of the promised pickup window.
    max_early_pickup_s : Seconds
        For arrive-by requests: how much earlier than the latest sensible pickup we may offer.
    ride_alpha, ride_beta_s : float, Seconds
        Maximum ride time = ``ride_alpha * direct_seconds + ride_beta_s``.
    dwell_stop_s, dwell_per_rider_s : Seconds
        Dwell per stop visit and per boarding or alighting rider.
    booking_horizon_s : Seconds
        How far ahead of ``now`` bookings open (the pickup may be at most this far away).
    offer_ttl_s : Seconds
        How long an offer stays bookable.
    lock_next_stop : bool
        Whether the next stop is locked once the vehicle drives to it.
    reoptimize_interval_s : Seconds
        ``tick`` re-optimizes when at least this long has passed since the last run (0: never).
    reoptimize_time_limit_s : float
        OR-Tools wall-time limit per re-optimization (the only non-integer: a solver budget).
    candidate_vehicles : int
        At most this many vehicles, nearest by travel-time bound first, are tried per request.
    pooling : bool
        False: a vehicle carries one booking at a time (the "no pooling" policy to compare with).
    candidate_stops : int
        At most this many virtual stops, nearest first, are tried at each end of a trip.
    walk_cost_weight : float
        Insertion cost of one second of rider walking, in seconds of added vehicle time.
    reoptimize_seed : int
        Seed passed to the re-optimizer (it shuffles the solver's node order).
    reoptimize_solution_limit : int
        Deterministic re-optimization budget: the OR-Tools search stops after this many
        solutions, so the same plans give the same answer on every run;
        ``reoptimize_time_limit_s`` is then only a safety cap, stretched
        ``REOPTIMIZE_TIME_CAP_FACTOR`` (10) times (:mod:`dispatch.reoptimize`). 0 (default):
        the wall-clock ``reoptimize_time_limit_s`` alone, whose answers depend on machine speed.
    """

    max_walk_m: Metres = 300
    walk_speed_mps: float = 1.0
    pickup_window_s: Seconds = 600
    max_early_pickup_s: Seconds = 1800
    ride_alpha: float = 1.5
    ride_beta_s: Seconds = 600
    dwell_stop_s: Seconds = 30
    dwell_per_rider_s: Seconds = 15
    booking_horizon_s: Seconds = 7 * 86400
    offer_ttl_s: Seconds = 120
    lock_next_stop: bool = True
    reoptimize_interval_s: Seconds = 300
    reoptimize_time_limit_s: float = 2.0
    candidate_vehicles: int = 20
    pooling: bool = True
    candidate_stops: int = 3
    walk_cost_weight: float = 0.2
    reoptimize_seed: int = 0
    reoptimize_solution_limit: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ServiceParams:
        """Build from a TOML table; unknown keys raise ``ValueError`` naming the allowed ones."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"unknown service rule(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(**dict(values))
