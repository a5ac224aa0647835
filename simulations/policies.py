"""Dispatch policies a planner compares in the same run.

=================  ====================================================================
``no_pooling``     one booking per vehicle trip (``ServiceParams.pooling = False``), no
                   re-optimization
``insertion``      pooled cheapest insertion per request, no re-optimization
``insertion_reopt`` insertion plus OR-Tools re-optimization every ``reoptimize_interval_s``
=================  ====================================================================
"""

from __future__ import annotations

from dataclasses import replace

from dispatch.params import ServiceParams
from routing.types import Seconds

__all__ = ["POLICIES", "POLICY_LABELS", "apply_policy"]

POLICIES = ("no_pooling", "insertion", "insertion_reopt")

POLICY_LABELS = {
    "no_pooling": "no pooling",
    "insertion": "insertion only",
    "insertion_reopt": "insertion + re-optimization",
}


def apply_policy(
    params: ServiceParams, policy: str, *, reoptimize_interval_s: Seconds
) -> ServiceParams:
    """The service rules with ``pooling`` and ``reoptimize_interval_s`` set for ``policy``.

    Raises
    ------
    ValueError
        For a policy not in :data:`POLICIES`.
    """
    if policy == "no_pooling":
        return replace(params, pooling=False, reoptimize_interval_s=0)
    if policy == "insertion":
        return replace(params, pooling=True, reoptimize_interval_s=0)
    if policy == "insertion_reopt":
        return replace(params, pooling=True, reoptimize_interval_s=reoptimize_interval_s)
    raise ValueError(f"unknown policy {policy!r}; allowed: {list(POLICIES)}")
