"""Every console script answers ``--help``, and the commands of CONTRACT.md are all there."""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

# CONTRACT.md, "Commands": each subcommand path and the options its help must name.
CONTRACT_COMMANDS: dict[str, dict[tuple[str, ...], list[str]]] = {
    "prep-edge": {
        ("init",): ["--data-dir", "--site-name", "--jurisdiction", "--timezone"],
        ("serve",): ["--data-dir", "--host", "--port"],
        ("enroll",): ["--data-dir", "--hub", "--token"],
        ("sync",): ["--data-dir", "--once"],
        ("audit-verify",): ["--data-dir"],
        ("backup",): ["--data-dir"],
        ("restore",): ["--data-dir"],
        ("user", "add"): ["--data-dir", "--role", "--username", "--password-stdin"],
    },
    "prep-hub": {
        ("migrate",): [],
        ("serve",): ["--host", "--port"],
        ("admin", "create"): ["--email", "--password-stdin"],
        ("enroll-token",): ["--site-name"],
        ("publish-refdb",): ["FILE"],
        ("compact-feed",): ["--keep-days"],  # beyond CONTRACT.md: sync operations
        ("audit-verify",): ["--node"],
    },
    "prep-tui": {(): ["--edge"]},
}

CASES = [
    pytest.param(script, path, options, id=" ".join((script, *path)))
    for script, commands in CONTRACT_COMMANDS.items()
    for path, options in commands.items()
]


def load_main(script: str) -> Callable[[list[str] | None], int]:
    """Import the entry point that pyproject.toml names for ``script``."""
    module_name, _, attribute = SCRIPTS[script].partition(":")
    main: Callable[[list[str] | None], int] = getattr(
        importlib.import_module(module_name), attribute
    )
    return main


def help_text(script: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``script`` with ``argv`` + ``--help``; check it exits 0 and return what it printed."""
    with pytest.raises(SystemExit) as exited:
        load_main(script)([*argv, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_console_script_answers_help(script: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "usage:" in help_text(script, [], capsys)


def test_contract_commands_have_console_scripts() -> None:
    assert set(CONTRACT_COMMANDS) <= set(SCRIPTS)
    assert "prep-refdb" in SCRIPTS


@pytest.mark.parametrize("script", ["prep-edge", "prep-hub"])
def test_top_level_help_lists_every_subcommand(
    script: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(script, [], capsys)
    for path in CONTRACT_COMMANDS[script]:
        assert path[0] in text


@pytest.mark.parametrize(("script", "path", "options"), CASES)
def test_subcommand_help_names_its_options(
    script: str, path: tuple[str, ...], options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(script, list(path), capsys)
    assert f"{script} {' '.join(path)}".strip() in " ".join(text.split())
    for option in options:
        assert option in text
