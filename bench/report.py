"""How every benchmark reports: its table, then its JSON in ``bench/results/`` (one file per run
and ``<name>-latest.json``), and with ``--json`` one line holding the figures an issue names."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def publish(
    name: str, result: dict[str, Any], table: str, keys: Sequence[str], as_json: bool
) -> None:
    """Print ``table``, keep ``result`` (it carries a ``stamp``), print the JSON line if asked."""
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    for file in (f"{name}-{result['stamp']}.json", f"{name}-latest.json"):
        (RESULTS / file).write_text(text)
    if as_json:
        print(json.dumps({key: result[key] for key in keys}))
