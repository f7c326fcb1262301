"""What the benchmark counts outbound calls with: a recorder, and the core-only run's sink.

The Telegram run answers through `bench.tgrequest.FakeBotRequest` (python-telegram-bot's
request layer replaced in memory); the core-only run delivers to `SinkOutlet`. Both count
calls per method and keep the transcripts of three users (0, 1 and U-1).

The per-chat arrays (next message id, the bot's newest message) are allocated for every
user before the baseline RSS is read, as §4 asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.workload import Call, Keyboard, index_of
from bot.events import ChoiceButton, ConversationKey, Document, Edit, Send

JSON = dict[str, Any]
METHODS = ("sendMessage", "editMessageText", "answerCallbackQuery")


class Recorder:
    """Counters, per-chat message ids and the watched users' transcripts."""

    def __init__(self, users_total: int, watched: Sequence[int]) -> None:
        self.next_message_id = [1] * users_total
        self.last_bot_message = [0] * users_total
        self.calls: dict[str, int] = dict.fromkeys(METHODS, 0)
        self.other_calls: dict[str, int] = {}
        self.watched = frozenset(watched)
        self.transcripts: dict[int, list[Call]] = {i: [] for i in watched}

    def reset(self) -> None:
        """Forget the warm-up: counters to zero, transcripts empty."""
        self.calls = dict.fromkeys(METHODS, 0)
        self.other_calls = {}
        for calls in self.transcripts.values():
            calls.clear()

    def bot_message(self, i: int) -> int:
        message_id = self.next_message_id[i]
        self.next_message_id[i] = message_id + 1
        self.last_bot_message[i] = message_id
        return message_id

    def record(self, method: str, i: int, text: str | None, keyboard: Keyboard | None) -> None:
        if method in self.calls:
            self.calls[method] += 1
        else:
            self.other_calls[method] = self.other_calls.get(method, 0) + 1
        if i in self.watched:
            self.transcripts[i].append((method, text, keyboard))


class SinkOutlet:
    """The core-only run's outlet: what the Telegram adapter would call, counted, no PTB.

    Keyboards are laid out by the Telegram adapter's own `keyboard()` so the transcript
    check sees the same rows a Telegram user would.
    """

    platform = "telegram"

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        from bot.adapters.telegram import keyboard

        self._keyboard = keyboard

    def rows(self, choices: Sequence[ChoiceButton], token: str) -> Keyboard | None:
        markup = self._keyboard(choices, token)
        if markup is None:
            return None
        return tuple(tuple((b.text, str(b.callback_data or "")) for b in row) for row in markup.inline_keyboard)

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        i = index_of(int(key.chat))
        target = reply_to
        watched = i in self.recorder.watched
        for action in actions:
            keyboard = self.rows(action.choices, action.token) if watched else None
            if isinstance(action, Edit) and target is not None:
                self.recorder.record("editMessageText", i, action.text, keyboard)
                target = None
            else:
                self.recorder.bot_message(i)
                self.recorder.record("sendMessage", i, action.text, keyboard)

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        return room
