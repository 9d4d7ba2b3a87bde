"""The change store contract, run against the edge (SQLite) and the hub (PostgreSQL) alike.

Every test takes ``side`` (see ``conftest.py``) and holds both stores to the promises written in
``sync/change_store.py``: the log numbers and reads back changes in order, paging never skips
or repeats a change even while others append, and an origin's applied mark moves with the
applied data, each ``(origin, seq)`` applied once.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from sync.change_store import ChangeStore, NewChange, StoredChange, UnknownOrigin
from tests.change_store.conftest import StoreSide

AT = datetime(2025, 11, 5, 16, 0, tzinfo=UTC)
_stamps = itertools.count(1)


class Boom(Exception):
    """Raised inside a transaction to roll it back."""


def new_changes(side: StoreSide, count: int, tag: str = "c") -> list[NewChange]:
    """``count`` changes by ``side``, each with a stamp of its own."""
    return [
        NewChange(
            origin=side.own_origin,
            hlc=f"{1762358400000 + next(_stamps):013d}-00000-{side.own_origin}",
            entity="booking",
            entity_id=f"{tag}-{index}",
            op="upsert",
            payload={"id": f"{tag}-{index}", "position": index},
        )
        for index in range(count)
    ]


def unsequenced(stored: Sequence[StoredChange]) -> list[NewChange]:
    return [NewChange(c.origin, c.hlc, c.entity, c.entity_id, c.op, c.payload) for c in stored]


async def read_all(side: StoreSide, cursor: int = 0) -> list[StoredChange]:
    async with side.reading() as store:
        return await store.read_after(cursor, 1_000_000)


async def tail(side: StoreSide) -> int:
    """The last committed seq (an initialised edge has journalled its first rows)."""
    committed = await read_all(side)
    return committed[-1].seq if committed else 0


async def append_committed(side: StoreSide, changes: list[NewChange]) -> list[int]:
    async with side.writing() as store:
        return await store.append(changes, AT)


async def contiguous(side: StoreSide) -> bool:
    async with side.reading() as store:
        return store.contiguous


async def page_of(side: StoreSide, cursor: int, limit: int) -> list[StoredChange]:
    async with side.reading() as store:
        return await store.read_after(cursor, limit)


# --- the log --------------------------------------------------------------------------------------


async def test_appended_changes_read_back_in_order_with_their_content(side: StoreSide) -> None:
    start = await tail(side)
    changes = [
        *new_changes(side, 1),
        NewChange(side.own_origin, f"{next(_stamps):013d}-00001-x", "renter", "r-1", "delete",
                  {"name": "Crème brûlée Co.", "tags": ["a", "b"], "nested": {"n": None}}),
        NewChange(side.own_origin, f"{next(_stamps):013d}-00002-x", "audit_event", "7", "append",
                  {}),
    ]  # fmt: skip

    seqs = await append_committed(side, changes)

    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > start
    if await contiguous(side):  # the outbox numbers without holes
        assert seqs == [start + 1, start + 2, start + 3]
    read = await read_all(side, start)
    assert [c.seq for c in read] == seqs
    assert unsequenced(read) == changes


async def test_each_append_numbers_above_everything_committed_before(side: StoreSide) -> None:
    first = await append_committed(side, new_changes(side, 2, "first"))
    with pytest.raises(Boom):
        async with side.writing() as store:
            await store.append(new_changes(side, 3, "rolled-back"), AT)
            raise Boom
    second = await append_committed(side, new_changes(side, 2, "second"))

    assert second[0] > first[-1]
    if await contiguous(side):  # a rolled-back write leaves no hole in the outbox
        assert second[0] == first[-1] + 1
    read = await read_all(side, first[0] - 1)
    assert [c.entity_id for c in read] == ["first-0", "first-1", "second-0", "second-1"]


async def test_an_empty_append_stores_nothing(side: StoreSide) -> None:
    start = await tail(side)

    assert await append_committed(side, []) == []
    assert await read_all(side, start) == []


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_paging_by_the_last_seq_reads_each_change_once_in_order(
    side: StoreSide, limit: int
) -> None:
    start = await tail(side)
    changes = new_changes(side, 4, "a") + new_changes(side, 3, "b")
    await append_committed(side, changes[:4])
    await append_committed(side, changes[4:])

    seen: list[StoredChange] = []
    cursor = start
    while page := await page_of(side, cursor, limit):
        assert len(page) <= limit
        seen += page
        cursor = page[-1].seq

    assert unsequenced(seen) == changes
    assert [c.seq for c in seen] == sorted({c.seq for c in seen})


async def test_uncommitted_appends_are_invisible_to_readers(side: StoreSide) -> None:
    start = await tail(side)
    async with side.writing() as store:
        await store.append(new_changes(side, 2), AT)
        assert await read_all(side, start) == []

    assert len(await read_all(side, start)) == 2


# --- concurrency ----------------------------------------------------------------------------------


async def test_an_open_append_holds_back_later_appends(side: StoreSide) -> None:
    """A reader never sees a later change while an earlier one may still commit."""
    start = await tail(side)
    early, late = new_changes(side, 2, "early"), new_changes(side, 2, "late")
    seen: list[StoredChange] = []

    async with side.writing() as store:
        await store.append(early, AT)
        later = asyncio.create_task(append_committed(side, late))
        await asyncio.wait({later}, timeout=0.5)  # its chance to commit first, if it could
        seen += await read_all(side, start)
    await later
    seen += await read_all(side, seen[-1].seq if seen else start)

    assert unsequenced(seen) == early + late


async def test_concurrent_writers_and_a_pager_see_each_change_once_in_order(
    side: StoreSide,
) -> None:
    start = await tail(side)
    writers, rounds, per_round = 3, 4, 3
    written: dict[str, list[NewChange]] = {}
    done = asyncio.Event()

    async def write(writer: int) -> None:
        for round_ in range(rounds):
            changes = new_changes(side, per_round, f"w{writer}-r{round_}")
            async with side.writing() as store:
                await store.append(changes, AT)
                await asyncio.sleep(0)  # others run while this append is still uncommitted
            written.setdefault(f"w{writer}", []).extend(changes)

    async def page_until_done() -> list[StoredChange]:
        seen: list[StoredChange] = []
        cursor = start
        while True:
            finished = done.is_set()  # read once more after the writers are done
            page = await page_of(side, cursor, 2)
            seen += page
            cursor = page[-1].seq if page else cursor
            if not page and finished:
                return seen
            await asyncio.sleep(0)

    pager = asyncio.create_task(page_until_done())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    seen = await pager

    assert [c.seq for c in seen] == sorted({c.seq for c in seen})  # ascending, no repeats
    assert sorted(unsequenced(seen), key=_key) == sorted(
        itertools.chain.from_iterable(written.values()), key=_key
    )  # every change, none skipped
    for writer, changes in written.items():  # and each writer's in the order it wrote them
        assert [c for c in unsequenced(seen) if c.entity_id.startswith(f"{writer}-")] == changes


def _key(change: NewChange) -> str:
    return change.hlc


# --- applied marks --------------------------------------------------------------------------------


async def test_a_mark_starts_at_zero_and_only_moves_forward(side: StoreSide) -> None:
    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 0
    async with side.writing() as store:
        assert await store.mark_applied(side.peer, 5) == 5
    async with side.writing() as store:
        assert await store.mark_applied(side.peer, 3) == 5  # a late or replayed batch

    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 5


async def test_a_claim_sorts_duplicates_fresh_seqs_and_gaps(side: StoreSide) -> None:
    async with side.writing() as store:
        await store.mark_applied(side.peer, 3)
        retried = await store.claim(side.peer, [2, 3, 4, 5])
        ahead = await store.claim(side.peer, [6, 7])  # 4 and 5 would be skipped
        sparse = await store.claim(side.peer, [9, 14], after=3)  # read after the mark
        sparse_ahead = await store.claim(side.peer, [9], after=7)

    assert (retried.mark, retried.duplicates, retried.fresh, retried.gap) == (3, 2, (4, 5), False)
    assert retried.through == 5
    assert (ahead.fresh, ahead.gap, ahead.through) == ((), True, 3)
    assert (sparse.fresh, sparse.gap, sparse.through) == ((9, 14), False, 14)
    assert (sparse_ahead.fresh, sparse_ahead.gap) == ((), True)


async def test_an_unknown_origin_is_refused(side: StoreSide) -> None:
    async with side.writing() as store:
        with pytest.raises(UnknownOrigin):
            await store.applied_mark("stranger")
        with pytest.raises(UnknownOrigin):
            await store.claim("stranger", [1])
        with pytest.raises(UnknownOrigin):
            await store.mark_applied("stranger", 1)


async def apply_batch(store: ChangeStore, side: StoreSide, seqs: list[int]) -> tuple[int, int]:
    """Apply a batch of the peer's changes once: claim, record what is fresh, move the mark."""
    claim = await store.claim(side.peer, seqs)
    if claim.gap:
        return 0, claim.duplicates
    await asyncio.sleep(0)  # a concurrent apply of the same batch runs here, if it can
    applied = [
        NewChange(side.own_origin, f"{next(_stamps):013d}-00000-a", "applied", str(seq), "append",
                  {"seq": seq})
        for seq in claim.fresh
    ]  # fmt: skip
    await store.append(applied, AT)
    await store.mark_applied(side.peer, claim.through)
    return len(claim.fresh), claim.duplicates


