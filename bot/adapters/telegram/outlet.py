"""Telegram messages out: the core's Send/Edit as Bot API calls (HTML, inline keyboards, edits, documents).

Why its own module: what a person sees on Telegram, and what is left to send when
Telegram stops halfway, is decided here and nowhere else. Progress is counted per
Bot API call: when an action stops halfway (chunk 3 of 4 of a long text, the
upload after its intro), DeliveryFailed/PartlyDelivered tell the core what the
user already saw, so nothing already shown is sent again. What it must never do:
send a text it did not escape (every value is HTML-escaped before our own markup
is applied), or log what a message says.
"""

from __future__ import annotations

import html
import json
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

from bot.adapters.base import DeliveryFailed
from bot.adapters.telegram.limits import RetryPolicy, call_with_retries
from bot.adapters.telegram.updates import MessageRef
from bot.events import ChoiceButton, ConversationKey, Document, Edit, LinkPreview, Send
from bot.letters import file_bytes
from bot.markup import telegram_html
from bot.phone import side_by_side

log = logging.getLogger(__name__)

# A reply to a user and the answer to a press are sent with Bot.do_api_request and no return type (see
# _post_reply, TelegramAdapter._answer_query), which PTB answers with this hint on every call.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.(sendMessage|editMessageText|answerCallbackQuery)'",
                        category=PTBUserWarning)
T = TypeVar("T")

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 units after parsing
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
UPLOAD_LIMIT = 50 * 1024 * 1024
#: Telegram shows a large card for the first link of a message unless told not to. Under a crisis
#: answer or a deadline, a municipality's home page card pushes the words that matter off the screen,
#: and a "Bron: https://..." line is a reference, not an invitation to read: no previews.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def preview_options(preview: LinkPreview | None) -> LinkPreviewOptions:
    """No preview, unless the flow chose the one page a message is about: then that page, small."""
    if preview is None:
        return NO_PREVIEW
    return LinkPreviewOptions(url=preview.url, prefer_small_media=True, show_above_text=preview.above)


@lru_cache(maxsize=256)
def preview_json(preview: LinkPreview | None) -> str:
    """`preview_options` as it goes on the wire, made once: PTB would rebuild and dump it for every reply."""
    return json.dumps(preview_options(preview).to_dict())


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a long text into messages Telegram accepts, at paragraph boundaries if it can.

    Falls back to a line break, then a space, then a hard cut. Telegram trims
    each message, so chunks are trimmed here too; empty chunks are dropped.
    """
    return [chunk for chunk, _ in split_with_rest(text, limit)]


def split_with_rest(text: str, limit: int = TEXT_LIMIT) -> list[tuple[str, str]]:
    """Each chunk with the text from that chunk on, for a delivery that stops halfway.

    The cut only looks at what is left, so `split_text(rest)` gives exactly the
    chunks from that one on: a re-sent remainder looks as the first try would have.
    """
    chunks: list[tuple[str, str]] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        window = rest.encode("utf-16-le")[: limit * 2].decode("utf-16-le", errors="ignore")
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        else:
            cut = len(window)
        chunks.append((rest[:cut].rstrip(), rest))
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append((rest, rest))
    return chunks


def keyboard(choices: Sequence[ChoiceButton], token: str) -> InlineKeyboardMarkup | None:
    """Buttons carrying `<token>:<choice id>` so a stale press is recognised.

    One row for a few short answers (yes/no), otherwise one button per row.
    """
    if not choices:
        return None
    return _keyboard(tuple(choices), token)


@lru_cache(maxsize=1024)
def _keyboard(choices: tuple[ChoiceButton, ...], token: str) -> InlineKeyboardMarkup:
    """Every user at a step gets the same keyboard; PTB's objects are frozen, so one is shared."""
    buttons = [InlineKeyboardButton(c.label, callback_data=f"{token}:{c.id}") for c in choices]
    if side_by_side([c.label for c in choices]):  # a row each unless every label fits its share (bot/phone.py)
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[button] for button in buttons])


