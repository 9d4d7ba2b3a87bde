"""The inspector packet: what it lists, that it escapes everything, and how it is written."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from sync.shapes.audit import AuditEventOut
from sync.shapes.documents import DocumentOut
from sync.shapes.site import SiteOut
from sync.verdicts import Verdict
from tui import packet
from tui.packet import Packet, Visit

NOW = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script> & "quotes"'


def site(name: str = "Mission Kitchen") -> SiteOut:
    return SiteOut.model_validate(
        {
            "id": "site-1",
            "name": name,
            "jurisdiction": "san_francisco",
            "timezone": "America/Los_Angeles",
            "address": "2180 Mission St",
            "updated_at": NOW.isoformat(),
            "permits": [
                {"kind": "fire", "status": "active", "expires_at": "2025-11-20"},
                {"kind": "health_permit", "status": "active", "expires_at": "2027-12-31"},
            ],
        }
    )


def document(issuer: str = "SFFD") -> DocumentOut:
    return DocumentOut.model_validate(
        {
            "id": "doc-1", "owner_kind": "site", "owner_id": "site-1", "kind": "fire_permit",
            "number": "FP-1", "issuer": issuer, "issued_at": None,
            "expires_at": "2025-10-01T00:00:00-07:00", "expired": True, "sha256": "ab" * 32,
            "size_bytes": 10, "content_type": "application/pdf", "filename": "f.pdf",
            "review_status": "approved", "uploaded_by": "host", "created_at": NOW.isoformat(),
        }
    )  # fmt: skip


def verdict(message: str = "General liability coverage below minimum") -> Verdict:
    return Verdict.model_validate(
        {
            "jurisdiction": "san_francisco", "result": "DENY",
            "violations": [
                {"rule_id": "INSURANCE_LIABILITY", "severity": "critical", "message": message,
                 "remedy": "Obtain insurance", "citation": "§6.15"}
            ],
            "warnings": [], "conditions": [], "evaluated_at": NOW.isoformat(),
            "blocking_violations_count": 1, "ruleset_version": "1",
        }
    )  # fmt: skip


def event(seq: int, actor: str = "staff:door") -> AuditEventOut:
    return AuditEventOut(
        seq=seq, node_id="n", hlc="h", actor=actor, action="booking.check_in",
        entity="booking", entity_id=f"b{seq}", details={}, at=NOW, prev_hash="0", hash="f" * 64,
    )  # fmt: skip


def a_packet(text: str = "Startup Foods") -> Packet:
    return Packet(
        site=site(),
        day=date(2025, 11, 5),
        generated_at=NOW,
        reference="v1",
        documents=[document()],
        visits=[Visit(text, "Station 2", NOW, NOW, "confirmed", verdict())],
        audit=[event(1), event(2)],
    )


def test_the_packet_lists_permits_documents_renters_and_audit_events() -> None:
    html = packet.render(a_packet())
    assert html.startswith("<!DOCTYPE html>")
    for expected in (
        "Mission Kitchen",
        "Wed 5 Nov 2025",
        "health_permit",
        "2025-11-20",  # the fire permit: a bare date is valid through that day
        "15 DAYS",
        "fire_permit",
        "EXPIRED",
        "Startup Foods",
        '<td class="DENY">DENY</td>',
        "INSURANCE_LIABILITY (critical): General liability coverage below minimum",
        "booking.check_in",
    ):
        assert expected in html, expected
    assert "<script" not in html.lower() and "http" not in html  # self-contained, no scripts


def test_every_value_from_the_edge_is_escaped() -> None:
    hostile = Packet(
        site=site(HOSTILE),
        day=date(2025, 11, 5),
        generated_at=NOW,
        reference="v1",
        documents=[document(HOSTILE)],
        visits=[Visit(HOSTILE, HOSTILE, NOW, NOW, HOSTILE, verdict(HOSTILE))],
        audit=[event(1, HOSTILE)],
    )
    html = packet.render(hostile)
    assert "<script>" not in html
    assert (
        html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;")
        >= 6
    )


def test_the_file_is_replaced_whole_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "packets" / packet.file_name(date(2025, 11, 5))
    packet.write_atomically(target, "old")
    packet.write_atomically(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(target.parent) == [target.name]


def test_a_failed_write_leaves_the_previous_packet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "packet.html"
    packet.write_atomically(target, "previous")

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        packet.write_atomically(target, "next")
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["packet.html"]
