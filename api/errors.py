"""API-layer errors (configuration, storage). HTTP errors are raised as HTTPException in routers.

Hierarchy::

    ApiError
    ├── ConfigError    a setting or CLI value is invalid (named, with what is allowed)
    └── StorageError   the database cannot be opened or migrated
"""

from __future__ import annotations

__all__ = ["ApiError", "ConfigError", "StorageError"]


class ApiError(Exception):
    """Base of every api error."""


class ConfigError(ApiError):
    """A setting or CLI value is invalid."""


class StorageError(ApiError):
    """The database cannot be opened or migrated."""
