"""``prep-tui`` arguments: a URL it can use, and waiting for an edge that never comes."""

from __future__ import annotations

import pytest

from tests.e2e.processes import free_port
from tui import cli


def test_an_edge_url_must_be_http(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--edge", "ftp://kitchen"])
    assert exited.value.code == 2
    assert "--edge must be an http:// or https:// URL" in capsys.readouterr().err


def test_waiting_for_an_edge_that_never_answers_gives_up_with_a_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    edge = f"http://127.0.0.1:{free_port()}"
    assert cli.main(["--edge", edge, "--wait", "0.3"]) == 1
    assert f"the edge at {edge} was not ready within 0.3 s" in capsys.readouterr().err


def test_every_option_has_help() -> None:
    for action in cli.build_parser()._actions:
        assert action.help, action.dest
