"""Telegram updates in: what a Bot API update means to the core, with no I/O.

Why its own module: which updates reach a conversation (private chats, desk
groups), which only get an invitation (a group addressing the bot) and which
are ignored is the part of the adapter worth testing with plain calls. It must
never log what a user typed: only update numbers and kinds leave this module.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ExtBot

from bot.events import Choice, Command, ConversationKey, Event, Incoming, Text, Unsupported

PLATFORM = "telegram"
#: The store cursor holding the next getUpdates offset.
OFFSET_CURSOR = "telegram_offset"
#: Only what the adapter uses; edited messages are never even fetched.
ALLOWED_UPDATES = ("message", "callback_query")

#: Message attributes that make a message unreadable for us, checked in this order
#: (an animation also carries a document, a venue also a location).
_UNSUPPORTED = (
    "photo",
    "sticker",
    "voice",
    "video_note",
    "video",
    "audio",
    "animation",
    "document",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "paid_media",
    "checklist",
)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """The bot message whose button was pressed: the one an Edit replaces (and the press, to answer it)."""

    chat_id: int
    message_id: int
    query_id: str = ""


@dataclass(frozen=True, slots=True)
class GroupCall:
    """Someone addressed the bot in a group: answer with an invitation, nothing personal."""

    chat_id: int
    message_id: int
    lang_hint: str | None


def read_update(update: Update, bot_id: int, bot_username: str,
                desk_chats: frozenset[int] = frozenset()) -> Incoming | GroupCall | None:
    """What an update means to the core (or a group invitation, or nothing).

    A desk group (WEGWIJZER_DESKS) is the exception to "nothing personal in a
    group": its members' messages go to the core (the safety desk claims them
    before any flow), with the id of the message they reply to in
    extra["reply_to"]; only people posting as themselves count as members.
    Pure: no I/O, so every kind of update can be checked with plain calls.
    """
    update_id = f"tg:{update.update_id}"
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return None  # inline-mode or group buttons carry no conversation
        token, _, choice_id = (query.data or "").partition(":")  # a token has no colon; a choice id may ("go:suicide")
        user = query.from_user
        return Incoming(
            key=ConversationKey(PLATFORM, str(message.chat.id), str(user.id)),
            event=Choice(choice_id, token),
            update_id=update_id,
            lang_hint=user.language_code,
            reply_to=MessageRef(message.chat.id, message.message_id, query.id),
        )
    message = update.message  # edited messages, channel posts ... are not ours
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    user = message.from_user
    if message.chat.id in desk_chats:
        if message.is_automatic_forward or message.sender_chat is not None:
            # A linked channel's post copied in by Telegram (from "Telegram", 777000, not a bot),
            # or a post as a channel or as an anonymous admin: no person a desk member can be told
            # apart from, so nothing that claims, answers or ends a talk.
            return None
        desk_event = _event_of(message, bot_username)
        if desk_event is None:
            return None
        replied = message.reply_to_message
        return Incoming(
            key=ConversationKey(PLATFORM, str(message.chat.id), str(user.id)),
            event=desk_event,
            update_id=update_id,
            lang_hint=user.language_code,
            extra={"reply_to": str(replied.message_id)} if replied is not None else {},
        )
    if message.chat.type != ChatType.PRIVATE:
        if _addressed(message, bot_id, bot_username):
            return GroupCall(message.chat.id, message.message_id, user.language_code)
        return None
    event = _event_of(message, bot_username)
    if event is None:
        return None
    return Incoming(
        key=ConversationKey(PLATFORM, str(message.chat.id), str(user.id)),
        event=event,
        update_id=update_id,
        lang_hint=user.language_code,
    )


def read_raw_update(data: object, bot: ExtBot[Any]) -> Update | None:
    """An update as PTB reads it, or None when it cannot (a malformed update from Telegram or a forger).

    PTB raises whatever the broken part provokes (KeyError, TypeError, AttributeError ...).
    An update without a usable number is malformed too: its offset could never be confirmed.
    """
    if not isinstance(data, dict):
        return None
    try:
        update = Update.de_json(data, bot)
    except Exception:
        return None
    return update if isinstance(update.update_id, int) else None


def _event_of(message: Message, bot_username: str) -> Event | None:
    if message.text is not None:
        entities = message.entities
        if entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0:
            word = message.text[: entities[0].length]
            name, _, target = word[1:].partition("@")
            if target and target.lower() != bot_username.lower():
                return None  # a command for another bot
            return Command(name.lower(), message.text[entities[0].length :].strip())
        return Text(message.text)
    for kind in _UNSUPPORTED:
        if getattr(message, kind, None):
            return Unsupported(kind)
    return None  # service messages (pinned, ...) need no answer


def _addressed(message: Message, bot_id: int, bot_username: str) -> bool:
    """A mention, a reply to the bot, or a command (bare or /cmd@this_bot)."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    handle = f"@{bot_username}".lower()
    found = {**message.parse_entities(), **message.parse_caption_entities()}
    for entity, text in found.items():
        if entity.type == MessageEntity.MENTION and text.lower() == handle:
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            _, _, target = text.partition("@")
            if not target or f"@{target}".lower() == handle:
                return True
    return False


def failure(exc: BaseException) -> str:
    """An exception for the log without its message, which may quote what a user typed."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}".rstrip()


def lane_of(update: Update) -> int:
    """The chat an update belongs to: its updates are handled in order (bot/adapters/lanes.py)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


def kind_of(update: Update) -> str:
    """What an update is (message, callback_query ...), never what it says."""
    return next((name for name in ALLOWED_UPDATES if getattr(update, name, None) is not None), "other")


class _RedactUpdates(logging.Filter):
    """PTB logs the raw getUpdates body when it cannot parse it: that holds user text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Received data was" in str(record.msg):
            record.msg, record.args = "Error while parsing updates (data withheld)", None
        return True


REDACT = _RedactUpdates()

