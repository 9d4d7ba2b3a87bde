"""The rule a claim applies (``sync.change_store.sort_batch``), without a database."""

from __future__ import annotations

import pytest

from sync.change_store import Claim, sort_batch


def test_a_contiguous_batch_after_the_mark_is_all_fresh() -> None:
    assert sort_batch(3, [4, 5, 6]) == Claim(mark=3, fresh=(4, 5, 6), duplicates=0, gap=False)


def test_seqs_at_or_below_the_mark_are_duplicates() -> None:
    claim = sort_batch(5, [3, 4, 5, 6])

    assert (claim.duplicates, claim.fresh, claim.gap, claim.through) == (3, (6,), False, 6)


def test_a_batch_wholly_applied_before_moves_nothing() -> None:
    claim = sort_batch(5, [1, 2])

    assert (claim.duplicates, claim.fresh, claim.gap, claim.through) == (2, (), False, 5)


def test_a_contiguous_batch_starting_beyond_the_mark_is_a_gap() -> None:
    claim = sort_batch(3, [5, 6])

    assert (claim.duplicates, claim.fresh, claim.gap, claim.through) == (0, (), True, 3)


def test_a_sparse_batch_is_judged_by_the_cursor_it_was_read_after() -> None:
    assert sort_batch(10, [12, 40], after=10).fresh == (12, 40)
    assert sort_batch(10, [12, 40], after=8).fresh == (12, 40)
    assert sort_batch(10, [9, 12], after=8) == Claim(10, (12,), 1, gap=False)
    assert sort_batch(10, [40], after=12).gap


def test_an_empty_batch_is_neither_fresh_nor_a_gap() -> None:
    assert sort_batch(7, []) == Claim(mark=7, fresh=(), duplicates=0, gap=False)
    assert sort_batch(7, [], after=7).through == 7


@pytest.mark.parametrize("seqs", [[2, 1], [3, 3]])
def test_seqs_that_do_not_ascend_are_refused(seqs: list[int]) -> None:
    with pytest.raises(ValueError, match="ascend"):
        sort_batch(0, seqs)


def test_a_contiguous_batch_with_a_hole_is_refused() -> None:
    with pytest.raises(ValueError, match="holes"):
        sort_batch(0, [1, 2, 4])
