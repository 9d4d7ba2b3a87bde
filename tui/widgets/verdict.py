"""The verdict panel: ALLOW green, CONDITIONS amber, DENY red, with every item's reasons.

Each violation, condition and warning shows its rule, severity, message, remedy and citation.
The outcome is a CSS class on the panel (``-allow``, ``-conditions``, ``-deny``); the colours
live in the ``.tcss``. Text from the edge is shown literally (no markup).
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from sync.verdicts import RuleResult, Verdict

HEADLINES = {
    "ALLOW": "ALLOW - may check in",
    "CONDITIONS": "CONDITIONS - may check in; tell the renter the conditions below",
    "DENY": "DENY - check-in refused",
}
OUTCOME_CLASSES = ("-allow", "-conditions", "-deny", "-pending")


class VerdictPanel(VerticalScroll, can_focus=True):
    """One verdict, or a line saying it is being fetched."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.verdict: Verdict | None = None

    def on_mount(self) -> None:
        self.show_pending("No verdict yet.")

    def show_pending(self, text: str) -> None:
        self.verdict = None
        self._set_outcome("-pending")
        self.border_title = "Verdict"
        self.remove_children()
        self.mount(Static(text, markup=False, classes="verdict-note"))

    def show(self, verdict: Verdict) -> None:
        self.verdict = verdict
        outcome = verdict.result.value
        self._set_outcome(f"-{outcome.lower()}")
        self.border_title = f"Verdict: {outcome}"
        self.remove_children()
        widgets = [Static(self._headline(verdict), markup=False, classes="verdict-headline")]
        groups = (
            ("violation", "✖", verdict.violations),
            ("condition", "▲", verdict.conditions),
            ("warning", "•", verdict.warnings),
        )
        for kind, mark, items in groups:
            widgets.extend(_item(kind, mark, item) for item in items)
        widgets.append(
            Static(f"rules {verdict.ruleset_version}", markup=False, classes="verdict-note")
        )
        self.mount_all(widgets)
        self.scroll_home(animate=False)

    def _set_outcome(self, outcome: str) -> None:
        self.remove_class(*OUTCOME_CLASSES)
        self.add_class(outcome)

    @staticmethod
    def _headline(verdict: Verdict) -> str:
        headline = HEADLINES.get(verdict.result.value, verdict.result.value)
        if verdict.blocking_violations_count:
            count = verdict.blocking_violations_count
            headline += f" ({count} blocking violation{'s' if count != 1 else ''})"
        return headline


def _item(kind: str, mark: str, item: RuleResult) -> Static:
    lines = [f"{mark} {item.rule_id} ({item.severity.value}): {item.message}"]
    if item.remedy:
        lines.append(f"  Remedy: {item.remedy}")
    if item.citation:
        lines.append(f"  Citation: {item.citation}")
    return Static("\n".join(lines), markup=False, classes=f"verdict-item -{kind}")
