"""Brings an edge database to the newest schema with Alembic (run by ``init`` and ``serve``)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0003"  # the newest file in migrations/versions (a test keeps this true)


def alembic_config(database: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{database}")
    return config


def current_revision(database: Path) -> str | None:
    """The schema revision recorded in the database, read without loading Alembic."""
    try:
        with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def upgrade(database: Path) -> None:
    """Bring the schema to head; a database already there costs one query (fast start)."""
    if database.exists() and current_revision(database) == HEAD_REVISION:
        return
    command.upgrade(alembic_config(database), "head")
