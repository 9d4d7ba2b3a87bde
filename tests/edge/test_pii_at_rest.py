"""Renter contact details never reach the disk in plain text, and stay findable by email."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from edge.settings import EdgeSettings
from sync.vocabulary import Role
from tests.edge.conftest import Login

EMAIL = "Zephyrine.Quokkabake@Distinctive-Pastry.example"
PHONE = "+1 (415) 867-5309"


def needles() -> list[bytes]:
    digits = "".join(ch for ch in PHONE if ch.isdigit())
    texts = {EMAIL, EMAIL.lower(), PHONE, digits, "zephyrine.quokkabake", "867-5309"}
    return [t.encode(codec) for t in texts for codec in ("utf-8", "utf-16-le")]


def leaks(data_dir: Path) -> list[str]:
    """Every (file, needle) pair where a plain-text contact detail appears on disk."""
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        raw = path.read_bytes()
        found += [f"{path.name}: {n!r}" for n in needles() if n.lower() in raw.lower()]
    return found


async def test_contact_details_are_encrypted_at_rest(
    client: AsyncTestClient[Litestar], login: Login, settings: EdgeSettings
) -> None:
    headers = await login(Role.HOST)
    body = {"name": "Quokka Bakes", "email": EMAIL, "phone": PHONE}
    created = await client.post("/api/v1/renters", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == EMAIL

    names = {p.name for p in settings.data_dir.iterdir()}
    assert {"edge.sqlite", "edge.sqlite-wal", "edge.sqlite-shm"} <= names
    assert leaks(settings.data_dir) == []  # the live WAL holds the new pages
    with sqlite3.connect(settings.database_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert leaks(settings.data_dir) == []  # and the main file once they are copied back

    found = await client.get("/api/v1/renters", params={"email": EMAIL.upper()}, headers=headers)
    assert [r["id"] for r in found.json()] == [created.json()["id"]]
    assert found.json()[0]["phone"] == PHONE
