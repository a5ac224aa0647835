"""Driver outboxes: per-vehicle seq state and unacknowledged events survive a restart.

Revision ID: 0004_driver_outbox
Revises: 0003_dispatch_event_log
Create Date: 2026-11-25 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0004_driver_outbox"
down_revision = "0003_dispatch_event_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "driver_channel",
        sa.Column("vehicle_id", AutoString(length=64), nullable=False),
        sa.Column("session_id", AutoString(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("acked_seq", sa.Integer(), nullable=False),
        sa.Column("first_kept_seq", sa.Integer(), nullable=False),
        sa.Column("route_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_id"),
    )
    op.create_table(
        "driver_outbox",
        sa.Column("vehicle_id", AutoString(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("driver_outbox")
    op.drop_table("driver_channel")
