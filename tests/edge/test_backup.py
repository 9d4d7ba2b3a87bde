"""Online backups (checked, pruned) and restoring one in place of the database."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.audit_verify import verify_database
from edge.backup import (
    BackupError,
    DatabaseInUse,
    backup,
    check_integrity,
    restore,
    serve_lock,
)
from edge.journal import SYSTEM
from edge.services import EdgeServices
from edge.settings import EdgeSettings
from tests.edge.conftest import START

Client = AsyncTestClient[Litestar]


def site_name(path: Path) -> str:
    with sqlite3.connect(path) as db:
        name: str = db.execute("SELECT name FROM site").fetchone()[0]
    return name


def rename_site(path: Path, name: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE site SET name = ?", (name,))


async def test_backup_of_a_serving_node_is_whole_and_checked(
    app: Litestar, client: Client, settings: EdgeSettings
) -> None:
    services: EdgeServices = app.state.services
    async with services.journal.write(SYSTEM, START) as tx:  # in the WAL, not yet checkpointed
        tx.record("test.note", "note", "1", {"before": "backup"})
    target = backup(settings.database_path, settings.backup_dir, START, keep=7)
    assert target == settings.backup_dir / "edge-20251105T160000Z.sqlite"
    check_integrity(target)
    assert not target.with_name(target.name + "-wal").exists()
    with sqlite3.connect(target) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        actions = [row[0] for row in db.execute("SELECT action FROM audit_event ORDER BY seq")]
    assert actions[-1] == "test.note"
    assert verify_database(target).ok
    assert [p.name for p in settings.backup_dir.iterdir()] == [target.name]  # no temp left


def test_only_the_newest_backups_are_kept(settings: EdgeSettings) -> None:
    (settings.backup_dir / "notes.txt").write_text("mine")
    (settings.backup_dir / "edge-manual.sqlite").write_bytes(b"")
    taken = [
        backup(settings.database_path, settings.backup_dir, START + timedelta(days=d), keep=2)
        for d in range(4)
    ]
    left = sorted(p.name for p in settings.backup_dir.iterdir())
    assert left == sorted([taken[2].name, taken[3].name, "edge-manual.sqlite", "notes.txt"])
    with pytest.raises(ValueError, match="at least one"):
        backup(settings.database_path, settings.backup_dir, START, keep=0)


def test_restore_puts_the_backup_in_place(settings: EdgeSettings) -> None:
    db = settings.database_path
    taken = backup(db, settings.backup_dir, START, keep=3)
    rename_site(db, "Changed After Backup")
    kept = restore(taken, db)
    assert site_name(db) == "Mission Kitchen"
    assert kept == db.with_name("edge.sqlite.pre-restore")
    assert site_name(kept) == "Changed After Backup"
    check_integrity(db)
    assert verify_database(db).ok


def test_restore_drops_stale_wal_and_shm_files(
    settings: EdgeSettings,
) -> None:
    db = settings.database_path
    taken = backup(db, settings.backup_dir, START, keep=3)
    for suffix in ("-wal", "-shm"):  # left over from the database being replaced
        Path(f"{db}{suffix}").write_bytes(b"stale" * 1000)
    restore(taken, db)
    assert not Path(f"{db}-wal").exists()
    assert not Path(f"{db}-shm").exists()
    assert site_name(db) == "Mission Kitchen"


def test_restore_refuses_a_damaged_or_foreign_file(settings: EdgeSettings, tmp_path: Path) -> None:
    db = settings.database_path
    taken = backup(db, settings.backup_dir, START, keep=3)
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(taken.read_bytes()[:4096] + b"\xff" * 8192)
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as other:
        other.execute("CREATE TABLE t (x)")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    for bad in (damaged, foreign, garbage, tmp_path / "absent.sqlite"):
        with pytest.raises(BackupError):
            restore(bad, db)
    assert site_name(db) == "Mission Kitchen"
    assert not db.with_name(db.name + ".pre-restore").exists()


def test_restore_refuses_while_the_node_is_served(settings: EdgeSettings) -> None:
    db = settings.database_path
    taken = backup(db, settings.backup_dir, START, keep=3)
    with serve_lock(db), pytest.raises(DatabaseInUse, match="stop prep-edge serve"):
        restore(taken, db)
    with sqlite3.connect(db) as writer:
        writer.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseInUse):
            restore(taken, db)
        writer.rollback()
    assert restore(taken, db) is not None


def test_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no such database"):
        backup(tmp_path / "absent.sqlite", tmp_path / "backups", START, keep=1)
