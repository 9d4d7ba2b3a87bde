"""Checks of the renter: insurance, required documents and the federal certification chain."""

from __future__ import annotations

from datetime import datetime, timedelta

from reference_db.compliance.context import Context, dollars, rule_suffix
from reference_db.federal import certification_body_id, check_chain, scope_for_activity
from sync.scenarios import FederalCertificate, Insurance

_APPROVED = frozenset({"approved", "active", "valid"})


def check_insurance(ctx: Context) -> None:
    rule = ctx.rules.insurance
    if rule is None:
        return
    insurance = ctx.scenario.renter.insurance or Insurance()
    if insurance.general_liability_cents < rule.liability_min_cents:
        ctx.emit(
            "INSURANCE_LIABILITY",
            "General liability coverage below minimum "
            f"({dollars(rule.liability_min_cents)} required, "
            f"{dollars(insurance.general_liability_cents)} provided)",
            f"Obtain general liability insurance of at least {dollars(rule.liability_min_cents)}",
        )
    if insurance.aggregate_cents < rule.aggregate_min_cents:
        ctx.emit(
            "INSURANCE_AGGREGATE",
            f"Aggregate coverage below minimum ({dollars(rule.aggregate_min_cents)} required)",
            f"Obtain aggregate coverage of at least {dollars(rule.aggregate_min_cents)}",
        )
    phrase = rule.additional_insured
    if (
        phrase
        and phrase.casefold()
        not in " ".join((insurance.additional_insured_text or "").split()).casefold()
    ):
        ctx.emit(
            "INSURANCE_ADDITIONAL_INSURED",
            f"COI must list '{phrase}' as additional insured",
            f"Update your Certificate of Insurance to include '{phrase}' as additional insured",
        )
    if insurance.expires_at is not None:
        _check_insurance_expiry(ctx, ctx.instant(insurance.expires_at), rule.expiry_warning_days)


def _check_insurance_expiry(ctx: Context, expires: datetime, warning_days: int) -> None:
    shown = f"{ctx.local(expires):%Y-%m-%d}"
    if expires <= ctx.as_of:
        ctx.emit(
            "INSURANCE_EXPIRED",
            f"Insurance expired on {shown}",
            "Upload a current Certificate of Insurance",
        )
    elif expires < ctx.end:
        ctx.emit(
            "INSURANCE_EXPIRED",
            f"Insurance expires on {shown}, before the booking ends",
            "Upload a Certificate of Insurance covering the whole booking",
        )
    elif expires - ctx.as_of <= timedelta(days=warning_days):
        ctx.emit(
            "INSURANCE_EXPIRING",
            f"Insurance expires on {shown}",
            "Renew the insurance and upload the new certificate",
        )


def check_documents(ctx: Context) -> None:
    """Required renter documents; an absent document list is not checked (not supplied)."""
    documents = ctx.scenario.renter.documents
    if documents is None:
        return
    for kind in ctx.rules.renter_documents:
        held = [d for d in documents if d.kind.strip().lower() == kind]
        label = kind.replace("_", " ")
        rule_id = f"DOC_{rule_suffix(kind)}"
        current = [d for d in held if d.expires_at is None or ctx.instant(d.expires_at) >= ctx.end]
        if not held:
            ctx.emit(rule_id, f"Missing {label}", f"Upload a current {label}")
        elif not current:
            ctx.emit(rule_id, f"{label.capitalize()} expired", f"Upload a current {label}")
        elif not any(d.status.strip().lower() in _APPROVED for d in current):
            _unapproved(ctx, rule_id, label, [d.status.strip().lower() for d in current])


def _unapproved(ctx: Context, rule_id: str, label: str, statuses: list[str]) -> None:
    """Awaiting review is a condition (check the paper copy); anything else blocks."""
    if "pending" in statuses:
        ctx.emit(
            "DOC_REVIEW_PENDING",
            f"{label.capitalize()} is awaiting review",
            f"Check the original {label} before letting the renter in",
        )
    else:
        ctx.emit(
            rule_id,
            f"{label.capitalize()} is {statuses[0]}, not approved",
            f"Upload another {label} for review",
        )


def check_federal(ctx: Context) -> None:
    renter = ctx.scenario.renter
    registry = ctx.book.federal
    day = ctx.local(ctx.as_of).date()
    certificates = [c for c in renter.certifications if isinstance(c, FederalCertificate)]
    for certificate in certificates:
        _check_certificate(ctx, certificate)
    product = ctx.scenario.booking.product_type
    activities = list(dict.fromkeys([*renter.activities, *([product] if product else [])]))
    for activity in activities:
        scope = scope_for_activity(registry, activity)
        if scope is None:
            if activity in renter.activities:
                ctx.emit(
                    "FEDERAL_ACTIVITY_UNKNOWN",
                    f"Activity {activity!r} has no federal scope on file",
                    "Check the activity name, or ask support to classify it",
                )
            continue
        if not scope.requires_certification:
            continue
        held = any(
            c.scope.strip().upper() == scope.code
            and (c.expires_at is None or ctx.instant(c.expires_at) > ctx.as_of)
            and check_chain(registry, _body(ctx, c), scope, day).valid
            for c in certificates
        )
        if not held:
            ctx.emit(
                "FEDERAL_SCOPE_UNCERTIFIED",
                f"{activity} falls under {scope.name} ({scope.cfr_citation}); "
                "no valid certificate on file",
                "Upload a certificate from a certification body accredited for this scope",
                scope.cfr_citation,
            )


def _body(ctx: Context, certificate: FederalCertificate) -> int | None:
    return certification_body_id(
        ctx.book.federal,
        certificate.certification_body_id
        if certificate.certification_body_id is not None
        else certificate.certification_body,
    )


def _check_certificate(ctx: Context, certificate: FederalCertificate) -> None:
    registry = ctx.book.federal
    scope = registry.scope_by_code(certificate.scope)
    if scope is None:
        ctx.emit(
            "FEDERAL_CHAIN_INVALID",
            f"Unknown federal scope {certificate.scope!r}",
            "Use one of the recognised scope codes (PCHF, PCAF, PRODUCE, ...)",
        )
        return
    if certificate.expires_at is not None and ctx.instant(certificate.expires_at) <= ctx.as_of:
        ctx.emit(
            "FEDERAL_CHAIN_INVALID",
            f"{scope.code} certificate has expired",
            "Upload the renewed certificate",
            scope.cfr_citation,
        )
        return
    result = check_chain(registry, _body(ctx, certificate), scope, ctx.local(ctx.as_of).date())
    if not result.valid:
        ctx.emit(
            "FEDERAL_CHAIN_INVALID",
            f"{scope.code} certificate is not backed by a valid chain: {result.reason}",
            "Use a certification body currently accredited for this scope",
            scope.cfr_citation,
        )
