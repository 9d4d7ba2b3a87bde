"""Documents: the site's and each renter's, with expiry badges; ``n`` adds one from a file.

Badges: ``EXPIRED``, ``N DAYS`` left within 30 days, ``ok``; the inspector packet lists the
permits of the site's profile beside its documents.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from sync.shapes.documents import DocumentMeta, DocumentOut
from tui.dialogs.document import DocumentDialog, DocumentDraft
from tui.display import expiry_badge, valid_through
from tui.errors import EdgeProblem
from tui.screens.base import StaffScreen

SITE = "site"
COLUMNS = (("kind", 22), ("valid to", 10), ("expiry", 8), ("review", 8))


class DocumentTable(DataTable[Text]):
    """Documents as rows; the badge column takes its colour from the ``.tcss``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "documents--expired",
        "documents--soon",
        "documents--ok",
        "documents--none",
    }


class DocumentsScreen(StaffScreen):
    """Owners on the left, the chosen owner's documents on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "add", "Add document")]

    def __init__(self) -> None:
        super().__init__()
        self.owner = SITE

    def body(self) -> ComposeResult:
        yield Static("Documents", id="screen-title")
        with Horizontal(id="documents-split"):
            yield OptionList(id="owners")
            yield DocumentTable(id="documents", cursor_type="row", zebra_stripes=True)
        yield Static("", id="documents-hint", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DocumentTable)
        for name, width in COLUMNS:
            table.add_column(Text(name), width=width)

    async def load(self) -> None:
        owners = self.query_one("#owners", OptionList)
        directory = self.staff.directory
        if owners.option_count != len(directory.renters) + 1:
            owners.clear_options()
            owners.add_option(Option(f"Site: {directory.site_name}", id=SITE))
            owners.add_options(Option(renter.name, id=renter.id) for renter in directory.renters)
            owners.highlighted = 0
        await self._load_documents()

    async def _load_documents(self) -> None:
        staff = self.staff
        kind, owner_id = ("site", None) if self.owner == SITE else ("renter", self.owner)
        documents = await staff.call(staff.edge.documents(kind, owner_id))
        if documents is not None:
            self._fill(documents)

    def _fill(self, documents: list[DocumentOut]) -> None:
        table = self.query_one(DocumentTable)
        table.clear()
        for doc in sorted(documents, key=lambda d: (d.kind, d.expires_at is None, d.expires_at)):
            table.add_row(*self._row(doc.kind, doc.expires_at, doc.review_status.value))
        count = len(documents)
        hint = f"{count} document{'s' if count != 1 else ''} · n adds one from a file"
        self.query_one("#documents-hint", Static).update(hint)

    def _row(self, kind: str, expires_at: datetime | None, review: str) -> list[Text]:
        staff, table = self.staff, self.query_one(DocumentTable)
        badge = expiry_badge(expires_at, staff.now(), staff.tz)
        through = valid_through(expires_at, staff.tz).isoformat() if expires_at else "-"
        style = table.get_component_rich_style(f"documents--{badge.level.value}")
        return [Text(kind.replace("_", " ")), Text(through), Text(badge.text, style), Text(review)]

    @on(OptionList.OptionHighlighted, "#owners")
    def _owner_chosen(self, event: OptionList.OptionHighlighted) -> None:
        chosen = event.option.id or SITE
        if chosen != self.owner:
            self.owner = chosen
            self.reload()

    def action_add(self) -> None:
        owners = self.query_one("#owners", OptionList)
        index = owners.highlighted
        label = str(owners.get_option_at_index(index).prompt) if index is not None else "site"
        self.app.push_screen(DocumentDialog(label), self._upload)

    def _upload(self, draft: DocumentDraft | None) -> None:
        if draft is not None:
            self.upload(draft)

    @work(exclusive=True, group="upload")
    async def upload(self, draft: DocumentDraft) -> None:
        staff = self.staff
        meta = DocumentMeta.model_validate(
            {
                "owner_kind": "site" if self.owner == SITE else "renter",
                "owner_id": None if self.owner == SITE else self.owner,
                "kind": draft.kind,
                "number": draft.number,
                "issuer": draft.issuer,
                "expires_at": draft.expires.isoformat() if draft.expires else None,
            }
        )
        try:
            content = draft.path.read_bytes()
        except OSError as exc:
            staff.report(EdgeProblem("Cannot read the file", f"{draft.path}: {exc.strerror}"))
            return
        content_type = mimetypes.guess_type(draft.path.name)[0] or "application/octet-stream"
        saved = await staff.call(
            staff.edge.upload_document(meta, draft.path.name, content, content_type)
        )
        if saved is not None:
            await self._load_documents()
