"""Service settings: one validated object, built once at startup (never at import time).

Values come from explicit arguments (the CLI) and otherwise from ``NORIAI_*`` environment
variables; :meth:`Settings.from_env` validates everything once and raises
:class:`api.errors.ConfigError` with one clear line when a value is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from api.errors import ConfigError
from api.timeutil import zone

__all__ = ["ENV_PREFIX", "Settings"]

ENV_PREFIX = "NORIAI_"


class Settings(BaseModel):
    """Everything the service needs to start.

    Attributes
    ----------
    db_url : str
        SQLAlchemy URL: ``sqlite:///path.sqlite`` (default, a file with WAL) or
        ``postgresql+psycopg://user:password@host:port/database``.
    osm : Path or None
        An ``.osm`` / ``.osm.bz2`` extract for the service area.
    place : str or None
        A place name fetched online through OSMnx (alternative to ``osm``).
    synthetic_seed : int
        Seed of the synthetic town used when neither ``osm`` nor ``place`` is given.
    places_file : Path or None
        JSON file of named places ``[{"id", "name", "lat", "lon", "kind"?, "name_ja"?}]``.
    timezone : str
        IANA name of the service time zone (default Asia/Tokyo).
    operator_token : SecretStr or None
        The operator's bearer token (``NORIAI_OPERATOR_TOKEN``); generated at first start when
        unset and no token is stored yet.
    booking_days : int
        Service days open for booking: today and the next ``booking_days - 1`` days.
    reoptimize_interval_s : float
        Seconds between background re-optimizations (0 disables them).
    tick_interval_s : float
        Seconds between ``Dispatcher.tick`` calls (offer expiry).
    max_walk_m : int
        Walking limit for virtual stops, metres.
    owner_lock_wait_s : float
        How long to wait for a previous (dying) server to free the database, seconds.
    zones_file : Path or None
        GeoJSON of service zones (door-to-door zones such as Minato); see ``api.zones``.
    tv_presets : str
        Comma-separated named-place ids offered as numbered destinations on the TV page.
    service_phone : str
        The phone number riders call (shown on the TV page's final screens).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    db_url: str = "sqlite:///noriai.sqlite"
    osm: Path | None = None
    place: str | None = None
    synthetic_seed: int = 7
    places_file: Path | None = None
    timezone: str = "Asia/Tokyo"
    operator_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    booking_days: int = Field(default=7, ge=1, le=60)
    reoptimize_interval_s: float = Field(default=60.0, ge=0)
    tick_interval_s: float = Field(default=5.0, gt=0)
    max_walk_m: int = Field(default=400, ge=50, le=3000)
    owner_lock_wait_s: float = Field(default=15.0, ge=0, le=600)
    cache_dir: Path = Path(".noriai-cache")
    zones_file: Path | None = None
    tv_presets: str = Field(default="clinic,station,city-hall,supermarket", max_length=1000)
    service_phone: str = Field(default="", max_length=40)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("db_url")
    @classmethod
    def _supported_db(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError(
                "use sqlite:///FILE.sqlite or postgresql+psycopg://USER:PASSWORD@HOST/DB"
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("osm")
    @classmethod
    def _osm_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"map file {value} does not exist; pass an .osm or .osm.bz2 file")
        return value

    @field_validator("zones_file")
    @classmethod
    def _zones_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"zones file {value} does not exist")
        return value

    @field_validator("places_file")
    @classmethod
    def _places_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"places file {value} does not exist")
        return value

    @classmethod
    def from_env(
        cls, overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read ``NORIAI_<FIELD>`` variables, apply ``overrides`` (None values ignored), validate.

        Raises
        ------
        ConfigError
            Naming the setting (and its environment variable) and what is allowed.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if env.get(key):
                values[name] = env[key]
        if overrides:
            values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("osm") is not None and values.get("place") is not None:
            raise ConfigError("give either --osm FILE or --place NAME, not both")
        try:
            return cls(**values)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "settings"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise ConfigError(
                f"setting {field} (env {ENV_PREFIX}{field.upper()}): {message}"
            ) from error

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite URL."""
        return self.db_url.startswith("sqlite")
