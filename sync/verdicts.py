"""The compliance verdict: ALLOW, CONDITIONS or DENY with every rule result that led to it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer


class Outcome(StrEnum):
    ALLOW = "ALLOW"
    CONDITIONS = "CONDITIONS"
    DENY = "DENY"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


BLOCKING_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})
OUTCOME_RANK = {Outcome.ALLOW: 0, Outcome.CONDITIONS: 1, Outcome.DENY: 2}


class RuleResult(BaseModel):
    """One violation, condition or warning."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    severity: Severity
    message: str
    remedy: str | None = None
    citation: str | None = None


AwareInstant = Annotated[datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str)]


class Verdict(BaseModel):
    """The engine's answer for one scenario (CONTRACT.md, "Compliance scenario")."""

    model_config = ConfigDict(frozen=True)

    jurisdiction: str
    result: Outcome
    violations: list[RuleResult]
    warnings: list[RuleResult]
    conditions: list[RuleResult]
    evaluated_at: AwareInstant
    blocking_violations_count: int
    ruleset_version: str


def decide(violations: list[RuleResult], conditions: list[RuleResult]) -> Outcome:
    """Critical or high violations deny; any other violation or condition conditions."""
    if any(v.severity in BLOCKING_SEVERITIES for v in violations):
        return Outcome.DENY
    if violations or conditions:
        return Outcome.CONDITIONS
    return Outcome.ALLOW
