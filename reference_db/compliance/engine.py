"""Runs every compliance check, in the order the verdict lists them, and decides the outcome.

Critical and high violations deny; any other violation or a condition gives CONDITIONS;
warnings never change the verdict. The function is pure: "now" is ``as_of``, an input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from reference_db.compliance.booking_checks import (
    check_fee_disclosure,
    check_quiet_hours,
    check_rental_limits,
    check_seasonal,
)
from reference_db.compliance.context import Context
from reference_db.compliance.renter_checks import check_documents, check_federal, check_insurance
from reference_db.compliance.site_checks import (
    check_ada,
    check_grease,
    check_inspections,
    check_maintenance,
    check_permits,
    check_zoning,
)
from reference_db.errors import InvalidScenario
from reference_db.localtime import to_utc
from reference_db.rulebook import RuleBook
from sync.scenarios import Scenario
from sync.verdicts import BLOCKING_SEVERITIES, Verdict, decide

CHECKS: tuple[Callable[[Context], None], ...] = (
    check_permits,
    check_zoning,
    check_insurance,
    check_quiet_hours,
    check_rental_limits,
    check_seasonal,
    check_ada,
    check_grease,
    check_inspections,
    check_maintenance,
    check_documents,
    check_federal,
    check_fee_disclosure,
)


def evaluate(scenario: Scenario, book: RuleBook, as_of: datetime | None = None) -> Verdict:
    """The verdict for ``scenario`` at ``as_of`` (or the scenario's own ``as_of``)."""
    rules = book.resolve(scenario.jurisdiction)
    when = as_of or scenario.as_of
    if when is None:
        raise InvalidScenario("as_of is required: the instant the scenario is evaluated at")
    ctx = Context(book, rules, scenario, to_utc(when, rules.tz))
    for check in CHECKS:
        check(ctx)
    if rules.rule_pack != "full":
        ctx.emit(
            "RULEPACK_PARTIAL",
            f"{rules.name} has only a partial rule pack; some checks were not run",
            "Confirm local requirements with the health department",
        )
    return Verdict(
        jurisdiction=rules.id,
        result=decide(ctx.violations, ctx.conditions),
        violations=ctx.violations,
        warnings=ctx.warnings,
        conditions=ctx.conditions,
        evaluated_at=ctx.as_of.astimezone(UTC),
        blocking_violations_count=sum(v.severity in BLOCKING_SEVERITIES for v in ctx.violations),
        ruleset_version=book.ruleset_version,
    )


def parse_scenario(data: Mapping[str, Any] | str | bytes) -> Scenario:
    """Validate raw JSON (text or decoded) into a ``Scenario``, with a one-line error."""
    try:
        if isinstance(data, str | bytes):
            return Scenario.model_validate_json(data)
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InvalidScenario(one_line(exc)) from None


def one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "scenario"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def evaluate_json(
    data: Mapping[str, Any] | str | bytes, book: RuleBook, as_of: datetime | None = None
) -> Verdict:
    return evaluate(parse_scenario(data), book, as_of)
