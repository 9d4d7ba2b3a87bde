"""``prep-edge enroll``: register this node, its public key and its site with a hub.

The one-time token (from ``prep-hub enroll-token``) says which hub site this node serves; the
request is signed with the node's key, which proves the node holds the key it registers. The
hub's URL and the enrolment time are stored in ``sync_state``; from then on the sync job runs.
The hub's reference-bundle key, when it has one, is pinned in ``keys/hub-refdb.pub``.
"""

from __future__ import annotations

from typing import Any

import httpx

from edge.clock import epoch_ms
from edge.columns import utc_text
from edge.db import raw_connection
from edge.errors import Conflict
from edge.hub_link import HubLink
from edge.reference import HUB_KEY
from edge.services import EdgeServices
from edge.sync_runner import read_link
from reference_db.signing import load_private_key


async def enroll(
    services: EdgeServices,
    hub_url: str,
    token: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    state = await read_link(services)
    if state["hub_url"] is not None:
        raise Conflict(f"this node is already enrolled with {state['hub_url']}")
    site = await _site(services)
    link = HubLink(
        hub_url,
        state["node_id"],
        load_private_key(services.settings.key_dir / "node.key"),
        lambda: epoch_ms(services.clock.now()),
        transport,
    )
    try:
        answer = await link.enroll(token, site, state["generation"])
    finally:
        await link.close()
    key_pem = answer.get("refdb_public_key")
    if isinstance(key_pem, str) and key_pem.startswith("-----BEGIN PUBLIC KEY-----"):
        pinned = services.settings.key_dir / HUB_KEY  # bundles from this hub verify against it
        pinned.write_text(key_pem)
        pinned.chmod(0o644)
    async with services.db.write() as session:
        raw = await raw_connection(session)
        raw.execute(
            "UPDATE sync_state SET hub_url = ?, enrolled_at = ? WHERE id = 1",
            (hub_url.rstrip("/"), utc_text(services.clock.now())),
        )
    return answer


async def _site(services: EdgeServices) -> dict[str, Any]:
    async with services.db.read() as session:
        raw = await raw_connection(session)
        row = raw.execute(
            "SELECT id, name, jurisdiction, timezone, address, latitude, longitude FROM site"
        ).fetchone()
    keys = ("id", "name", "jurisdiction", "timezone", "address", "latitude", "longitude")
    return dict(zip(keys, row, strict=True))
