"""Telegram, on python-telegram-bot 22 used as transport only.

What it does: turn Bot API updates into `Incoming` events for the core, and
the core's messages into Bot API calls (HTML, inline keyboards, edits,
documents). What it must never do: decide anything about a conversation,
keep conversation state (no ConversationHandler, no PTB persistence), put a
personal answer in a group, or log what a user typed.

Why our own polling loop and not PTB's Updater: the Updater confirms an
update to Telegram (advances the offset) before it is handled, so a crash
loses it. Here an update is handed to the core first, and the next offset
is stored in the same transaction as the turn (`Incoming.cursor`); Telegram
only forgets the update on the next getUpdates. Webhook mode answers 200
only after the core handled the update, so Telegram redelivers after a crash;
the core's handled-updates table makes both paths at-most-once. Updates of one
chat are handled in order, different chats side by side (bot/adapters/lanes.py),
so one chat waiting for its send limit or a 429 does not hold up the others.

Sending: a rate limiter keeps Telegram's documented limits (30 msg/s overall,
20/min per group, about 1/s per private chat after a short burst) and waits out
429s; on top of that every call is retried
on 429 (retry_after honoured), network errors and 5xx with backoff, and
after the last attempt DeliveryFailed tells the core to keep the messages in
its outbox, counting what the user already saw per Bot API call (a chunk of a
long text, a document's intro), so nothing already shown is sent again.
Retrying a call that timed out may show a message twice; that is preferred
over losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import random
import secrets
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from aiolimiter import AsyncLimiter
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageLimit, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bot.adapters.base import TYPING_AFTER_S, DeliveryFailed, typing_while_slow
from bot.adapters.lanes import TAKE, WAITING_PER_CHAT, Admission, Lanes
from bot.events import (
    Choice,
    ChoiceButton,
    Command,
    ConversationKey,
    Document,
    Edit,
    Event,
    Incoming,
    Send,
    Text,
    Unsupported,
)
from bot.flood import Verdict
from bot.letters import file_bytes
from bot.phone import side_by_side
from bot.store import who_of

if TYPE_CHECKING:
    from aiohttp import web

    from bot.core import Core
    from bot.settings import Settings

log = logging.getLogger(__name__)

# PTB 22's own RetryAfter constructor reads its deprecated `retry_after`, so every 429
# printed this warning although nothing here relies on the old type
# (_retry_after_seconds takes both).
warnings.filterwarnings("ignore", message=r"Deprecated since version \S+: In a future major version attribute `retry_after`",
                        category=PTBDeprecationWarning)
# A reply to a user is sent with Bot.do_api_request and no return type (see _post_reply), which
# PTB answers with this hint on every call.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.(sendMessage|editMessageText)'",
                        category=PTBUserWarning)
T = TypeVar("T")

PLATFORM = "telegram"
#: While every update Telegram returns is already in hand, ask again after a lane finished one or this long.
LANE_WAIT_S = 0.5
#: Telegram shows at most 200 characters in a callback query's answer.
PRESS_ANSWER_LIMIT = 200

#: The store cursor holding the next getUpdates offset.
OFFSET_CURSOR = "telegram_offset"
#: Only what the adapter uses; edited messages are never even fetched.
ALLOWED_UPDATES = ("message", "callback_query")
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 units after parsing
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
UPLOAD_LIMIT = 50 * 1024 * 1024
#: Telegram shows a large card for the first link of a message unless told not to. Under a crisis
#: answer or a deadline, a municipality's home page card pushes the words that matter off the screen,
#: and a "Bron: https://..." line is a reference, not an invitation to read: no previews.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

#: The command menu per language: (command, meaning). The engine knows every
#: command in both languages; the menu shows each user the ones of their own.
MENU: dict[str, tuple[tuple[str, str], ...]] = {
    "nl": (
        ("start", "start"),
        ("hulp", "help"),
        ("terug", "back"),
        ("opnieuw", "restart"),
        ("taal", "language"),
        ("mens", "person"),
        ("mijngegevens", "mydata"),
        ("stop", "forget"),
    ),
    "en": (
        ("start", "start"),
        ("help", "help"),
        ("back", "back"),
        ("restart", "restart"),
        ("language", "language"),
        ("person", "person"),
        ("mydata", "mydata"),
        ("stop", "forget"),
    ),
}
#: Text keys this adapter renders (for the flow checker's "exists in every language").
TEXT_KEYS = (
    "telegram.group_invite",
    "telegram.group_invite_button",
    "telegram.stale_button",
    *sorted({f"telegram.commands.{meaning}" for menu in MENU.values() for _, meaning in menu}),
)

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


# ---------------------------------------------------------------- updates in


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
        token, _, choice_id = (query.data or "").rpartition(":")
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


# ---------------------------------------------------------------- messages out


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
    return action if isinstance(action, Send) else Send(action.text, action.choices, action.token)


def _transient(exc: BaseException) -> bool:
    """Worth another try: flood control, timeouts, connection trouble and 5xx.

    BadRequest is a NetworkError subclass in PTB but means "never like this".
    """
    return isinstance(exc, RetryAfter) or (isinstance(exc, NetworkError) and not isinstance(exc, BadRequest))


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one Bot API call before the core's outbox takes over."""

    attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Telegram's send limits (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).

    Overall and per group are AIORateLimiter's; Telegram also asks for about one
    message a second per private chat and allows short bursts, so a private chat
    gets `chat_burst` messages at once (a normal turn of 2-3 messages is not
    slowed) and then one per `chat_interval` seconds. Tests shorten the periods.
    """

    overall_rate: float = 30
    overall_period: float = 1.0
    group_rate: float = 20
    group_period: float = 60.0
    chat_burst: int = 3
    chat_interval: float = 1.0
    #: private chats whose bucket is remembered (least recently used forgotten first)
    chats_tracked: int = 1024


class SendLimiter(AIORateLimiter):
    """AIORateLimiter plus a leaky bucket per private chat (positive chat_id).

    Memory is bounded: the least recently used chat is forgotten. That never
    loosens the limit while the overall limit holds: forgetting a chat takes
    `chats_tracked` other chats served since its last message (at 30/s, 34 s
    for 1024), long after its bucket (3 messages at 1/s) has drained.
    """

    def __init__(self, limits: SendLimits) -> None:
        super().__init__(
            overall_max_rate=limits.overall_rate,
            overall_time_period=limits.overall_period,
            group_max_rate=limits.group_rate,
            group_time_period=limits.group_period,
            max_retries=3,
        )
        self.limits = limits
        self._chats: OrderedDict[int, AsyncLimiter] = OrderedDict()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = self._chat_limiter(data.get("chat_id"))
        if chat is None:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        await chat.acquire()
        # AIORateLimiter answers any 429 by holding back every request until the wait is
        # over; a 429 in one private chat should only hold back that chat, so it goes
        # straight to the caller, whose retries (_call) wait it out for this call alone.
        return await self._run_request(  # PTB 22's own step: overall limit, then the call
            chat=True, group=False, allow_paid_broadcast=data.get("allow_paid_broadcast", False),
            callback=callback, args=args, kwargs=kwargs)

    def _chat_limiter(self, chat_id: object) -> AsyncLimiter | None:
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        limits = self.limits
        if not isinstance(chat_id, int) or chat_id <= 0 or limits.chat_burst <= 0:
            return None  # groups and channels: AIORateLimiter's 20/min
        limiter = self._chats.pop(chat_id, None)
        if limiter is None:
            limiter = AsyncLimiter(limits.chat_burst, limits.chat_burst * limits.chat_interval)
            if len(self._chats) >= limits.chats_tracked:
                self._chats.popitem(last=False)
        self._chats[chat_id] = limiter
        return limiter


def _failure(exc: BaseException) -> str:
    """An exception for the log without its message, which may quote what a user typed."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}".rstrip()


