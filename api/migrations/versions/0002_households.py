"""TV channel: households, TV sessions, household bookings.

Revision ID: 0002_households
Revises: 0001
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0002_households"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("id", AutoString(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("display_name", AutoString(length=100), nullable=False),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("language", AutoString(length=8), nullable=False),
        sa.Column("wheelchair", sa.Boolean(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("pin_hash", AutoString(length=200), nullable=True),
        sa.Column("pairing_code_hash", AutoString(length=64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_number"), ["number"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_household_pairing_code_hash"), ["pairing_code_hash"], unique=True
        )
    op.create_table(
        "tv_session",
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("household_id", AutoString(length=32), nullable=False),
        sa.Column("kind", AutoString(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("tv_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tv_session_household_id"), ["household_id"], unique=False
        )
    op.create_table(
        "household_booking",
        sa.Column("booking_id", AutoString(length=32), nullable=False),
        sa.Column("household_id", AutoString(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    with op.batch_alter_table("household_booking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_booking_household_id"), ["household_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("household_booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_booking_household_id"))
    op.drop_table("household_booking")
    with op.batch_alter_table("tv_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tv_session_household_id"))
    op.drop_table("tv_session")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_pairing_code_hash"))
        batch_op.drop_index(batch_op.f("ix_household_number"))
    op.drop_table("household")
