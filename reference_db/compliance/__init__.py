"""The compliance engine: ``evaluate(scenario, rulebook) -> Verdict``, pure, "as of" an input."""

from reference_db.compliance.engine import evaluate, evaluate_json

__all__ = ["evaluate", "evaluate_json"]
