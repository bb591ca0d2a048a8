"""The journal: one row per call.

Revision ID: journal_0001
Revises:
Create Date: 2026-12-03

On SQLite, the table the store had before migrations existed (a store made then is
stamped at this revision). On PostgreSQL, a table partitioned by month on ``time``: old
months are dropped whole, and the partitions ahead are made by the store
(api_particulier.store.postgresql); a default partition keeps a row whose month has no
partition yet. Beside it, ``calls_daily`` counts successful data calls per day and
provider, so that statistics do not scan the rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "journal_0001"
down_revision = None
branch_labels = ("journal",)
depends_on = None

_COLUMNS = """
    request_id text NOT NULL,
    time double precision NOT NULL,
    route text NOT NULL,
    status integer NOT NULL,
    latency_ms double precision NOT NULL,
    key_id text,
    application_id text,
    provider text,
    cache_hit boolean NOT NULL,
    consent_evidence text,
    recipient text,
    error text
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE calls_row_id_seq")
        op.execute(
            "CREATE TABLE calls (row_id bigint NOT NULL DEFAULT nextval('calls_row_id_seq'),"
            f"{_COLUMNS}) PARTITION BY RANGE (time)"
        )
        op.execute("ALTER SEQUENCE calls_row_id_seq OWNED BY calls.row_id")
        op.execute("CREATE TABLE calls_default PARTITION OF calls DEFAULT")
        op.create_index("calls_time", "calls", ["time"])
        op.create_table(
            "calls_daily",
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("provider", sa.Text(), nullable=False),
            sa.Column("calls", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("day", "provider"),
        )
        return
    # A caller may send the same X-Request-Id twice: each request still gets its own row.
    op.create_table(
        "calls",
        sa.Column("row_id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("key_id", sa.Text()),
        sa.Column("application_id", sa.Text()),
        sa.Column("provider", sa.Text()),
        sa.Column("cache_hit", sa.Integer(), nullable=False),
        sa.Column("consent_evidence", sa.Text()),
        sa.Column("recipient", sa.Text()),
        sa.Column("error", sa.Text()),
    )
    # Rows arrive in time order, so this index grows at its end: cheap to maintain. An
    # index on the random request ids would cost more than every other step of the insert.
    op.create_index("calls_time", "calls", ["time"])


def downgrade() -> None:
    op.drop_table("calls")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("calls_daily")