def keyboard_json(choices: Sequence[ChoiceButton], token: str) -> str | None:
    """`keyboard` as it goes on the wire (PTB sends a JSON string as it is), made once per step's buttons:
    PTB would turn the same frozen keyboard into a dict and dump it again for every reply."""
    if not choices:
        return None
    return _keyboard_json(tuple(choices), token)


@lru_cache(maxsize=1024)
def _keyboard_json(choices: tuple[ChoiceButton, ...], token: str) -> str:
    return json.dumps(_keyboard(choices, token).to_dict())


class PartlyDelivered(DeliveryFailed):
    """Telegram stopped halfway through an action: `rest` is what the user has not seen.

    `rest` replaces `actions[delivered:]` when the core requeues (the action
    that stopped, from the part that failed, then the actions after it).
    """

    def __init__(self, reason: str, delivered: int, rest: list[Send]) -> None:
        super().__init__(reason, delivered=delivered)
        self.rest = rest


@dataclass(frozen=True, slots=True)
class _Part:
    """One Bot API call of a delivery."""

    action: int  # index of the action it shows (part of)
    call: Callable[[], Awaitable[object]]
    rest: Send  # this part and the rest of its action, should the call fail
    first: bool  # the action's first call: nothing of the action is shown yet


def _as_send(action: Send | Edit) -> Send:
    """An action to show later: an Edit's target is gone by then."""
    if isinstance(action, Send):
        return action
    return Send(action.text, action.choices, action.token, preview=action.preview)


