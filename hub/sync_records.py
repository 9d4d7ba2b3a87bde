"""Pushed audit events and mutable records on the hub.

Audit events are stored once per ``(node_id, seq)`` and the chain is checked (the first break
is recorded on the node, never repaired); site, resource, renter, document, check-in and
conflict records are last-writer-wins by HLC with field ownership (review fields are the hub's,
site settings the edge's).
"""

from __future__ import annotations

import json
from operator import itemgetter
from typing import Any

import msgspec

from hub.sync_feed import ApplyContext, instant
from sync.wire import Change

_instant = instant


_AUDIT_INSERT = (
    "INSERT INTO audit_event (node_id, seq, hlc, actor, action, entity, entity_id, details, at,"
    " prev_hash, hash) SELECT $1, seq, hlc, actor, action, entity, entity_id, details::jsonb,"
    " at::timestamptz, prev_hash, hash FROM unnest($2::bigint[], $3::text[], $4::text[],"
    " $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])"
    " AS t(seq, hlc, actor, action, entity, entity_id, details, at, prev_hash, hash)"
    " ON CONFLICT DO NOTHING"
)
_EVENT_FIELDS = ("seq", "hlc", "actor", "action", "entity", "entity_id")
_event_head = itemgetter(*_EVENT_FIELDS)
_event_tail = itemgetter("at", "prev_hash", "hash")
_json = msgspec.json.Encoder().encode


