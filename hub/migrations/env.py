"""Alembic environment for the hub database (PostgreSQL through asyncpg).

``hub.migrate`` opens the connection and hands it over in ``config.attributes["connection"]``;
running ``alembic`` by hand without it is refused, so every upgrade takes the same lock.
"""

from __future__ import annotations

from alembic import context

from hub.tables import HubModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the hub's migrations with hub.migrate.upgrade (prep-hub migrate)")
context.configure(connection=connection, target_metadata=HubModel.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
