"""Document expiry reminders: each days-before mark (30, 14 and 3 by default) at most once.

A daily job calls ``send_expiry_reminders``. A document due for a mark gets one reminder for the
tightest mark it has reached; marks it passed before the first run are not sent late (a document
uploaded 10 days before expiry hears about the 14-day mark once, never the 30-day one). Each
reminder is a ``ReminderSent`` row and a ``document.expiry_reminder`` audit event in one
transaction, then handed to a ``Notifier`` (for now one that writes a log line).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import col, select

from edge.journal import SYSTEM, Tx
from edge.services import EdgeServices
from edge.tables import Document, ReminderSent

log = logging.getLogger("prep.edge.reminders")


@dataclass(frozen=True)
class ExpiryReminder:
    """One reminder that went out: which document, which mark, when it expires."""

    document_id: str
    owner_kind: str
    owner_id: str
    kind: str
    expires_at: datetime
    days_before: int


class Notifier(Protocol):
    def notify(self, reminder: ExpiryReminder) -> None: ...


class LoggingNotifier:
    """Tells the log; a mail or push notifier can replace it behind the same interface."""

    def notify(self, reminder: ExpiryReminder) -> None:
        log.info(
            "document %s (%s of %s %s) expires %s: %d-day reminder",
            reminder.document_id,
            reminder.kind,
            reminder.owner_kind,
            reminder.owner_id,
            reminder.expires_at.isoformat(),
            reminder.days_before,
        )


async def send_expiry_reminders(
    services: EdgeServices, now: datetime, notifier: Notifier | None = None
) -> list[ExpiryReminder]:
    """Record and send the reminders due at ``now``; running again the same day sends nothing."""
    marks = sorted(set(services.settings.jobs.reminder_days))
    if not marks:
        return []
    async with services.journal.write(SYSTEM, now) as tx:
        documents = await _expiring(tx, now, now + timedelta(days=marks[-1]))
        sent = await _sent_marks(tx, [doc.id for doc in documents])
        reminders = []
        for doc in documents:
            mark = tightest_mark(doc.expires_at, now, marks)
            if doc.expires_at is None or mark is None:
                continue
            if not any(done <= mark for done in sent.get(doc.id, ())):
                reminders.append(_remind(tx, doc, doc.expires_at, mark))
    for reminder in reminders:
        (notifier or LoggingNotifier()).notify(reminder)
    return reminders


def tightest_mark(expires_at: datetime | None, now: datetime, marks: Sequence[int]) -> int | None:
    """The smallest mark (in days) an expiry still ahead is within, if any."""
    if expires_at is None or expires_at <= now:
        return None
    left = expires_at - now
    return next((mark for mark in sorted(marks) if left <= timedelta(days=mark)), None)


async def _expiring(tx: Tx, now: datetime, horizon: datetime) -> Sequence[Document]:
    query = (
        select(Document)
        .where(col(Document.expires_at) > now, col(Document.expires_at) <= horizon)
        .order_by(col(Document.expires_at), col(Document.id))
    )
    return (await tx.session.exec(query)).all()


async def _sent_marks(tx: Tx, document_ids: Iterable[str]) -> dict[str, list[int]]:
    query = select(ReminderSent).where(col(ReminderSent.document_id).in_(list(document_ids)))
    sent: dict[str, list[int]] = {}
    for row in (await tx.session.exec(query)).all():
        sent.setdefault(row.document_id, []).append(row.days_before)
    return sent


def _remind(tx: Tx, doc: Document, expires_at: datetime, mark: int) -> ExpiryReminder:
    reminder = ExpiryReminder(
        doc.id, doc.owner_kind, doc.owner_id, doc.kind, expires_at, days_before=mark
    )
    tx.session.add(ReminderSent(document_id=doc.id, days_before=mark, sent_at=tx.now))
    details = {
        "days_before": mark,
        "expires_at": expires_at.isoformat(),
        "kind": doc.kind,
        "owner_kind": doc.owner_kind,
        "owner_id": doc.owner_id,
    }
    tx.record("document.expiry_reminder", "document", doc.id, details)
    return reminder
