"""The schema history: the recorded head is Alembic's head, and a new node is at it."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from edge.migrate import HEAD_REVISION, alembic_config, current_revision


def test_the_fast_start_head_is_alembics_head(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(alembic_config(tmp_path / "x.sqlite"))
    assert script.get_current_head() == HEAD_REVISION


def test_a_new_node_is_at_head(node: tuple[Path, object]) -> None:
    assert current_revision(node[0] / "edge.sqlite") == HEAD_REVISION
