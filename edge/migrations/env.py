"""Alembic environment for the edge database (SQLite, batch mode for ALTERs)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from edge.tables import EdgeModel

url = context.config.get_main_option("sqlalchemy.url")
if url is None:
    raise RuntimeError("alembic config has no sqlalchemy.url (use edge.migrate.upgrade)")
engine = create_engine(url)
with engine.begin() as connection:
    context.configure(
        connection=connection, target_metadata=EdgeModel.metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
