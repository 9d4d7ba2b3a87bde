"""Enrolment pins the hub's reference-bundle key on the edge, beside the key of its own bundle."""

from __future__ import annotations

from edge.reference import HUB_KEY, PINNED_KEY, load_reference, trusted_key_files
from reference_db.signing import public_path
from tests.contract.conftest import PairFactory


async def test_the_hubs_bundle_key_is_pinned_at_enrolment(
    make_pair: PairFactory, refdb_key: object
) -> None:
    async with make_pair() as pair:
        keys = pair.services.settings.key_dir
        pinned = (keys / HUB_KEY).read_bytes()
        assert pinned == public_path(refdb_key).read_bytes()  # type: ignore[arg-type]
        assert trusted_key_files(keys) == [keys / HUB_KEY, keys / PINNED_KEY]
        # the bundle packaged at init still loads: it verifies against init's key
        assert load_reference(pair.services.settings.refdb_dir, keys).version >= 1
