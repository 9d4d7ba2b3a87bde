"""The import boundaries of DESIGN.md hold: the import-linter contracts in pyproject.toml pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    # The venv's own lint-imports, beside the interpreter running the tests (not resolved: a venv's
    # python is a symlink to the base interpreter).
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}{result.stderr}"
