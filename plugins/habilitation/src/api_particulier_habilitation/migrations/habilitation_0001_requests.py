"""The habilitation plugin's tables: requests, their events, instructors, sign-in links,
key reveals, documents, DataPass deliveries and the plugin's own secret.

Revision ID: habilitation_0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "habilitation_0001"
down_revision = None
branch_labels = ("habilitation",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "habilitation_requests",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("requester_email", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        # The number of events: each event is stored with the next number, so two actors
        # acting on the same version cannot both succeed.
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        # The form as last validated (what the application was made from).
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("application_id", sa.Text(), nullable=True),
        # Set for a request received from DataPass.
        sa.Column("datapass_id", sa.Text(), nullable=True, unique=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("habilitation_requests_requester", "habilitation_requests", ["requester_email"])
    op.create_index("habilitation_requests_state", "habilitation_requests", ["state"])
    op.create_table(
        "habilitation_events",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
    )
    op.create_table(
        "habilitation_instructors",
        sa.Column("email", sa.Text(), primary_key=True),
        sa.Column("added_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "habilitation_sign_in_links",
        sa.Column("token_hash", sa.Text(), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        # The client address's hash, for the rate limit.
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
    )
    op.create_index("habilitation_sign_in_links_email", "habilitation_sign_in_links", ["email"])
    op.create_table(
        "habilitation_key_reveals",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=True),
        # For a link e-mailed to a technical contact: the link's token, hashed.
        sa.Column("token_hash", sa.Text(), nullable=True, unique=True),
        sa.Column("key_expires_at", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revealed_at", sa.Float(), nullable=True),
    )
    op.create_table(
        "habilitation_documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
    )
    op.create_index("habilitation_documents_request", "habilitation_documents", ["request_id"])
    op.create_table(
        "habilitation_deliveries",
        sa.Column("digest", sa.Text(), primary_key=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
    )
    op.create_table(
        "habilitation_secrets",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "habilitation_secrets",
        "habilitation_deliveries",
        "habilitation_documents",
        "habilitation_key_reveals",
        "habilitation_sign_in_links",
        "habilitation_instructors",
        "habilitation_events",
        "habilitation_requests",
    ):
        op.drop_table(table)
