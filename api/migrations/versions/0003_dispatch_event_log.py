"""Dispatch event log (operator replay of a past day).

Revision ID: 0003_dispatch_event_log
Revises: 0002_households (TV channel)
Create Date: 2026-11-25 12:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0003_dispatch_event_log"
down_revision = "0002_households"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("time_s", sa.Integer(), nullable=False),
        sa.Column("type", AutoString(length=40), nullable=False),
        sa.Column("vehicle_id", AutoString(length=64), nullable=True),
        sa.Column("request_id", AutoString(length=32), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dispatch_event_day_id", "dispatch_event", ["service_day", "id"])


def downgrade() -> None:
    op.drop_index("ix_dispatch_event_day_id", table_name="dispatch_event")
    op.drop_table("dispatch_event")
