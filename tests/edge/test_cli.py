"""``prep-edge`` commands: init, user add, audit-verify, backup and restore; errors in one line."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.backup import serve_lock
from edge.cli import main
from edge.passwords import verify_password
from edge.setup import InitResult

Node = tuple[Path, InitResult]
Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``prep-edge argv`` in-process; return the exit status, stdout and stderr."""
    if stdin is not None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdin", io.StringIO(stdin))
            code = main(list(argv))
    else:
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("prep-edge ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def user_row(data_dir: Path, username: str) -> tuple[str, str] | None:
    with sqlite3.connect(data_dir / "edge.sqlite") as db:
        row = db.execute(
            "SELECT role, password_hash FROM user_account WHERE username = ?", (username,)
        ).fetchone()
    return None if row is None else (row[0], row[1])


# --- init -----------------------------------------------------------------------------------------


def test_init_prints_the_one_time_password_and_refuses_a_second_init(
    tmp_path: Path, capsys: Capture
) -> None:
    data_dir = tmp_path / "node"
    site = ["--site-name", "Mission Kitchen", "--jurisdiction", "sf"]
    argv = ["init", "--data-dir", str(data_dir), *site, "--timezone", "America/Los_Angeles"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    printed = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    assert printed["host username"] == "host"
    stored = user_row(data_dir, "host")
    assert stored is not None and stored[0] == "host"
    assert verify_password(stored[1], printed["one-time password"])
    assert len(printed["node id"]) == 36
    assert (data_dir / "keys" / "jwt.key").stat().st_mode & 0o077 == 0

    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "already holds an edge database")


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--timezone", "Mars/Olympus_Mons", ["unknown time zone"]),
        ("--jurisdiction", "atlantis", ["unknown jurisdiction", "atlantis"]),
    ],
)
def test_init_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: Capture, option: str, value: str, words: list[str]
) -> None:
    given = {"--jurisdiction": "san_francisco", "--timezone": "America/Los_Angeles", option: value}
    argv = ["init", "--data-dir", str(tmp_path / "node"), "--site-name", "K"]
    code, _, err = run(capsys, *argv, *(x for pair in given.items() for x in pair))
    assert code == 2
    assert_one_line_error(err, *words)
    assert not (tmp_path / "node" / "edge.sqlite").exists()


def test_an_unusable_data_dir_is_one_line(tmp_path: Path, capsys: Capture) -> None:
    missing = tmp_path / "nowhere"
    for argv in (["serve"], ["backup"], ["audit-verify"], ["restore", "--from", "x.sqlite"]):
        code, _, err = run(capsys, *argv, "--data-dir", str(missing))
        assert code == 2, argv
        assert_one_line_error(err, str(missing))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    argv = ["--site-name", "K", "--jurisdiction", "sf", "--timezone", "UTC"]
    code, _, err = run(capsys, "init", "--data-dir", str(blocker / "node"), *argv)
    assert code == 2
    assert_one_line_error(err)


