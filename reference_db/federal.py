"""The federal layer: which FDA programme an activity falls under, and who may certify it.

The authority chain runs accreditation body -> certification body -> scope; a link counts on a
date when its status is ``active`` and the date is within ``[valid_from, valid_until)``. The
seed links all say ``active`` even after their end date, so the dates decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from reference_db.rulebook import FederalRegistry, Scope, ScopeLink


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of checking one certification body for one scope on one date."""

    valid: bool
    reason: str
    link: ScopeLink | None = None


@dataclass(frozen=True)
class Certifier:
    certification_body: str
    accreditation_body: str
    valid_until: str


def scope_for_activity(registry: FederalRegistry, activity: str) -> Scope | None:
    scope_id = registry.activity_scope.get(activity.strip().lower())
    return registry.scopes.get(scope_id) if scope_id is not None else None


def link_valid_on(link: ScopeLink, day: date) -> bool:
    return link.status == "active" and link.valid_from <= day.isoformat() < link.valid_until


def certification_body_id(registry: FederalRegistry, name_or_id: str | int | None) -> int | None:
    if isinstance(name_or_id, int):
        return name_or_id if name_or_id in registry.certification_bodies else None
    if not name_or_id:
        return None
    wanted = name_or_id.strip().lower()
    return next(
        (cid for cid, name in registry.certification_bodies.items() if name.lower() == wanted),
        None,
    )


def check_chain(
    registry: FederalRegistry, body_id: int | None, scope: Scope, day: date
) -> ChainCheck:
    """Is there an accreditation body vouching for this certification body and scope on ``day``?"""
    if body_id is None:
        return ChainCheck(False, "certification body is not on the recognised list")
    links = [
        link
        for link in registry.links
        if link.certification_body_id == body_id
        and link.scope_id == scope.id
        and link.accreditation_body_id in registry.accreditation_bodies
    ]
    if not links:
        body = registry.certification_bodies[body_id]
        return ChainCheck(False, f"{body} is not accredited for {scope.code}")
    for link in links:
        if link_valid_on(link, day):
            return ChainCheck(True, "valid", link)
    latest = max(links, key=lambda link: link.valid_until)
    if latest.status != "active":
        return ChainCheck(False, f"accreditation is {latest.status}", latest)
    if day.isoformat() < latest.valid_from:
        return ChainCheck(False, f"accreditation starts {latest.valid_from}", latest)
    return ChainCheck(False, f"accreditation expired {latest.valid_until}", latest)


def certifiers_for(registry: FederalRegistry, activity: str, day: date) -> list[Certifier]:
    """Certification bodies that may certify ``activity`` on ``day``, by name."""
    scope = scope_for_activity(registry, activity)
    if scope is None:
        return []
    found = {
        (
            registry.certification_bodies[link.certification_body_id],
            registry.accreditation_bodies[link.accreditation_body_id],
            link.valid_until,
        )
        for link in registry.links
        if link.scope_id == scope.id and link_valid_on(link, day)
    }
    return [Certifier(*row) for row in sorted(found)]
