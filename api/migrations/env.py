"""Alembic environment: always called programmatically with a connection (see api.storage)."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import api.storage.households  # the TV channel tables
import api.storage.models  # noqa: F401  (both register their tables on SQLModel.metadata)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic CLI
    raise RuntimeError("run migrations through api.storage.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
