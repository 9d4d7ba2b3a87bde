"""The work behind each ``prep-refdb`` subcommand; argument parsing lives in ``cli``.

The clock and the environment are read here, at the edge of the program, and passed inward.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from reference_db.builder import DEFAULT_SOURCES, build_bundle, compile_sources
from reference_db.bundle import open_read_only, verify_bundle
from reference_db.compliance.engine import evaluate, one_line, parse_scenario
from reference_db.errors import InputError, InvalidScenario, RefDbError
from reference_db.fees import quote
from reference_db.info import describe, render_text
from reference_db.progress import Progress
from reference_db.reader import load_rulebook, open_rulebook
from reference_db.rulebook import RuleBook
from reference_db.signing import generate_keypair, load_public_key
from reference_db.source_schema import TABLES
from sync.instants import FIRST_YEAR, LAST_YEAR
from sync.quotes import QuoteRequest
from sync.verdicts import Verdict

DEFAULT_BUNDLE = "build/prep-reference.sqlite"


def run_keygen(args: argparse.Namespace) -> int:
    key_id = generate_keypair(Path(args.out))
    print(f"wrote {args.out} and {args.out}.pub (key id {key_id})")
    return 0


def run_build(args: argparse.Namespace) -> int:
    key = args.key or os.environ.get("PREP_REFDB_SIGNING_KEY")
    if not key:
        raise InputError("no signing key: pass --key KEYFILE (create one with prep-refdb keygen)")
    sources = Path(args.sources) if args.sources else DEFAULT_SOURCES
    progress = Progress("build", total=len(TABLES) + 1, stream=sys.stderr)
    manifest = build_bundle(sources, Path(args.out), Path(key), dict(os.environ), progress.step)
    progress.done()
    print(
        f"built {args.out}: {manifest.bundle_id} version {manifest.version}, "
        f"{manifest.size_bytes} bytes, sha256 {manifest.sha256[:16]}…, key {manifest.key_id}"
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    pubkey = args.pubkey or os.environ.get("PREP_REFDB_PUBKEY")
    if not pubkey:
        raise InputError("no public key: pass --pubkey KEY (the pinned KEYFILE.pub)")
    now = _instant(args.at, "--at") if args.at else datetime.now(UTC)
    manifest = verify_bundle(
        Path(args.file), load_public_key(Path(pubkey)), now, args.current_version
    )
    print(
        f"valid: {manifest.bundle_id} version {manifest.version}, sha256 {manifest.sha256[:16]}…, "
        f"key {manifest.key_id}, expires {manifest.expires_at}"
    )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    book = _rulebook(args.db)
    as_of = _instant(args.as_of, "--as-of") if args.as_of else None
    with _open_input(args.scenario) as stream:
        if args.jsonl:
            return _evaluate_lines(stream, book, as_of)
        scenario = parse_scenario(stream.read())
    verdict = evaluate(scenario, book, scenario.as_of or as_of or datetime.now(UTC))
    print(brief(verdict) if args.brief else verdict.model_dump_json(indent=2))
    return 0


def brief(verdict: Verdict) -> str:
    """``DENY  SOUND_QUIET_HOURS (high), ...; conditions: FEES_LODGING; warnings: ...``"""
    parts = [", ".join(f"{v.rule_id} ({v.severity})" for v in verdict.violations)]
    for label, items in (("conditions", verdict.conditions), ("warnings", verdict.warnings)):
        if items:
            parts.append(f"{label}: " + ", ".join(item.rule_id for item in items))
    return f"{verdict.result:<10} " + "; ".join(part for part in parts if part)


def _evaluate_lines(stream: TextIO, book: RuleBook, as_of: datetime | None) -> int:
    """One verdict per input line; a bad line answers an error line and the run exits 2."""
    out = sys.stdout
    failed = 0
    now = datetime.now(UTC)
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            scenario = parse_scenario(line)
            out.write(evaluate(scenario, book, scenario.as_of or as_of or now).model_dump_json())
        except RefDbError as exc:
            failed += 1
            error = {"code": exc.code, "message": str(exc), "details": {"line": number}}
            out.write(json.dumps({"error": error}))
            print(f"prep-refdb evaluate: line {number}: {exc}", file=sys.stderr)
        out.write("\n")
    return 2 if failed else 0


def run_quote(args: argparse.Namespace) -> int:
    book = _rulebook(args.db)
    with _open_input(args.request) as stream:
        text = stream.read()
    try:
        request = QuoteRequest.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidScenario(one_line(exc)) from None
    print(quote(request, book).model_dump_json(indent=2))
    return 0


def run_info(args: argparse.Namespace) -> int:
    summary = describe(_connection(args.db), args.jurisdiction)
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else render_text(summary))
    return 0


def _connection(db: str | None) -> sqlite3.Connection:
    path = db or os.environ.get("PREP_REFDB_DB")
    return open_read_only(Path(path)) if path else compile_sources(DEFAULT_SOURCES)


def _rulebook(db: str | None) -> RuleBook:
    path = db or os.environ.get("PREP_REFDB_DB")
    if path:
        return open_rulebook(Path(path))
    return load_rulebook(compile_sources(DEFAULT_SOURCES))


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        raise InputError(f"{option}: give a UTC offset, e.g. {text}Z")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InputError(f"{option}: year {value.year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return value


class _open_input:
    """``-`` is standard input; anything else a UTF-8 file, with a one-line error if missing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handle: TextIO | None = None

    def __enter__(self) -> TextIO:
        if self.name == "-":
            return sys.stdin
        try:
            self.handle = Path(self.name).open(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror}") from None
        return self.handle

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()
