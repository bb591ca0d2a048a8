"""The status plugin's tables: health probes, incidents, and the lease of the prober.

Revision ID: status_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "status_0001"
down_revision = None
branch_labels = ("status",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_probes",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        # The UTC day of ``time`` (YYYY-MM-DD), for the daily bars without date functions.
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("healthy", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "time"),
    )
    op.create_index("status_probes_time", "status_probes", ["time"])
    op.create_table(
        "status_incidents",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("ended", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("provider", "started"),
    )
    op.create_table(
        "status_lease",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("status_lease")
    op.drop_table("status_incidents")
    op.drop_table("status_probes")
