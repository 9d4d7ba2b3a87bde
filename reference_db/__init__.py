"""The signed reference database of regulatory rules, and the pure engines that read it.

Public API for the edge and the hub:

- ``open_rulebook(path)`` / ``load_rulebook(conn)``: the rules of a bundle, in memory;
- ``verify_bundle(path, public_key, now, current_version)``: may this bundle be trusted?
- ``evaluate(scenario, rulebook, as_of)``: the compliance verdict;
- ``quote(request, rulebook)``: taxes, deposit and totals in cents;
- ``reference_db.federal`` and ``reference_db.calendar_rules``: authority chain and calendar.
"""

from reference_db.bundle import verify_bundle
from reference_db.compliance import evaluate, evaluate_json
from reference_db.fees import quote, schedule_totals
from reference_db.reader import load_rulebook, open_rulebook

__all__ = [
    "evaluate",
    "evaluate_json",
    "load_rulebook",
    "open_rulebook",
    "quote",
    "schedule_totals",
    "verify_bundle",
]
