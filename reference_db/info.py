"""What a bundle holds: version, jurisdictions, row counts, provenance, one jurisdiction's rules."""

from __future__ import annotations

import sqlite3
from typing import Any

from reference_db.fees import schedule_totals
from reference_db.reader import load_rulebook
from reference_db.source_schema import TABLES


def describe(conn: sqlite3.Connection, jurisdiction: str | None = None) -> dict[str, Any]:
    meta = dict(conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall())
    tables: dict[str, Any] = {}
    totals: dict[str, int] = {}
    for table in TABLES:
        rows = conn.execute(
            f'SELECT trust, count(*) FROM "{table.name}" GROUP BY trust ORDER BY trust'  # noqa: S608
        ).fetchall()
        trust = dict(rows)
        tables[table.name] = {"rows": sum(trust.values()), "trust": trust}
        for level, count in trust.items():
            totals[level] = totals.get(level, 0) + count
    jurisdictions = [
        {"id": j, "name": n, "timezone": tz, "rule_pack": pack}
        for j, n, tz, pack in conn.execute(
            "SELECT id, name, timezone, rule_pack FROM jurisdictions ORDER BY id"
        )
    ]
    summary: dict[str, Any] = {
        "bundle": meta,
        "jurisdictions": jurisdictions,
        "tables": tables,
        "provenance": totals,
    }
    if jurisdiction:
        summary["jurisdiction"] = _one(conn, jurisdiction)
    return summary


def _one(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    rules = load_rulebook(conn).resolve(name)
    totals = schedule_totals(rules.fee_schedule)
    return {
        "id": rules.id,
        "name": rules.name,
        "timezone": rules.tz.key,
        "rule_pack": rules.rule_pack,
        "permits": [p.kind for p in rules.permits],
        "quiet_hours": rules.quiet.label if rules.quiet else None,
        "booking_taxes": [
            f"{t.code} {(t.rate * 100).normalize():f}% of {'+'.join(sorted(t.applies_to))}"
            for t in rules.taxes
        ],
        "deposit_cents": rules.deposit.min_cents if rules.deposit else None,
        "fee_schedule": {
            "one_time_cents": totals.one_time_cents,
            "recurring_annualized_cents": totals.recurring_annualized_cents,
            "incremental_fee_count": totals.incremental_fee_count,
            "fees": [
                {
                    "name": f.name,
                    "amount_cents": f.amount_cents,
                    "kind": f.kind,
                    "cadence": f.cadence,
                }
                for f in totals.fees
            ],
        },
    }


def render_text(summary: dict[str, Any]) -> str:
    meta = summary["bundle"]
    lines = [
        f"bundle     {meta['bundle_id']} version {meta['version']} (format {meta['format']})",
        f"built at   {meta['built_at']}",
        f"valid      {meta['valid_from']} .. {meta['expires_at']}",
        f"provenance {', '.join(f'{k} {v}' for k, v in sorted(summary['provenance'].items()))}",
        "",
        f"jurisdictions ({len(summary['jurisdictions'])}):",
    ]
    lines += [
        f"  {j['id']:<24} {j['timezone']:<22} {j['rule_pack']:<8} {j['name']}"
        for j in summary["jurisdictions"]
    ]
    lines += ["", "tables:"]
    for name, table in summary["tables"].items():
        trust = ", ".join(f"{k} {v}" for k, v in sorted(table["trust"].items()))
        lines.append(f"  {name:<30} {table['rows']:>5}  {trust}")
    one = summary.get("jurisdiction")
    if one:
        fees = one["fee_schedule"]
        lines += [
            "",
            f"{one['name']} ({one['id']}, {one['timezone']}, rule pack {one['rule_pack']}):",
            f"  permits        {', '.join(one['permits']) or '-'}",
            f"  quiet hours    {one['quiet_hours'] or '-'}",
            f"  booking taxes  {'; '.join(one['booking_taxes']) or '-'}",
            f"  deposit        {_or_dash(one['deposit_cents'])} cents",
            f"  fee schedule   one-time {fees['one_time_cents']} cents, recurring "
            f"{fees['recurring_annualized_cents']} cents/year, "
            f"{fees['incremental_fee_count']} per-event fee(s)",
        ]
    return "\n".join(lines)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)
