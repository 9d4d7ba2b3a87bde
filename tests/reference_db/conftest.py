"""Fixtures for the reference database tests: the packaged rules and the shared seed data."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_db.builder import DEFAULT_SOURCES, compile_sources
from reference_db.reader import load_rulebook
from reference_db.rulebook import RuleBook

SEED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "seed-data"


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return load_rulebook(compile_sources(DEFAULT_SOURCES))


@pytest.fixture(scope="session")
def seed_data() -> Path:
    if not SEED_DATA.is_dir():
        pytest.fail(f"the shared seed data is missing at {SEED_DATA}")
    return SEED_DATA