def test_enroll_with_an_unreachable_hub_is_one_line(node: Node, capsys: Capture) -> None:
    data_dir = str(node[0])
    argv = ["enroll", "--data-dir", data_dir, "--hub", "http://127.0.0.1:9", "--token", "t"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_line_error(err, "the hub did not answer")


def test_sync_once_before_enrolment_says_so_and_fails(node: Node, capsys: Capture) -> None:
    code, out, _ = run(capsys, "sync", "--data-dir", str(node[0]), "--once")
    assert code == 1
    assert "outcome: not_enrolled" in out and "enrolled: False" in out


def test_python_dash_m_edge_is_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "prep-edge" in done.stdout and "audit-verify" in done.stdout


# --- user add -------------------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin(node: Node, capsys: Capture) -> None:
    data_dir = str(node[0])
    argv = ["user", "add", "--data-dir", data_dir, "--role", "staff", "--username", "Door.Staff"]
    code, out, err = run(capsys, *argv, "--password-stdin", stdin="open sesame 42\n")
    assert code == 0, err
    assert "door.staff" in out
    assert "open sesame" not in out + err
    stored = user_row(node[0], "door.staff")
    assert stored is not None and stored[0] == "staff"
    assert verify_password(stored[1], "open sesame 42")

    code, _, err = run(capsys, *argv, "--password-stdin", stdin="another one 42\n")
    assert code == 2
    assert_one_line_error(err, "taken")


@pytest.mark.parametrize(
    ("extra", "stdin", "words"),
    [
        (["--role", "staff"], "long enough pw\n", ["--password-stdin"]),
        (["--role", "chef", "--password-stdin"], "long enough pw\n", ["unknown role", "chef"]),
        (["--role", "renter", "--password-stdin"], "long enough pw\n", ["renter"]),
        (["--role", "host", "--password-stdin"], "short\n", ["at least 8"]),
        (["--role", "host", "--password-stdin"], "", ["no password"]),
    ],
)
def test_user_add_refuses_bad_input(
    node: Node, capsys: Capture, extra: list[str], stdin: str, words: list[str]
) -> None:
    argv = ["user", "add", "--data-dir", str(node[0]), "--username", "someone", *extra]
    code, _, err = run(capsys, *argv, stdin=stdin)
    assert code == 2
    assert_one_line_error(err, *words)
    assert user_row(node[0], "someone") is None


# --- audit-verify ---------------------------------------------------------------------------------


def test_audit_verify_passes_then_catches_tampering(node: Node, capsys: Capture) -> None:
    data_dir = node[0]
    code, out, err = run(capsys, "audit-verify", "--data-dir", str(data_dir))
    assert code == 0, err
    with sqlite3.connect(data_dir / "edge.sqlite") as db:
        count = db.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    assert out.strip() == f"ok: {count} events"

    # An attacker with the file drops the append-only trigger and rewrites history.
    with sqlite3.connect(data_dir / "edge.sqlite") as db:
        db.execute("DROP TRIGGER audit_event_no_update")
        db.execute("UPDATE audit_event SET actor = 'host:nobody' WHERE seq = 2")
    code, out, err = run(capsys, "audit-verify", "--data-dir", str(data_dir))
    assert code == 1
    assert out == ""
    assert_one_line_error(err, "sequence 2", "altered")


# --- backup and restore ---------------------------------------------------------------------------


def test_backup_then_restore(node: Node, tmp_path: Path, capsys: Capture) -> None:
    data_dir, out_dir = node[0], tmp_path / "backups"
    code, out, err = run(capsys, "backup", "--data-dir", str(data_dir), "--out", str(out_dir))
    assert code == 0, err
    taken = Path(out.strip())
    assert taken.parent == out_dir and taken.is_file()

    add = ["user", "add", "--data-dir", str(data_dir), "--role", "staff", "--username", "late"]
    assert run(capsys, *add, "--password-stdin", stdin="after the backup\n")[0] == 0
    assert user_row(data_dir, "late") is not None

    code, out, err = run(capsys, "restore", "--data-dir", str(data_dir), "--from", str(taken))
    assert code == 0, err
    assert "restored" in out
    assert user_row(data_dir, "late") is None
    assert (data_dir / "edge.sqlite.pre-restore").is_file()
    assert run(capsys, "audit-verify", "--data-dir", str(data_dir))[0] == 0


def test_restore_refuses_while_serving_and_a_bad_backup(
    node: Node, tmp_path: Path, capsys: Capture
) -> None:
    data_dir = node[0]
    assert run(capsys, "backup", "--data-dir", str(data_dir))[0] == 0
    taken = next((data_dir / "backups").iterdir())
    with serve_lock(data_dir / "edge.sqlite"):
        code, _, err = run(capsys, "restore", "--data-dir", str(data_dir), "--from", str(taken))
    assert code == 2
    assert_one_line_error(err, "stop prep-edge serve")

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    code, _, err = run(capsys, "restore", "--data-dir", str(data_dir), "--from", str(junk))
    assert code == 2
    assert_one_line_error(err)
