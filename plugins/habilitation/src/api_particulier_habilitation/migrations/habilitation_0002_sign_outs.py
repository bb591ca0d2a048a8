"""When each address last signed out: sessions signed in before are over, on every browser
and every host (a session is a signed cookie, which signing out alone cannot recall).

Revision ID: habilitation_0002
Revises: habilitation_0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "habilitation_0002"
down_revision = "habilitation_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "habilitation_sign_outs",
        sa.Column("email", sa.Text(), primary_key=True),
        sa.Column("signed_out_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("habilitation_sign_outs")
