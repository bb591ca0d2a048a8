"""The journal's hash chain, its signed checkpoints, and the citizen's pseudonym.

Revision ID: journal_0002
Revises: journal_0001
Create Date: 2026-12-03

``calls`` gains ``subject`` (a keyed pseudonym of the citizen) and ``scopes``, and the
chain's ``seq`` (the row's position) and ``digest``. Rows written before this revision
keep no position: they are outside the chain, and age out with the retention (see
api_particulier.chain). ``journal_chain`` holds the chain's head (one row), and
``journal_checkpoints`` the signed checkpoints.

On PostgreSQL, columns and indexes added to the partitioned ``calls`` reach every
partition, present and future.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "journal_0002"
down_revision = "journal_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("subject", sa.Text()))
    op.add_column("calls", sa.Column("scopes", sa.Text()))
    op.add_column("calls", sa.Column("seq", sa.BigInteger()))
    op.add_column("calls", sa.Column("digest", sa.Text()))
    # Positions grow at the end, as times do: an index cheap to maintain. The citizen's
    # pseudonym is random, so its index holds only the rows that have one.
    op.create_index("calls_seq", "calls", ["seq"])
    op.create_index(
        "calls_subject",
        "calls",
        ["subject"],
        postgresql_where=sa.text("subject IS NOT NULL"),
        sqlite_where=sa.text("subject IS NOT NULL"),
    )
    op.create_table(
        "journal_chain",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
    )
    # The chain begins now: a row without a position written later was slipped in.
    op.execute(
        sa.text(
            "INSERT INTO journal_chain (id, seq, digest, started) VALUES (1, 0, :genesis, :now)"
        ).bindparams(genesis="0" * 64, now=time.time())
    )
    op.create_table(
        "journal_checkpoints",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journal_checkpoints")
    op.drop_table("journal_chain")
    op.drop_index("calls_subject", "calls")
    op.drop_index("calls_seq", "calls")
    for column in ("digest", "seq", "scopes", "subject"):
        op.drop_column("calls", column)
