"""The consent plugin's replay memory in the deployment's store: used receipt ids.

Revision ID: consent_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "consent_0001"
down_revision = None
branch_labels = ("consent",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_used_receipts",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("consent_used_receipts_expiry", "consent_used_receipts", ["expires_at"])


def downgrade() -> None:
    op.drop_table("consent_used_receipts")
