"""Telegram: python-telegram-bot 22 as transport only.

`TelegramAdapter(settings, core)` is what bot.app starts. The parts:
updates.py (what an update means, no I/O), limits.py (send limits, 429s and
retries), polling.py and webhook.py (how updates arrive), outlet.py (messages
out) and adapter.py (ties them together for the core).
"""

from bot.adapters.telegram.adapter import MENU, PRESS_ANSWER_LIMIT, TEXT_KEYS, TelegramAdapter
from bot.adapters.telegram.limits import RetryPolicy, SendLimiter, SendLimits
from bot.adapters.telegram.outlet import PartlyDelivered, TelegramOutlet, keyboard, split_text, split_with_rest, utf16_len
from bot.adapters.telegram.updates import OFFSET_CURSOR, PLATFORM, GroupCall, MessageRef, read_raw_update, read_update

__all__ = [
    "MENU",
    "OFFSET_CURSOR",
    "PLATFORM",
    "PRESS_ANSWER_LIMIT",
    "TEXT_KEYS",
    "GroupCall",
    "MessageRef",
    "PartlyDelivered",
    "RetryPolicy",
    "SendLimiter",
    "SendLimits",
    "TelegramAdapter",
    "TelegramOutlet",
    "keyboard",
    "read_raw_update",
    "read_update",
    "split_text",
    "split_with_rest",
    "utf16_len",
]
