"""An outlet that keeps what each user was sent: for tests whose subject is the core, not a platform."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.events import ConversationKey, Document, Edit, Send


class Capture:
    """Keeps each user's messages, in order (platform "telegram", so flood limits apply)."""

    platform = "telegram"

    def __init__(self) -> None:
        self.sent: defaultdict[str, list[str]] = defaultdict(list)

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        self.sent[key.user].extend(action.text for action in actions)

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        return room

    @property
    def total(self) -> int:
        """Messages sent to anyone."""
        return sum(len(texts) for texts in self.sent.values())
