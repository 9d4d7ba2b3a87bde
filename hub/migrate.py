"""Brings the hub database to the newest schema with Alembic (``prep-hub migrate``, tests).

Every upgrade runs in one transaction under a PostgreSQL advisory lock, so hub replicas that
start ``migrate`` together take turns and a failed migration leaves nothing half-done.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0003"  # the newest file in migrations/versions (a test keeps this true)
MIGRATION_LOCK = 7_072_101_112  # pg_advisory_xact_lock key: "prep" in spirit, any constant works


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_async(database_url: str) -> None:
    """Upgrade the database at ``database_url`` to head (inside a running event loop)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            await connection.execute(lock, {"key": MIGRATION_LOCK})
            await connection.run_sync(_upgrade)
    finally:
        await engine.dispose()


def upgrade(database_url: str) -> None:
    """Upgrade the database at ``database_url`` to head (from synchronous code: CLI, fixtures)."""
    asyncio.run(upgrade_async(database_url))


async def current_revision(connection: AsyncConnection) -> str | None:
    """The schema revision recorded in the database, or None before the first migration."""
    exists = await connection.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    if not exists:
        return None
    version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    return str(version) if version is not None else None
