"""Alembic's entry for the store's migrations: always run with a connection the service
opened (api_particulier.store.schema), never from a URL in an ini file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    # SQLite changes a table by copying it: batch operations make that work on both.
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