class RecordApplier(ApplyContext):
    async def audit(self, changes: list[Change]) -> None:
        """Store the events once each in one statement (PostgreSQL parses the instants), then
        check the chain; a malformed event fails the statement and the batch with it."""
        if not changes:
            return
        events = sorted((c.payload for c in changes), key=itemgetter("seq"))
        rows = [
            (*_event_head(e), _json(e.get("details") or {}).decode(), *_event_tail(e))
            for e in events
        ]
        await self.conn.execute(_AUDIT_INSERT, self.node.id, *zip(*rows, strict=True))
        await self._check_chain(events)

    async def _check_chain(self, events: list[dict[str, Any]]) -> None:
        first = int(events[0]["seq"])
        previous = None
        if first > 1:
            previous = await self.conn.fetchval(
                "SELECT hash FROM audit_event WHERE node_id = $1 AND seq = $2",
                self.node.id,
                first - 1,
            )
        expected_seq = first
        for event in events:
            seq = int(event["seq"])
            broken = seq != expected_seq or (
                (previous is not None or seq > 1) and event["prev_hash"] != previous
            )
            if broken:
                await self.conn.execute(
                    "UPDATE node SET audit_gap_after = COALESCE(LEAST(audit_gap_after, $2), $2)"
                    " WHERE id = $1",
                    self.node.id,
                    seq - 1,
                )
                return
            previous, expected_seq = event["hash"], seq + 1

    # --- mutable records --------------------------------------------------------------------

    async def site(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "UPDATE site SET name = $2, jurisdiction = $3, timezone = $4, address = $5,"
            " latitude = $6, longitude = $7, profile = $8::jsonb, updated_hlc = $9"
            " WHERE id = $1 AND updated_hlc < $9",
            self.node.site_id,
            p.get("name"),
            p.get("jurisdiction"),
            p.get("timezone"),
            p.get("address"),
            p.get("latitude"),
            p.get("longitude"),
            json.dumps(p.get("profile") or {}),
            p["updated_hlc"],
        )

    async def resource(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "INSERT INTO resource (id, site_id, name, kind, hourly_rate_cents, active,"
            " field_stamps, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, '{}'::jsonb, $7)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,"
            " hourly_rate_cents = excluded.hourly_rate_cents, active = excluded.active,"
            " updated_hlc = excluded.updated_hlc WHERE resource.updated_hlc < excluded.updated_hlc",
            p["id"],
            self.node.site_id,
            p["name"],
            p["kind"],
            int(p["hourly_rate_cents"]),
            bool(p.get("active", True)),
            p["updated_hlc"],
        )

    async def renter(self, change: Change) -> None:
        p = change.payload
        email, phone = p.get("email"), p.get("phone")
        await self.conn.execute(
            "INSERT INTO renter (id, name, profile, email_cipher, email_index, phone_cipher,"
            " phone_index, field_stamps, updated_hlc) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7,"
            " '{}'::jsonb, $8) ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
            " profile = excluded.profile, email_cipher = excluded.email_cipher,"
            " email_index = excluded.email_index, phone_cipher = excluded.phone_cipher,"
            " phone_index = excluded.phone_index, updated_hlc = excluded.updated_hlc"
            " WHERE renter.updated_hlc < excluded.updated_hlc",
            p["id"],
            p["name"],
            json.dumps(p.get("profile") or {}),
            self.pii.seal("email", email) if email else None,
            self.pii.index("email", email) if email else None,
            self.pii.seal("phone", phone) if phone else None,
            self.pii.index("phone", phone) if phone else None,
            p["updated_hlc"],
        )

    async def document(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(  # review fields are the hub's: never taken from an edge
            "INSERT INTO document (id, owner_kind, owner_id, kind, number, issuer, issued_at,"
            " expires_at, sha256, size_bytes, content_type, filename, review_status, uploaded_by,"
            " created_at, field_stamps, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11, $12, 'pending', $13, $14, '{}'::jsonb, $15)"
            " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, number = excluded.number,"
            " issuer = excluded.issuer, issued_at = excluded.issued_at,"
            " expires_at = excluded.expires_at, updated_hlc = excluded.updated_hlc"
            " WHERE document.updated_hlc < excluded.updated_hlc",
            p["id"],
            p["owner_kind"],
            p["owner_id"],
            p["kind"],
            p.get("number"),
            p.get("issuer"),
            _instant(p.get("issued_at")),
            _instant(p.get("expires_at")),
            p["sha256"],
            int(p["size_bytes"]),
            p["content_type"],
            p["filename"],
            p["uploaded_by"],
            _instant(p.get("created_at")) or self.now,
            p["updated_hlc"],
        )

    async def check_in(self, change: Change) -> None:
        p = change.payload
        await self.conn.execute(
            "INSERT INTO check_in (id, booking_id, result, verdict, staff_user_id,"
            " override_reason, checked_in_at, checked_out_at) VALUES ($1, $2, $3, $4::jsonb, $5,"
            " $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            p["id"],
            p["booking_id"],
            p["result"],
            json.dumps(p.get("verdict") or {}),
            p["staff_user_id"],
            p.get("override_reason"),
            _instant(p["checked_in_at"]),
            _instant(p.get("checked_out_at")),
        )

    async def conflict(self, change: Change) -> None:
        p = change.payload
        resolution = {"summary": p["resolution"]} if p.get("resolution") else None
        await self.conn.execute(
            "INSERT INTO conflict (id, site_id, keeper_id, loser_id, rule, status, resolution,"
            " created_at, resolved_at, resolved_by, updated_hlc) VALUES ($1, $2, $3, $4, $5, $6,"
            " $7::jsonb, $8, $9, $10, $11) ON CONFLICT (id) DO UPDATE SET status = 'resolved',"
            " resolution = excluded.resolution, resolved_at = excluded.resolved_at,"
            " resolved_by = excluded.resolved_by, updated_hlc = excluded.updated_hlc"
            " WHERE conflict.status = 'open' AND excluded.status = 'resolved'",
            p["id"],
            self.node.site_id,
            p["keeper_id"],
            p["loser_id"],
            p["rule"],
            p["status"],
            json.dumps(resolution) if resolution else None,
            _instant(p.get("created_at")) or self.now,
            _instant(p.get("resolved_at")),
            p.get("resolved_by"),
            p["updated_hlc"],
        )
