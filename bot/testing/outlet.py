"""One capturing outlet: what each chat and each desk room would have been shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.adapters.base import DeliveryFailed
from bot.events import ConversationKey, Document, Edit, Send


@dataclass(slots=True)
class RoomPost:
    """One post in a desk room, with the id the platform gave it (threads and replies refer to it)."""

    room: str
    text: str
    document: Document | None
    message_id: str

    def shown(self) -> str:
        """The post as a desk member reads it: the text, then the attached document's content."""
        return self.text + ("\n" + self.document.content if self.document else "")


@dataclass
class CaptureOutlet:
    """The platform, remembering instead of sending.

    Keyed by chat, because that is where a platform shows a message: a
    person's private chat, or a desk room where several members write.
    `platform` decides which limits the core applies ("telegram" gets flood
    limits, "console" none). `refuse_rooms` makes desk posts fail as a
    platform outage would, so retry paths can be tested.
    """

    platform: str = "test"
    sent: dict[str, list[Send | Edit]] = field(default_factory=dict)
    posts: list[RoomPost] = field(default_factory=list)
    refuse_rooms: bool = False
    _log: list[Send | Edit] = field(default_factory=list)
    _taken: tuple[int, int] = (0, 0)
    _next_id: int = 100

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        self.sent.setdefault(key.chat, []).extend(actions)
        self._log.extend(actions)

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        if self.refuse_rooms:
            raise DeliveryFailed("the platform is down")
        self._next_id += 1
        post = RoomPost(room, text, document, str(self._next_id))
        self.posts.append(post)
        return post.message_id

    def texts(self, chat: str) -> list[str]:
        """Every text shown in one chat, in order."""
        return [action.text for action in self.sent.get(chat, [])]

    def room_texts(self, room: str = "desk") -> list[str]:
        return [post.text for post in self.posts if post.room == room]

    @property
    def total(self) -> int:
        """Messages sent to anyone: proves that nothing was answered before it was stored."""
        return len(self._log)

    def take(self) -> tuple[list[Send | Edit], list[str]]:
        """What was shown anywhere since the last take: one turn's messages and desk posts."""
        messages, posts = self._taken
        self._taken = (len(self._log), len(self.posts))
        return self._log[messages:], [post.shown() for post in self.posts[posts:]]
