"""Online backups of the edge database with SQLite's backup API, and restoring one of them.

``backup`` copies the live database (the edge may keep serving: the backup API reads one
consistent snapshot, WAL included) into ``DEST/edge-YYYYMMDDTHHMMSSZ.sqlite``: written under a
temporary name, switched to a single-file journal, checked with ``PRAGMA integrity_check``,
fsynced and renamed into place; then only the newest ``keep`` backups are kept.

``restore`` replaces the database with a backup. **Stop ``prep-edge serve`` first**: a running
edge holds open connections and its own idea of the counters. ``serve`` should hold
``serve_lock`` while it runs; ``restore`` takes the same lock and also refuses a database with
a write in progress. The backup is checked before anything is touched, the current database is
copied aside to ``<db>.pre-restore`` when it can be read, stale ``-wal``/``-shm`` files are
removed and the backup is renamed into place.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from edge.errors import EdgeError

log = logging.getLogger("prep.edge.backup")
BACKUP_NAME = re.compile(r"edge-\d{8}T\d{6}Z\.sqlite")


class BackupError(EdgeError):
    """A backup could not be taken, checked or restored."""

    status = 500
    code = "backup_failed"


class DatabaseInUse(BackupError):
    """The database is being served or written; stop ``prep-edge serve`` first."""

    status = 409
    code = "database_in_use"


def backup(db_path: Path, dest_dir: Path, now: datetime, keep: int) -> Path:
    """Take a backup named for ``now`` (UTC) in ``dest_dir``; keep the newest ``keep``."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    dest_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = dest_dir / f"edge-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.sqlite"
    copy_online(db_path, target)
    prune(dest_dir, keep)
    return target


def copy_online(db_path: Path, target: Path) -> Path:
    """Copy a live database to ``target`` (a checked, self-contained file), atomically."""
    if not db_path.is_file():
        raise BackupError(f"{db_path}: no such database")
    temp = target.with_name(f".{target.name}.tmp")
    temp.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(db_path)) as src, closing(sqlite3.connect(temp)) as dst:
            src.execute("PRAGMA busy_timeout=5000")
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        check_integrity(temp)
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {db_path} failed: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target


def prune(dest_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (only files named like ours); returns them."""
    ours = sorted(p for p in dest_dir.iterdir() if BACKUP_NAME.fullmatch(p.name))
    stale = ours[:-keep] if keep else ours
    for path in stale:
        path.unlink()
    return stale


def check_integrity(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            rows = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    if rows != ["ok"]:
        raise BackupError(f"{path} failed the integrity check: {'; '.join(rows[:3])}")


def restore(backup_file: Path, db_path: Path) -> Path | None:
    """Put ``backup_file`` in place of ``db_path`` (serve stopped); returns the set-aside copy."""
    if not backup_file.is_file():
        raise BackupError(f"{backup_file}: no such backup")
    check_integrity(backup_file)
    _check_edge_schema(backup_file)
    with serve_lock(db_path):
        _refuse_if_busy(db_path)
        temp = db_path.with_name(f".{db_path.name}.restore.tmp")
        try:
            shutil.copyfile(backup_file, temp)
            _new_generation(temp)
            _fsync(temp)
            check_integrity(temp)
            kept = _set_aside(db_path)
            for suffix in ("-wal", "-shm"):  # they belong to the database being replaced
                db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
            os.replace(temp, db_path)
            _fsync(db_path.parent)
        finally:
            temp.unlink(missing_ok=True)
    return kept


def _new_generation(path: Path) -> None:
    """A restored database is a new generation: the hub will not mistake its sequence numbers
    (which restart from the backup's) for changes it already has; it asks for re-enrolment."""
    with closing(sqlite3.connect(path)) as conn:
        try:
            conn.execute("UPDATE sync_state SET generation = lower(hex(randomblob(16)))")
            conn.commit()
        except sqlite3.OperationalError:  # a backup from before sync: its migration makes one
            pass


@contextmanager
def serve_lock(db_path: Path) -> Iterator[None]:
    """Hold ``<db>.lock`` exclusively (serve while running, restore while replacing)."""
    fd = os.open(db_path.with_name(db_path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(f"{db_path} is in use: stop prep-edge serve first") from None
        yield
    finally:
        os.close(fd)


def _check_edge_schema(path: Path) -> None:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        found = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('node_state', 'audit_event')"
        ).fetchone()[0]
    if found != 2:
        raise BackupError(f"{path} is not an edge database backup")


def _refuse_if_busy(db_path: Path) -> None:
    if not db_path.exists():
        return
    try:
        with closing(sqlite3.connect(db_path, timeout=0, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        raise DatabaseInUse(f"{db_path} is busy ({exc}): stop prep-edge serve first") from None


def _set_aside(db_path: Path) -> Path | None:
    if not db_path.exists():
        return None
    aside = db_path.with_name(db_path.name + ".pre-restore")
    try:
        return copy_online(db_path, aside)
    except BackupError as exc:  # a damaged database is the usual reason to restore
        log.warning("the current database could not be copied aside: %s", exc)
        return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
