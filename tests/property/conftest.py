"""Fixtures of the property tests: the rule book compiled from the packaged sources, once."""

from __future__ import annotations

import pytest

from reference_db.builder import DEFAULT_SOURCES, compile_sources
from reference_db.reader import load_rulebook
from reference_db.rulebook import RuleBook


@pytest.fixture(scope="session")
def book() -> RuleBook:
    """The rules every property is checked against (the packaged sources, unsigned)."""
    return load_rulebook(compile_sources(DEFAULT_SOURCES))
