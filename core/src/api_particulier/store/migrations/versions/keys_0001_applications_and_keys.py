"""Applications and their keys.

Revision ID: keys_0001
Revises:
Create Date: 2026-12-03

The schema the SQLite store had before migrations existed: a store made then is stamped
at this revision (api_particulier.store.schema), not created again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "keys_0001"
down_revision = None
branch_labels = ("keys",)
depends_on = None

# An application as JSON: bytes on SQLite (read with json_extract), jsonb on PostgreSQL.
_BODY = sa.LargeBinary().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("body", _BODY, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("application_id", sa.Text(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("digest", sa.Text(), unique=True),
        sa.Column("legacy_sha512", sa.Text(), unique=True),
        sa.Column("hint", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float()),
        sa.Column("revoked_at", sa.Float()),
        sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("applications")