async def test_applied_data_and_its_mark_commit_or_roll_back_together(side: StoreSide) -> None:
    start = await tail(side)
    with pytest.raises(Boom):
        async with side.writing() as store:
            await apply_batch(store, side, [1, 2, 3])
            raise Boom  # a failure between applying and committing

    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 0
        assert await store.read_after(start, 10) == []

    async with side.writing() as store:
        assert await apply_batch(store, side, [1, 2, 3]) == (3, 0)
    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 3
        assert [c.entity_id for c in await store.read_after(start, 10)] == ["1", "2", "3"]


async def test_a_retried_batch_applies_only_what_is_new(side: StoreSide) -> None:
    async with side.writing() as store:
        assert await apply_batch(store, side, [1, 2, 3]) == (3, 0)
    async with side.writing() as store:
        assert await apply_batch(store, side, [1, 2, 3]) == (0, 3)
    async with side.writing() as store:
        assert await apply_batch(store, side, [3, 4, 5]) == (2, 1)
    async with side.writing() as store:
        assert await apply_batch(store, side, [7, 8]) == (0, 0)  # a gap: nothing applies

    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 5


async def test_a_batch_applied_twice_at_once_lands_once(side: StoreSide) -> None:
    start = await tail(side)

    async def apply_once() -> tuple[int, int]:
        async with side.writing() as store:
            return await apply_batch(store, side, [1, 2, 3, 4, 5])

    outcomes = await asyncio.gather(apply_once(), apply_once())

    assert sorted(outcomes) == [(0, 5), (5, 0)]
    assert [c.entity_id for c in await read_all(side, start)] == ["1", "2", "3", "4", "5"]
    async with side.reading() as store:
        assert await store.applied_mark(side.peer) == 5
