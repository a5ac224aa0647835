"""Simulation errors. Every message says what to do.

Hierarchy::

    SimulationError
    ├── ScenarioError     a scenario file is missing or has a bad value
    ├── RequestLogError   a request log row is malformed (row number and field named)
    └── ReplayMismatchError  a replay did not reproduce the recorded outcome
"""

from __future__ import annotations

__all__ = ["ReplayMismatchError", "RequestLogError", "ScenarioError", "SimulationError"]


class SimulationError(Exception):
    """Base of every simulation error."""


class ScenarioError(SimulationError):
    """A scenario file is missing or has a bad value."""


class RequestLogError(SimulationError):
    """A request log is malformed."""


class ReplayMismatchError(SimulationError):
    """A replay diverged from the recorded run."""