def _lane_of(update: Update) -> int:
    """The chat an update belongs to: its updates are handled in order (bot/adapters/lanes.py)."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


def _kind(update: Update) -> str:
    """What an update is (message, callback_query ...), never what it says."""
    return next((name for name in ALLOWED_UPDATES if getattr(update, name, None) is not None), "other")


class _RedactUpdates(logging.Filter):
    """PTB logs the raw getUpdates body when it cannot parse it: that holds user text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Received data was" in str(record.msg):
            record.msg, record.args = "Error while parsing updates (data withheld)", None
        return True


_REDACT = _RedactUpdates()


# ---------------------------------------------------------------- the adapter


class TelegramAdapter:
    """The Telegram outlet and update source for one core.

    Construct, `await start()`, `await stop()`. Keyword arguments exist for
    tests and benchmarks (short polls, fast retries, small timeouts).
    """

    platform = PLATFORM

    def __init__(
        self,
        settings: Settings,
        core: Core,
        *,
        poll_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        request_timeout: float = 10.0,
        handle_attempts: int = 5,
        send_limits: SendLimits | None = None,
        typing_after: float = TYPING_AFTER_S,
    ) -> None:
        if settings.telegram_token is None:
            raise ValueError("WEGWIJZER_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.core = core
        self.poll_timeout = poll_timeout
        self.retry = retry or RetryPolicy()
        self.handle_attempts = handle_attempts
        self.typing_after = typing_after
        api_url = settings.telegram_api_url.rstrip("/")
        file_url = api_url[: -len("/bot")] + "/file/bot" if api_url.endswith("/bot") else api_url
        self.bot: ExtBot[Any] = ExtBot(
            settings.telegram_token.get_secret_value(),
            base_url=api_url,
            base_file_url=file_url,
            request=HTTPXRequest(
                connection_pool_size=16,
                connect_timeout=request_timeout,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                media_write_timeout=max(request_timeout, 20.0),
            ),
            get_updates_request=HTTPXRequest(connect_timeout=request_timeout, read_timeout=request_timeout),
            rate_limiter=SendLimiter(send_limits or SendLimits()) if settings.telegram_rate_limit else None,
        )
        self._poller: asyncio.Task[None] | None = None
        self._polling_call: asyncio.Task[tuple[Update, ...]] | None = None
        self._lanes: Lanes[Update] | None = None
        self._stopping = asyncio.Event()
        self._webhook: web.AppRunner | None = None
        #: updates given up on after `handle_attempts` failures (see _handle_with_retries) or unreadable
        self.skipped = 0
        #: unreadable updates Telegram may still return (logged once each)
        self._unreadable: set[int] = set()
        #: callback queries answered by the core's turn (answer_press), so process() does not answer again
        self._answered: set[str] = set()
        #: groups named in WEGWIJZER_DESKS: their messages go to the safety desk
        self.desk_chats = frozenset(int(room) for _, room in settings.desk_rooms(PLATFORM)
                                    if room.lstrip("-").isascii() and room.lstrip("-").isdigit())
        core.register(self)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (getMe), publish the command menu, then poll or serve the webhook."""
        for name in ("telegram.Bot", "telegram.ext.ExtBot"):
            if _REDACT not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(_REDACT)
        self._stopping.clear()
        await self._call(self.bot.initialize)
        await self._publish_commands()
        if self.settings.telegram_webhook_url:
            await self._start_webhook(self.settings.telegram_webhook_url)
        else:
            await self._call(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
        log.info("telegram: running as @%s (%s)", self.bot.username, "webhook" if self._webhook else "polling")

    async def stop(self) -> None:
        """Finish the update in hand, stop fetching; a webhook stays registered so Telegram queues."""
        self._stopping.set()
        if self._polling_call is not None:
            self._polling_call.cancel()
        if self._poller is not None:
            # the poller lets its lanes finish their turns (up to max_delay) before it ends
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._poller, timeout=2 * self.retry.max_delay + 1)
            self._poller = None
        if self._webhook is not None:
            await self._webhook.cleanup()
            self._webhook = None
        await self.bot.shutdown()

    async def _publish_commands(self) -> None:
        """The menu in each language we have, and the default language's for everybody else."""
        scope = BotCommandScopeAllPrivateChats()
        menus = {
            lang: [
                BotCommand(command, self.core.flows.render(lang, f"telegram.commands.{meaning}", {}))
                for command, meaning in MENU[lang]
            ]
            for lang in MENU
            if lang in self.core.flows.locales.languages
        }
        fallback = menus.get(self.settings.default_lang) or next(iter(menus.values()), None)
        plan: list[tuple[str | None, list[BotCommand]]] = [*menus.items()]
        if fallback:
            plan.append((None, fallback))
        for lang, commands in plan:
            try:
                await self._call(partial(self.bot.set_my_commands, commands, scope=scope, language_code=lang))
            except (DeliveryFailed, TelegramError):
                log.warning("telegram: could not publish the command menu (%s)", lang or "default")

    # ------------------------------------------------------------ updates in

    async def _poll(self) -> None:
        """getUpdates -> core: one chat's updates in order, different chats side by side (bot/adapters/lanes.py).

        The offset asked for never passes an update still in hand, so Telegram
        keeps returning those; they are recognised and skipped, and while nothing
        new came the loop waits for a lane to finish one instead of asking again.
        """
        stored = await self.core.store.cursor(OFFSET_CURSOR)
        offset = int(stored) if stored else None
        lanes = self._lanes = Lanes(self._handle_with_retries, _lane_of, self._admit, self._tell_flooded)
        failures = 0
        try:
            while not self._stopping.is_set():
                offset = lanes.safe_offset(offset)
                self._polling_call = asyncio.create_task(
                    self.bot.get_updates(
                        offset=offset, timeout=int(self.poll_timeout), allowed_updates=list(ALLOWED_UPDATES)
                    )
                )
                unreadable: list[int] = []
                try:
                    updates = await self._polling_call
                    failures = 0
                except asyncio.CancelledError:
                    if self._stopping.is_set():
                        return
                    raise
                except InvalidToken:
                    log.error("telegram: the token was refused; polling stops")
                    return
                except TelegramError as exc:  # Conflict (a second instance), network, 5xx, 429 ...: keep polling
                    failures += 1
                    log.warning("telegram: getUpdates failed (%s); retrying", type(exc).__name__)
                    await self._pause(min(self.retry.initial_delay * 2**failures, self.retry.max_delay))
                    continue
                except Exception:  # PTB could not read one of the updates: read them one by one
                    updates, unreadable = await self._readable_updates(offset)
                finally:
                    self._polling_call = None
                refused = lanes.refused
                new = lanes.add(updates)
                if updates:
                    log.debug("telegram: %d update(s), %d new, %d refused on arrival; offset %s",
                              len(updates), new, lanes.refused - refused, offset)
                if unreadable:
                    await self._skip_unreadable(unreadable, lanes, offset)
                elif lanes.refused != refused:
                    await self._store_offset_when_idle(lanes, offset)
                elif not new and lanes.busy:
                    await lanes.wait_for_progress(LANE_WAIT_S)
        finally:
            await lanes.close(timeout=self.retry.max_delay)

    async def _readable_updates(self, offset: int | None) -> tuple[tuple[Update, ...], list[int]]:
        """The batch PTB failed to parse, parsed update by update: (readable ones, numbers of the others).

        Asking again would return the same unreadable update first, forever, and hold up every
        update behind it.
        """
        try:
            with warnings.catch_warnings():  # "use Bot.get_updates": that is what failed
                warnings.simplefilter("ignore")
                raw = await self.bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": list(ALLOWED_UPDATES)})
        except TelegramError as exc:
            log.warning("telegram: getUpdates failed (%s); retrying", type(exc).__name__)
            await self._pause(self.retry.initial_delay)
            return (), []
        readable: list[Update] = []
        unreadable: list[int] = []
        for item in raw if isinstance(raw, list) else []:
            update = read_raw_update(item, self.bot)
            if update is not None:
                readable.append(update)
                continue
            number = item.get("update_id") if isinstance(item, dict) else None
            if isinstance(number, int):
                unreadable.append(number)
        return tuple(readable), unreadable

    async def _skip_unreadable(self, numbers: list[int], lanes: Lanes[Update], offset: int | None) -> None:
        """Count unreadable updates as done, so the offset moves past them; log their numbers only.

        Their content may be what someone typed. The offset is stored at once when nothing
        else is in hand, so a restart does not read them again.
        """
        for number in numbers:
            if number not in self._unreadable:  # Telegram returns it until the offset passes it
                log.error("telegram: update %s could not be read (malformed); skipped", number)
                self.skipped += 1
                self._unreadable.add(number)
            lanes.skip(number)
        floor = lanes.safe_offset(offset) or 0
        self._unreadable = {n for n in self._unreadable if n >= floor}
        await self._store_offset_when_idle(lanes, offset)

    async def _store_offset_when_idle(self, lanes: Lanes[Update], offset: int | None) -> None:
        """Store the offset past updates skipped or refused, so a restart does not fetch them again.

        Only while no update is in hand: then each turn stores its own (see Lanes.cursor_for).
        """
        if not lanes.busy:
            await self.core.store.set_cursor(OFFSET_CURSOR, str(lanes.safe_offset(offset)))

    def _admit(self, update: Update, waiting: int) -> Admission:
        """The flood limit and the cap on a chat's waiting updates, applied on arrival (see bot/adapters/lanes.py).

        Checked here rather than when the update's turn comes, so a refused update never
        waits in line and Telegram's offset moves past it at once.
        """
        flood, user = self.core.flood, update.effective_user
        if flood is None or user is None:
            return TAKE
        who = who_of(str(ConversationKey(PLATFORM, str(user.id), str(user.id))))
        verdict = flood.check(who)
        if verdict is not Verdict.PASS:
            # over the limit: a flood; what still waits in their chat goes too, so it holds up nobody
            return Admission(take=False, tell=verdict is Verdict.NOTICE, flush=True)
        if waiting >= WAITING_PER_CHAT:  # what waits stays: a person typing fast while the bot is slow
            return Admission(take=False, tell=flood.refuse(who) is Verdict.NOTICE)
        return TAKE

    async def _tell_flooded(self, update: Update) -> None:
        """The refused update that carries the notice: claimed in the store, the person told once."""
        cursor = (OFFSET_CURSOR, str(self._cursor_for(update)))
        try:
            found = read_update(update, self.bot.id, self.bot.username, self.desk_chats)
            if isinstance(found, Incoming):
                await self.core.claim_flooded(replace(found, cursor=cursor), tell=True)
            else:
                await self.core.store.set_cursor(*cursor)
        finally:
            if update.callback_query is not None:
                await self._answer(update.callback_query)

    async def _handle_with_retries(self, update: Update) -> bool:
        """Hand one update to the core; on failure retry a few times, then skip it loudly.

        Skipping loses one update but keeps the bot alive for everybody else: an
        update that always fails (a "poison pill") would otherwise be fetched
        again forever and hold up every update behind it. Logged without what the
        user typed: the exception's message may quote it, so only its type and
        the code path are written.
        """
        for attempt in range(1, self.handle_attempts + 1):
            try:
                await self.process(update, cursor=(OFFSET_CURSOR, str(self._cursor_for(update))), admitted=True)
                return True
            except Exception as exc:
                log.warning("telegram: handling update %s failed (attempt %d of %d): %s",
                            update.update_id, attempt, self.handle_attempts, _failure(exc))
                if self._stopping.is_set():
                    return False
                if attempt < self.handle_attempts:
                    await self._pause(min(self.retry.initial_delay * 2**attempt, self.retry.max_delay))
        log.error("telegram: update %s (%s) skipped after %d failed attempts; the bot goes on with the next",
                  update.update_id, _kind(update), self.handle_attempts)
        await self.core.store.set_cursor(OFFSET_CURSOR, str(self._cursor_for(update)))
        self.skipped += 1
        await self._apologise(update)
        return True

    async def _apologise(self, update: Update) -> None:
        """Tell the user of a skipped update, in a private chat, to send it again: silence would look like a hang."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        lang = self.core.flows.locales.pick(user.language_code if user else None, self.settings.default_lang)
        text = self.core.flows.render(lang, "telegram.update_skipped", {})
        try:
            await self._send_text(chat.id, text, None)
        except (DeliveryFailed, TelegramError) as exc:
            log.info("telegram: apology for a skipped update not delivered (%s)", type(exc).__name__)

    def _cursor_for(self, update: Update) -> int:
        return self._lanes.cursor_for(update.update_id) if self._lanes else update.update_id + 1

    async def process(self, update: Update, cursor: tuple[str, str] | None = None, admitted: bool = False) -> None:
        """Handle one update: give the core its event (its button answered), or invite from a group.

        `admitted`: the flood limit was applied on arrival (polling), so the core does not count it again.
        """
        query = update.callback_query
        try:
            found = read_update(update, self.bot.id, self.bot.username, self.desk_chats)
            if isinstance(found, Incoming):
                chat_id = int(found.key.chat)
                async with typing_while_slow(self.typing_after,
                                             lambda: self.bot.send_chat_action(chat_id, ChatAction.TYPING)):
                    await self.core.handle(replace(found, cursor=cursor, flood_checked=admitted))
                return
            if isinstance(found, GroupCall):
                await self._invite(found)
            if cursor is not None:
                await self.core.store.set_cursor(*cursor)
        finally:
            # a press the core's turn did not answer (a redelivery, a flood, a failure): stop its spinner
            if query is not None and query.id not in self._answered:
                await self._answer(query)
            if query is not None:
                self._answered.discard(query.id)

    def quiet_stale(self, incoming: Incoming) -> bool:
        """A press of an old button is answered on the button (AnswersPresses), when we have the words for it."""
        ref = incoming.reply_to
        return isinstance(ref, MessageRef) and bool(ref.query_id) and self.core.flows.locales.has(
            self.settings.default_lang, "telegram.stale_button")

    async def answer_press(self, incoming: Incoming, stale_lang: str | None) -> None:
        """Stop the button's spinner as soon as the turn is stored; for an old button, say so on it."""
        ref = incoming.reply_to
        if not isinstance(ref, MessageRef) or not ref.query_id:
            return
        self._answered.add(ref.query_id)
        text = None
        if stale_lang is not None:
            text = self.core.flows.render(stale_lang, "telegram.stale_button", {})[:PRESS_ANSWER_LIMIT]
        await self._answer_query(ref.query_id, text)

    async def _answer(self, query: CallbackQuery) -> None:
        await self._answer_query(query.id, None)

    async def _answer_query(self, query_id: str, text: str | None) -> None:
        """A redelivered query is too old to answer, which is fine: the spinner stopped by itself."""
        try:
            await self._call(lambda: self.bot.answer_callback_query(query_id, text=text))
        except (DeliveryFailed, TelegramError) as exc:
            log.info("telegram: callback query not answered (%s)", type(exc).__name__)

    async def _invite(self, call: GroupCall) -> None:
        """In a group, say only where to talk: a private chat with the bot."""
        lang = self.core.flows.locales.pick(call.lang_hint, self.settings.default_lang)
        link = f"https://t.me/{self.bot.username}"
        text = self.core.flows.render(lang, "telegram.group_invite", {})
        label = self.core.flows.render(lang, "telegram.group_invite_button", {})
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link)]])
        reply = ReplyParameters(call.message_id, allow_sending_without_reply=True)
        try:
            await self._send_text(call.chat_id, text, markup, reply)
        except (DeliveryFailed, TelegramError) as exc:
            log.warning("telegram: group invitation not delivered (%s)", type(exc).__name__)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # ------------------------------------------------------------ webhook

    async def _start_webhook(self, url: str) -> None:
        """Serve POSTs from Telegram; 200 only once the core has the update, 403 without the secret."""
        from aiohttp import web  # only webhook deployments need the server

        configured = self.settings.telegram_webhook_secret
        secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
            try:
                data = json.loads(await request.read())
            except ValueError:
                data = None
            update = read_raw_update(data, self.bot)
            if update is None:
                # 200, not 4xx: Telegram sends again whatever is not answered with a 2xx, and this
                # body will never become readable. Its number only: the rest may be what someone typed.
                number = data.get("update_id") if isinstance(data, dict) else None
                log.error("telegram: webhook update %s could not be read (malformed); skipped",
                          number if isinstance(number, int) else "without a number")
                self.skipped += 1
                return web.Response(status=200)
            try:
                await self.process(update)
            except Exception as exc:
                log.error("telegram: handling webhook update %s failed: %s", update.update_id, _failure(exc))
                return web.Response(status=500)  # Telegram will send it again
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post(urlsplit(url).path or "/", receive)
        self._webhook = web.AppRunner(app, access_log=None)
        await self._webhook.setup()
        site = web.TCPSite(self._webhook, self.settings.telegram_webhook_listen, self.settings.telegram_webhook_port)
        await site.start()
        await self._call(lambda: self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)))

    # ------------------------------------------------------------ Outlet

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
            markup = keyboard(action.choices, action.token)
            document = action.document if isinstance(action, Send) else None
            own: list[tuple[Callable[[], Awaitable[object]], Send]] = []
            pieces = split_with_rest(action.text) if document is None or action.text.strip() else []
            for i, (chunk, rest) in enumerate(pieces):
                call: Callable[[], Awaitable[object]]
                last = i == len(pieces) - 1 and document is None
                chunk_markup = markup if last else None
                if i == 0 and isinstance(action, Edit) and target is not None:
                    call = partial(self._edit_chunk, chat_id, target.message_id, chunk, chunk_markup)
                    target = None  # one message answered, one message replaced
                else:
                    call = partial(self._post_reply, "sendMessage", chat_id, chunk, chunk_markup)
                own.append((call, Send(rest, action.choices, action.token, document)))
            if document is not None:
                own.append((partial(self._send_document, chat_id, document, markup),
                            Send("", action.choices, action.token, document)))
            parts.extend(_Part(index, call, rest, i == 0) for i, (call, rest) in enumerate(own))
        return parts

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post to a desk group; the id of the first message posted identifies it."""
        chat_id = int(room)
        try:
            first = await self._send_text(chat_id, text, None)
            if document is not None:
                message = await self._send_document(chat_id, document, None)
                first = first or message
        except BadRequest as exc:
            raise DeliveryFailed(f"telegram: {exc.message}") from exc
        return str(first.message_id) if first else ""

    async def _send_text(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None, reply: ReplyParameters | None = None
    ) -> Message | None:
        return await self._send_chunks(chat_id, split_text(text), markup, reply)

    async def _send_chunks(
        self,
        chat_id: int,
        chunks: Sequence[str],
        markup: InlineKeyboardMarkup | None,
        reply: ReplyParameters | None = None,
    ) -> Message | None:
        """Plain text, escaped as a whole; the keyboard goes on the last part."""
        first: Message | None = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            sent = await self._call(
                partial(
                    self.bot.send_message,
                    chat_id,
                    html.escape(chunk, quote=False),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_markup=markup if last else None,
                    reply_parameters=reply if i == 0 else None,
                )
            )
            first = first or sent
        return first

    async def _edit_chunk(self, chat_id: int, message_id: int, chunk: str, markup: InlineKeyboardMarkup | None) -> None:
        """Replace the answered question; a message that cannot be edited gets a new one instead."""
        try:
            await self._post_reply("editMessageText", chat_id, chunk, markup, message_id)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.info("telegram: edit refused (%s); sending instead", exc.message)
                await self._send_chunks(chat_id, [chunk], markup)

    async def _post_reply(self, method: str, chat_id: int, chunk: str, markup: InlineKeyboardMarkup | None,
                          message_id: int | None = None) -> None:
        """Send or edit one chunk of a reply without parsing Telegram's answer into a Message.

        Nobody reads that Message, and PTB's parsing of it cost more than the rest of the call
        (~160 of ~260 µs per reply, bench/README.md). The request is serialised, rate limited
        and checked for errors exactly as `send_message`/`edit_message_text` do it.
        """
        kwargs: dict[str, Any] = {"chat_id": chat_id, "text": html.escape(chunk, quote=False),
                                  "parse_mode": ParseMode.HTML, "link_preview_options": NO_PREVIEW}
        if message_id is not None:
            kwargs["message_id"] = message_id
        if markup is not None:
            kwargs["reply_markup"] = markup
        await self._call(lambda: self.bot.do_api_request(method, api_kwargs=kwargs))

    async def _send_document(
        self, chat_id: int, document: Document, markup: InlineKeyboardMarkup | None
    ) -> Message | None:
        """A letter as a file; if Telegram refuses the upload, the same letter as text."""
        content = file_bytes(document)
        caption = document.title[:CAPTION_LIMIT]
        if 0 < len(content) <= UPLOAD_LIMIT:
            try:
                return await self._call(
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
        return await self._send_text(chat_id, f"{document.title}\n\n{document.content}", markup)

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call with retries; BadRequest goes to the caller, the rest ends in DeliveryFailed.

        Almost every call succeeds at once, so the first try is made directly; only a
        transient failure sets up tenacity (about a tenth of a reply's CPU time otherwise).
        """
        try:
            return await fn()
        except BadRequest:
            raise
        except TelegramError as exc:
            if not _transient(exc) or self.retry.attempts <= 1:
                raise DeliveryFailed(f"telegram: {type(exc).__name__}") from exc
            first_failure = exc

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RetryAfter):
                return _retry_after_seconds(exc) + 0.1
            return backoff(state)

        # the direct try was attempt 1: the waits go on as if tenacity had made it (0.5, 1, 2, 4 s + jitter)
        backoff = wait_exponential_jitter(multiplier=self.retry.initial_delay * 2, max=self.retry.max_delay)
        if isinstance(first_failure, RetryAfter):
            await asyncio.sleep(_retry_after_seconds(first_failure) + 0.1)
        else:
            await asyncio.sleep(min(self.retry.initial_delay + random.uniform(0, 1), self.retry.max_delay))
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_transient),
                stop=stop_after_attempt(self.retry.attempts - 1),
                wait=wait,
                reraise=True,
            ):
                with attempt:
                    return await fn()
        except BadRequest:
            raise
        except TelegramError as exc:
            raise DeliveryFailed(f"telegram: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")  # pragma: no cover
