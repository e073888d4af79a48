"""What a delivery channel is: something that sends one event to one recipient, or says why it could not."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class DeliveryError(Exception):
    """One delivery attempt failed. `permanent`: retrying cannot help (the chat blocked the bot, the endpoint
    is gone); `retry_after`: the recipient asked to wait this many seconds (Telegram's RetryAfter, HTTP 429)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None,
                 pause_recipient: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.pause_recipient = pause_recipient  # stop sending to this recipient at all (blocked, deleted)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery to send: the event JSON and who gets it. `attempt` counts from 1."""

    delivery_id: int
    event_id: str
    event: Mapping[str, Any]
    channel: str
    recipient: str
    attempt: int
    first_tried_at: dt.datetime | None


class Channel(Protocol):
    """A delivery channel. `name` is the outbox `channel` value it serves."""

    name: str

    async def send(self, attempt: Attempt) -> None:
        """Send; return on success, raise `DeliveryError` on failure."""
        ...

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait before the next try after `attempt` failed tries (backoff with jitter)."""
        ...

    def gives_up(self, attempt: int, first_tried_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether a delivery that failed `attempt` times since `first_tried_at` is dead."""
        ...
