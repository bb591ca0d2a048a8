"""Each journal row's scopes stored once per distinct set.

Revision ID: journal_0003
Revises: journal_0002
Create Date: 2026-12-03

``calls.scopes`` held the text of the scopes each answer could show, hundreds of bytes
repeated on nearly every row. ``journal_scope_sets`` now holds each distinct text once,
under a key derived from it (the first 128 bits of its SHA-256, as
api_particulier.store.scope_sets computes it), and ``calls.scope_set`` holds the key. The
rows read back are the same, so the chain's digests still verify.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "journal_0003"
down_revision = "journal_0002"
branch_labels = None
depends_on = None


def _key(scopes: str) -> str:
    # Written out here: a migration keeps the formula it was written with.
    return hashlib.sha256(scopes.encode("utf-8")).hexdigest()[:32]


def upgrade() -> None:
    op.create_table(
        "journal_scope_sets",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("scopes", sa.Text(), nullable=False),
    )
    op.add_column("calls", sa.Column("scope_set", sa.Text()))
    connection = op.get_bind()
    texts = [
        row[0]
        for row in connection.execute(
            sa.text("SELECT DISTINCT scopes FROM calls WHERE scopes IS NOT NULL")
        )
    ]
    for scopes in texts:
        key = _key(scopes)
        connection.execute(
            sa.text("INSERT INTO journal_scope_sets (key, scopes) VALUES (:key, :scopes)"),
            {"key": key, "scopes": scopes},
        )
        connection.execute(
            sa.text("UPDATE calls SET scope_set = :key WHERE scopes = :scopes"),
            {"key": key, "scopes": scopes},
        )
    op.drop_column("calls", "scopes")


def downgrade() -> None:
    op.add_column("calls", sa.Column("scopes", sa.Text()))
    op.execute(
        "UPDATE calls SET scopes = (SELECT s.scopes FROM journal_scope_sets AS s "
        "WHERE s.key = calls.scope_set) WHERE scope_set IS NOT NULL"
    )
    op.drop_column("calls", "scope_set")
    op.drop_table("journal_scope_sets")
