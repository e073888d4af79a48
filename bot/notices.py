"""Notices to the maintainers about wetwacht itself: a source that keeps failing, and its recovery.

The pipeline writes them (`NoticeRow`) in the transaction that records the source's health, and always logs
them. This module sends the pending ones, when there is a Telegram bot to send with. A notice that cannot be
sent stays pending and is tried again on the next round; after `MAX_ATTEMPTS` it is given up (the log line
stays).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from storage.db import session_scope
from storage.models import NoticeRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
Send = Callable[[str, str], Awaitable[None]]  # (recipient, plain text)


async def send_notices(engine: Engine, send: Send, now: dt.datetime, *, limit: int = 50) -> int:
    """Send up to `limit` pending notices, oldest first; return how many were sent."""
    with session_scope(engine) as session:
        pending = [(n.id, n.recipient, n.text) for n in session.exec(
            select(NoticeRow).where(NoticeRow.status == "pending").order_by(col(NoticeRow.id)).limit(limit))]
    sent = 0
    for notice_id, recipient, text in pending:
        error: str | None = None
        try:
            await send(recipient, text)
        except Exception as exc:  # any failure of the channel: keep the notice, say why
            error = f"{type(exc).__name__}: {exc}"
        with session_scope(engine) as session:
            row = session.get(NoticeRow, notice_id)
            if row is None or row.status != "pending":
                continue
            row.attempts += 1
            if error is None:
                row.status, row.sent_at, row.last_error = "sent", now, None
                sent += 1
            else:
                row.last_error = error
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "dead"
                log.warning("notice %s to maintainer %s not sent (attempt %d): %s", notice_id, recipient,
                            row.attempts, error)
            session.add(row)
    return sent