class TelegramOutlet:
    """Sends, edits and uploads for one bot; the adapter's `deliver` and `deliver_to_room` are these."""

    def __init__(self, bot: ExtBot[Any], retry: RetryPolicy) -> None:
        self.bot = bot
        self.retry = retry

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call with this bot's retry policy (see limits.call_with_retries)."""
        return await call_with_retries(fn, self.retry)


    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        """Send, edit and upload in order; raise DeliveryFailed once Telegram keeps refusing.

        A refusal that no fallback fixes (BadRequest) is a DeliveryFailed too,
        so the core keeps the messages in its outbox instead of losing them.
        Progress is counted per Bot API call: when an action stops halfway (chunk
        3 of 4, the upload after its intro), `rest` holds what the user has not seen.
        """
        chat_id = int(key.chat)
        target = reply_to if isinstance(reply_to, MessageRef) and reply_to.chat_id == chat_id else None
        parts = self._parts(chat_id, actions, target)
        for part in parts:
            try:
                await part.call()
            except (BadRequest, DeliveryFailed) as exc:
                reason = f"telegram: {exc.message}" if isinstance(exc, BadRequest) else str(exc)
                if part.first:
                    raise DeliveryFailed(reason, delivered=part.action) from exc
                rest = [part.rest, *(_as_send(a) for a in actions[part.action + 1:])]
                raise PartlyDelivered(reason, delivered=part.action, rest=rest) from exc

    def _parts(self, chat_id: int, actions: Sequence[Send | Edit], target: MessageRef | None) -> list[_Part]:
        """Every action as the Bot API calls that show it, each with what is left if it fails."""
        parts: list[_Part] = []
        for index, action in enumerate(actions):
            markup = keyboard_json(action.choices, action.token)
            document = action.document if isinstance(action, Send) else None
            own: list[tuple[Callable[[], Awaitable[object]], Send]] = []
            pieces = split_with_rest(action.text) if document is None or action.text.strip() else []
            for i, (chunk, rest) in enumerate(pieces):
                call: Callable[[], Awaitable[object]]
                last = i == len(pieces) - 1 and document is None
                chunk_markup = markup if last else None
                preview = action.preview if i == 0 else None  # the page the message is about, once
                if i == 0 and isinstance(action, Edit) and target is not None:
                    call = partial(self._edit_chunk, chat_id, target.message_id, chunk, chunk_markup, preview)
                    target = None  # one message answered, one message replaced
                else:
                    call = partial(self._post_reply, "sendMessage", chat_id, chunk, chunk_markup, preview=preview)
                own.append((call, Send(rest, action.choices, action.token, document, preview)))
            if document is not None:
                own.append((partial(self._send_document, chat_id, document, keyboard(action.choices, action.token)),
                            Send("", action.choices, action.token, document)))
            parts.extend(_Part(index, call, rest, i == 0) for i, (call, rest) in enumerate(own))
        return parts

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post to a desk group; the id of the first message posted identifies it."""
        chat_id = int(room)
        try:
            first = await self.send_text(chat_id, text, None)
            if document is not None:
                message = await self._send_document(chat_id, document, None)
                first = first or message
        except BadRequest as exc:
            raise DeliveryFailed(f"telegram: {exc.message}") from exc
        return str(first.message_id) if first else ""

    async def send_text(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None, reply: ReplyParameters | None = None
    ) -> Message | None:
        return await self._send_chunks(chat_id, split_text(text), markup, reply)

    async def _send_chunks(
        self,
        chat_id: int,
        chunks: Sequence[str],
        markup: InlineKeyboardMarkup | None,
        reply: ReplyParameters | None = None,
        preview: LinkPreview | None = None,
    ) -> Message | None:
        """Plain text, escaped as a whole; the keyboard goes on the last part."""
        first: Message | None = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await self.call(
                partial(
                    self.bot.send_message,
                    chat_id,
                    telegram_html(chunk),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=preview_options(preview if i == 0 else None),
                    reply_markup=markup if last else None,
                    reply_parameters=reply if i == 0 else None,
                )
            )
            first = first or sent
        return first

    async def _edit_chunk(self, chat_id: int, message_id: int, chunk: str, markup: str | None,
                          preview: LinkPreview | None = None) -> None:
        """Replace the answered question; a message that cannot be edited gets a new one instead."""
        try:
            await self._post_reply("editMessageText", chat_id, chunk, markup, message_id, preview)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.info("telegram: edit refused (%s); sending instead", exc.message)
                await self._post_reply("sendMessage", chat_id, chunk, markup, preview=preview)

    async def _post_reply(self, method: str, chat_id: int, chunk: str, markup: str | None,
                          message_id: int | None = None, preview: LinkPreview | None = None) -> None:
        """Send or edit one chunk of a reply without parsing Telegram's answer into a Message.

        Nobody reads that Message, and PTB's parsing of it cost more than the rest of the call
        (~160 of ~260 µs per reply, bench/README.md). The request is serialised, rate limited
        and checked for errors exactly as `send_message`/`edit_message_text` do it; the keyboard
        (`markup`, keyboard_json) and the preview options go as the JSON they always are on the
        wire, made once instead of per reply.
        """
        kwargs: dict[str, Any] = {"chat_id": chat_id, "text": telegram_html(chunk),
                                  "parse_mode": "HTML", "link_preview_options": preview_json(preview)}
        if message_id is not None:
            kwargs["message_id"] = message_id
        if markup is not None:
            kwargs["reply_markup"] = markup
        await self.call(lambda: self.bot.do_api_request(method, api_kwargs=kwargs))

    async def _send_document(
        self, chat_id: int, document: Document, markup: InlineKeyboardMarkup | None
    ) -> Message | None:
        """A letter as a file; if Telegram refuses the upload, the same letter as text."""
        content = file_bytes(document)
        caption = (document.caption or document.title)[:CAPTION_LIMIT]
        if 0 < len(content) <= UPLOAD_LIMIT:
            try:
                return await self.call(
                    lambda: self.bot.send_document(
                        chat_id,
                        InputFile(content, filename=document.filename),
                        caption=html.escape(caption, quote=False),
                        parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                    )
                )
            except BadRequest as exc:
                log.info("telegram: upload refused (%s); sending the document inline", exc.message)
        return await self.send_text(chat_id, f"{document.title}\n\n{document.content}", markup)
