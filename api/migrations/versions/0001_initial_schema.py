"""Initial schema: riders, saved places, vehicles, bookings, day snapshots, idempotency, places.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:40:07.012508
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "day_state",
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("service_day"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("principal", AutoString(length=80), nullable=False),
        sa.Column("key", AutoString(length=200), nullable=False),
        sa.Column("request_hash", AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("principal", "key"),
    )
    op.create_table(
        "meta",
        sa.Column("key", AutoString(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "named_place",
        sa.Column("id", AutoString(length=64), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("name_ja", AutoString(length=200), nullable=True),
        sa.Column("kind", AutoString(length=40), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rider",
        sa.Column("id", AutoString(length=32), nullable=False),
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("consent_personal_data", sa.Boolean(), nullable=False),
        sa.Column("consent_at", UTCDateTime(), nullable=True),
        sa.Column("display_name", AutoString(length=100), nullable=True),
        sa.Column("language", AutoString(length=8), nullable=True),
        sa.Column("home_lat", sa.Float(), nullable=True),
        sa.Column("home_lon", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rider", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rider_token_hash"), ["token_hash"], unique=True)

    op.create_table(
        "vehicle",
        sa.Column("id", AutoString(length=64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("wheelchair_places", sa.Integer(), nullable=False),
        sa.Column("depot_lat", sa.Float(), nullable=False),
        sa.Column("depot_lon", sa.Float(), nullable=False),
        sa.Column("depot_node", sa.Integer(), nullable=False),
        sa.Column("shift_start_s", sa.Integer(), nullable=False),
        sa.Column("shift_end_s", sa.Integer(), nullable=False),
        sa.Column("driver_token_hash", AutoString(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vehicle_driver_token_hash"), ["driver_token_hash"], unique=True
        )

    op.create_table(
        "booking",
        sa.Column("id", AutoString(length=32), nullable=False),
        sa.Column("rider_id", AutoString(length=32), nullable=True),
        sa.Column("service_day", sa.Date(), nullable=False),
        sa.Column("channel", AutoString(length=16), nullable=False),
        sa.Column("offer_id", AutoString(length=64), nullable=False),
        sa.Column("status", AutoString(length=16), nullable=False),
        sa.Column("passengers", sa.Integer(), nullable=False),
        sa.Column("wheelchairs", sa.Integer(), nullable=False),
        sa.Column("origin_lat", sa.Float(), nullable=True),
        sa.Column("origin_lon", sa.Float(), nullable=True),
        sa.Column("destination_lat", sa.Float(), nullable=True),
        sa.Column("destination_lon", sa.Float(), nullable=True),
        sa.Column("destination_place_id", AutoString(length=64), nullable=True),
        sa.Column("pickup_stop_id", AutoString(length=64), nullable=False),
        sa.Column("pickup_name", AutoString(length=200), nullable=False),
        sa.Column("pickup_lat", sa.Float(), nullable=False),
        sa.Column("pickup_lon", sa.Float(), nullable=False),
        sa.Column("pickup_walk_m", sa.Integer(), nullable=False),
        sa.Column("dropoff_stop_id", AutoString(length=64), nullable=False),
        sa.Column("dropoff_name", AutoString(length=200), nullable=False),
        sa.Column("dropoff_lat", sa.Float(), nullable=False),
        sa.Column("dropoff_lon", sa.Float(), nullable=False),
        sa.Column("dropoff_walk_m", sa.Integer(), nullable=False),
        sa.Column("pickup_earliest_s", sa.Integer(), nullable=False),
        sa.Column("pickup_latest_s", sa.Integer(), nullable=False),
        sa.Column("latest_arrival_s", sa.Integer(), nullable=False),
        sa.Column("expected_pickup_s", sa.Integer(), nullable=False),
        sa.Column("expected_arrival_s", sa.Integer(), nullable=False),
        sa.Column("contact_name", AutoString(length=100), nullable=True),
        sa.Column("contact_phone", AutoString(length=40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_by", AutoString(length=16), nullable=True),
        sa.Column("anonymised", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["rider_id"], ["rider.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("offer_id"),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_rider_id"), ["rider_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_service_day"), ["service_day"], unique=False)

    op.create_table(
        "saved_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rider_id", AutoString(length=32), nullable=False),
        sa.Column("name", AutoString(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["rider_id"], ["rider.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("saved_place", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_place_rider_id"), ["rider_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("saved_place", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_place_rider_id"))

    op.drop_table("saved_place")
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_service_day"))
        batch_op.drop_index(batch_op.f("ix_booking_rider_id"))

    op.drop_table("booking")
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicle_driver_token_hash"))

    op.drop_table("vehicle")
    with op.batch_alter_table("rider", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rider_token_hash"))

    op.drop_table("rider")
    op.drop_table("named_place")
    op.drop_table("meta")
    op.drop_table("idempotency_record")
    op.drop_table("day_state")
