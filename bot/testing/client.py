"""A person in a chat, talking to a real core: what they type, press and see."""

from __future__ import annotations

from bot.core import Core
from bot.events import Choice, Command, ConversationKey, Edit, Event, Incoming, Send, Text
from bot.testing.outlet import CaptureOutlet


class ChatClient:
    """Sends updates as a platform would and returns what came back in that chat.

    Why not call `core.handle` directly: a test then has to build keys, update
    ids and button tokens itself, and a typo in one of them tests something no
    person can do. A button is pressed only if the last question shown in the
    chat offered it, with that question's token, as a platform's button would.
    """

    def __init__(self, core: Core, outlet: CaptureOutlet, *, platform: str | None = None) -> None:
        self.core, self.outlet = core, outlet
        self.platform = platform or outlet.platform
        self.updates = 0  # updates sent so far; the n-th had update id f"{platform}:{n}"

    async def send(self, user: str, event: Event, *, chat: str | None = None,
                   lang_hint: str | None = None, update_id: str | None = None, **extra: str) -> list[str]:
        """One update from `user` (in `chat`, their private chat by default); the texts shown there.

        `update_id` repeats an update's id on purpose, as a platform redelivering it would.
        """
        where = chat or user
        before = len(self.outlet.sent.get(where, []))
        self.updates += 1
        await self.core.handle(Incoming(ConversationKey(self.platform, where, user), event,
                                        update_id=update_id or f"{self.platform}:{self.updates}",
                                        lang_hint=lang_hint, extra=dict(extra)))
        return self.outlet.texts(where)[before:]

    async def say(self, user: str, text: str) -> list[str]:
        return await self.send(user, Text(text))

    async def command(self, user: str, name: str, args: str = "") -> list[str]:
        return await self.send(user, Command(name, args))

    async def press(self, user: str, choice: str) -> list[str]:
        """Press a button, by id or label, of the last question shown to `user`."""
        question = self.question(user)
        found = [c.id for c in question.choices if choice in (c.id, c.label)]
        assert found, f"no button {choice!r} in {[c.label for c in question.choices]}"
        return await self.send(user, Choice(found[0], question.token))

    def question(self, user: str) -> Send | Edit:
        """The last message in the user's chat that offered buttons."""
        return next(a for a in reversed(self.outlet.sent.get(user, [])) if a.choices)
