"""The inspector packet: one printable, self-contained HTML file, and writing it atomically.

``render`` is pure: a ``Packet`` in, HTML text out, every value escaped (no scripts, no external
resources, print styles inline). ``write_atomically`` puts the file in place with a rename, so a
reader never sees half a packet.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from sync.shapes.audit import AuditEventOut
from sync.shapes.documents import DocumentOut
from sync.shapes.site import SiteOut
from sync.verdicts import Verdict
from tui.display import expiry_badge, local, long_day, valid_through

STYLE = """
body { font: 11pt/1.35 system-ui, sans-serif; margin: 1.5cm; color: #111; }
h1 { font-size: 16pt; margin: 0 0 .2em; } h2 { font-size: 13pt; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; width: 100%; margin-bottom: .6em; }
th, td { border: 1px solid #999; padding: 2px 5px; text-align: left; vertical-align: top; }
th { background: #eee; } .meta { color: #444; }
.ALLOW { color: #0a6b1f; font-weight: bold; } .CONDITIONS { color: #8a5a00; font-weight: bold; }
.DENY, .expired { color: #a40000; font-weight: bold; } .soon { color: #8a5a00; }
section { page-break-inside: auto; } tr { page-break-inside: avoid; }
"""


@dataclass(frozen=True)
class Visit:
    """A renter booked on site today, with the verdict for the booking."""

    renter: str
    station: str
    start: datetime
    end: datetime
    status: str
    verdict: Verdict | None


@dataclass(frozen=True)
class Packet:
    site: SiteOut
    day: date
    generated_at: datetime
    reference: str
    documents: Sequence[DocumentOut]
    visits: Sequence[Visit]
    audit: Sequence[AuditEventOut]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)


def file_name(day: date) -> str:
    return f"inspector-packet-{day.isoformat()}.html"


def render(packet: Packet) -> str:
    """The whole packet as one HTML document."""
    title = f"Inspector packet - {packet.site.name} - {long_day(packet.day)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _site_header(packet),
        _permits(packet),
        _documents(packet),
        _visits(packet),
        _audit(packet),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _text(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    body = ["<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows] or [
        f'<tr><td colspan="{len(headers)}">{_text(empty)}</td></tr>'
    ]
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


@dataclass(frozen=True)
class Marked:
    """A cell value with a CSS class (the class is one of ours, the text is escaped)."""

    text: str
    css: str


def _cell(value: object) -> str:
    if isinstance(value, Marked):
        return f'<td class="{_text(value.css)}">{_text(value.text)}</td>'
    return f"<td>{_text(value)}</td>"


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return "-" if moment is None else local(moment, tz).strftime("%Y-%m-%d %H:%M")


def _expiry(expires_at: datetime | None, packet: Packet) -> tuple[str, Marked]:
    badge = expiry_badge(expires_at, packet.generated_at, packet.tz)
    through = valid_through(expires_at, packet.tz).isoformat() if expires_at else "-"
    return through, Marked(badge.text, badge.level.value)


def _site_header(packet: Packet) -> str:
    site, tz = packet.site, packet.tz
    zoning = site.zoning.district if site.zoning and site.zoning.district else "-"
    ada = {True: "yes", False: "no", None: "-"}[site.ada_accessible]
    facts = [
        site.address or "address not recorded",
        f"jurisdiction {site.jurisdiction} · zone {site.timezone} · zoning {zoning}",
        f"ADA accessible: {ada}",
        f"generated {_when(packet.generated_at, tz)} from the site appliance (offline copy)"
        f" · rules {packet.reference}",
    ]
    return "".join(f'<p class="meta">{_text(fact)}</p>' for fact in facts)


def _permits(packet: Packet) -> str:
    rows = [(p.kind, p.status, *_expiry(p.expires_at, packet)) for p in packet.site.permits]
    grease = packet.site.grease.last_service_at if packet.site.grease else None
    table = _table(("permit", "status", "valid through", "expiry"), rows, "no permits recorded")
    return (
        f"<section><h2>Site permits</h2>{table}"
        f'<p class="meta">grease interceptor last serviced: {_text(_when(grease, packet.tz))}</p>'
        "</section>"
    )


def _documents(packet: Packet) -> str:
    rows = [_document_row(d, packet) for d in packet.documents]
    headers = ("document", "number", "issuer", "valid through", "expiry", "review", "sha-256")
    table = _table(headers, rows, "no site documents on file")
    return f"<section><h2>Site certificates and documents</h2>{table}</section>"


def _document_row(doc: DocumentOut, packet: Packet) -> list[object]:
    through, badge = _expiry(doc.expires_at, packet)
    number, issuer = doc.number or "-", doc.issuer or "-"
    return [doc.kind, number, issuer, through, badge, doc.review_status.value, doc.sha256[:16]]


def _visits(packet: Packet) -> str:
    rows = []
    for visit in packet.visits:
        result = visit.verdict.result.value if visit.verdict else "not evaluated"
        reasons = _reasons(visit.verdict) if visit.verdict else "-"
        start, end = local(visit.start, packet.tz), local(visit.end, packet.tz)
        when = f"{start:%H:%M}-{end:%H:%M}"
        verdict = Marked(result, result)
        rows.append((visit.renter, visit.station, when, visit.status, verdict, reasons))
    headers = ("renter", "station", "time", "status", "verdict", "reasons")
    table = _table(headers, rows, "no renters booked on site today")
    return f"<section><h2>Renters on site today</h2>{table}</section>"


def _reasons(verdict: Verdict) -> str:
    items = [*verdict.violations, *verdict.conditions]
    if not items:
        return "none"
    return "; ".join(
        f"{item.rule_id} ({item.severity.value}): {item.message}"
        + (f" Remedy: {item.remedy}" if item.remedy else "")
        + (f" [{item.citation}]" if item.citation else "")
        for item in items
    )


def _audit(packet: Packet) -> str:
    rows = [
        (e.seq, _when(e.at, packet.tz), e.actor, e.action, f"{e.entity} {e.entity_id}", e.hash[:16])
        for e in packet.audit
    ]
    headers = ("seq", "when", "actor", "action", "entity", "hash")
    table = _table(headers, rows, "no audit events in the last 30 days")
    return f"<section><h2>Audit log, last 30 days</h2>{table}</section>"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it to disk, rename it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
