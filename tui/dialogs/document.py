"""Describe a document to add: the file's path, its kind, number, issuer and expiry date.

Returns a ``DocumentDraft`` (the file checked to exist and fit the edge's limit), or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from sync.vocabulary import DocumentKind

MAX_FILE_BYTES = 20 * 1024 * 1024
ACCEPTED_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class DocumentDraft:
    path: Path
    kind: str
    number: str | None
    issuer: str | None
    expires: date | None


def check_file(text: str) -> Path:
    """The path typed, expanded; ValueError with a sentence when it cannot be uploaded."""
    path = Path(text.strip()).expanduser()
    if not text.strip() or not path.is_file():
        raise ValueError(f"No file at {text.strip() or '(empty)'}.")
    if path.suffix.lower() not in ACCEPTED_SUFFIXES:
        raise ValueError("The edge takes PDF, JPEG, PNG or WebP files.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("The file is larger than 20 MiB.")
    return path


def parse_expiry(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("Valid through is a date: YYYY-MM-DD.") from None


class DocumentDialog(ModalScreen[DocumentDraft | None]):
    """The fields of a new document for ``owner``; Upload or Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, owner: str) -> None:
        super().__init__()
        self.owner = owner

    def compose(self) -> ComposeResult:
        kinds = [(kind.value.replace("_", " "), kind.value) for kind in DocumentKind]
        with Vertical(id="dialog"):
            yield Static(f"Add a document for {self.owner}", markup=False, id="dialog-title")
            yield Static("Enter in any field uploads.", id="dialog-hint", markup=False)
            yield Input(placeholder="file path (PDF, JPEG, PNG, WebP)", id="doc-path")
            yield Select[str](kinds, prompt="kind", id="doc-kind")
            yield Input(placeholder="number (optional)", id="doc-number", max_length=200)
            yield Input(placeholder="issuer (optional)", id="doc-issuer", max_length=200)
            yield Input(placeholder="valid through YYYY-MM-DD (optional)", id="doc-expires")
            yield Button("Upload", id="doc-upload", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#doc-path", Input).focus()

    def _text(self, field: str) -> str | None:
        return self.query_one(f"#{field}", Input).value.strip() or None

    @on(Input.Submitted)
    @on(Button.Pressed, "#doc-upload")
    def _submit(self) -> None:
        kind = self.query_one("#doc-kind", Select).value
        try:
            path = check_file(self.query_one("#doc-path", Input).value)
            if not isinstance(kind, str):
                raise ValueError("Pick the kind of document.")
            expires = parse_expiry(self._text("doc-expires"))
        except ValueError as problem:
            self.query_one("#dialog-hint", Static).update(str(problem))
            return
        number, issuer = self._text("doc-number"), self._text("doc-issuer")
        self.dismiss(DocumentDraft(path, kind, number, issuer, expires))

    def action_cancel(self) -> None:
        self.dismiss(None)
