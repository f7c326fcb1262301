"""A Telegram Bot API server for tests: the real python-telegram-bot talks to it over HTTP.

Why a server and not a mocked `Bot`: what the adapter gets right or wrong is
on the wire (HTML escaping, callback_data limits, offsets, 409, 429), so this
fake checks what Telegram checks and answers with Telegram's JSON shapes,
HTTP statuses and error strings. Tests play the users (inject updates) and
read what each user's screen shows.

It never opens a connection except to 127.0.0.1 / localhost webhooks.
Deliberate differences from Telegram: a webhook may be plain http on any
port (Telegram wants https on 443/80/88/8443), a non-loopback webhook is
stored but never called, dates are wall-clock seconds, and bare "<" in HTML
is rejected exactly as tdlib does but entity parsing is otherwise simplified.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

#: Format-valid and never used anywhere real (the benchmark's token).
TOKEN = "123456789:AAHfakefakefakefakefakefakefakefak"
BOT_USERNAME = "wegwijzer_test_bot"

JSON = dict[str, Any]

# Parameters Telegram takes as raw strings: everything else arrives JSON-encoded.
_STRING_FIELDS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "inline_message_id",
        "ip_address",
        "action",
        "emoji",
        "file_id",
        "business_connection_id",
        "message_effect_id",
    ]
)
_DEFAULT_UPDATE_TYPES_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_UPLOAD = 50 * 1024 * 1024

# Telegram's HTML tags and the entity type each one makes.
_HTML_TAGS = dict(
    pair.split("=")
    for pair in [
        "b=bold",
        "strong=bold",
        "i=italic",
        "em=italic",
        "u=underline",
        "ins=underline",
        "s=strikethrough",
        "strike=strikethrough",
        "del=strikethrough",
        "span=spoiler",
        "tg-spoiler=spoiler",
        "a=text_link",
        "code=code",
        "pre=pre",
        "blockquote=blockquote",
        "tg-emoji=custom_emoji",
    ]
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HREF_RE = re.compile(r"""href\s*=\s*["']([^"']*)["']""")

_MEDIA: dict[str, JSON] = {
    "photo": {
        "photo": [
            {"file_id": "AgAD-s", "file_unique_id": "s1", "width": 90, "height": 67},
            {"file_id": "AgAD-m", "file_unique_id": "m1", "width": 1280, "height": 960},
        ]
    },
    "sticker": {
        "sticker": {
            "file_id": "CAAC-1",
            "file_unique_id": "st1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "\U0001f44d",
        }
    },
    "voice": {
        "voice": {
            "file_id": "AwAC-1",
            "file_unique_id": "v1",
            "duration": 4,
            "mime_type": "audio/ogg",
            "file_size": 8123,
        }
    },
    "location": {"location": {"latitude": 52.3676, "longitude": 4.9041}},
    "document": {
        "document": {
            "file_id": "BQAC-1",
            "file_unique_id": "d1",
            "file_name": "brief.pdf",
            "mime_type": "application/pdf",
            "file_size": 20480,
        }
    },
    "video": {"video": {"file_id": "BAAC-1", "file_unique_id": "vi1", "width": 640, "height": 360, "duration": 5}},
    "contact": {"contact": {"phone_number": "+31600000000", "first_name": "Iemand"}},
}


class ApiError(Exception):
    """A refusal exactly as Telegram words it; becomes the HTTP error answer."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True, slots=True)
class SentFile:
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing the bot put on a chat's screen: a new message or an edit of one.

    `text` is what the user reads (HTML rendered; the caption for a document);
    `raw_text` is what the bot sent.
    """

    method: str
    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    document: SentFile | None = None
    #: the link_preview_options the bot sent with it (None: none sent, so Telegram shows a preview)
    link_preview: JSON | None = None

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    @property
    def data(self) -> list[str]:
        return [data for row in self.buttons for _, data in row]


@dataclass(frozen=True, slots=True)
class Request:
    """One Bot API request as it arrived: for tests of send limits (times are monotonic)."""

    method: str
    chat_id: int | str | None
    at: float


@dataclass(slots=True)
class _Fault:
    status: int | None
    description: str
    retry_after: int | None = None
    hang: float = 0.0
    after_processing: bool = False


def utf16_len(text: str) -> int:
    """Telegram measures offsets and limits in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def render_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: the text the user sees plus its entities.

    Raises ApiError with tdlib's wording where Telegram would refuse, which is
    how a missing escape in the adapter turns into a failing test.
    """
    out: list[str] = []
    entities: list[JSON] = []
    stack: list[tuple[str, int, str]] = []
    pos = 0  # in UTF-16 units
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            match = _TAG_RE.match(source, i)
            at = len(source[:i].encode())
            if match is None:
                raise _parse_error(f"Unclosed start tag at byte offset {at}")
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if not closing:
                if name not in _HTML_TAGS:
                    raise _parse_error(f'Unsupported start tag "{name}" at byte offset {at}')
                stack.append((name, pos, attrs))
            else:
                if not stack:
                    raise _parse_error(f"Unexpected end tag at byte offset {at}")
                opened, start, opened_attrs = stack.pop()
                if opened != name:
                    raise _parse_error(
                        f'Unmatched end tag at byte offset {at}, expected "</{opened}>", found "</{name}>"'
                    )
                if pos > start:
                    entity: JSON = {"type": _HTML_TAGS[name], "offset": start, "length": pos - start}
                    href = _HREF_RE.search(opened_attrs)
                    if name == "a" and href:
                        entity["url"] = render_html(href.group(1))[0]
                    entities.append(entity)
            i = match.end()
            continue
        if ch == "&" and (entity_match := _ENTITY_RE.match(source, i)):
            named, dec, hexa = entity_match.groups()
            ch = _NAMED[named] if named else chr(int(dec, 10) if dec else int(hexa, 16))
            i = entity_match.end()
        else:
            i += 1
        out.append(ch)
        pos += utf16_len(ch)
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    text = "".join(out)
    lead = utf16_len(text) - utf16_len(text.lstrip())
    shown = text.strip()
    for entity in entities:
        entity["offset"] = max(0, entity["offset"] - lead)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return shown, entities


def _parse_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def button_rows(message: JSON) -> list[list[tuple[str, str]]]:
    """A message's inline keyboard as the user sees it: rows of (label, callback_data)."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [[(b["text"], b.get("callback_data", "")) for b in row] for row in keyboard]


class FakeTelegram:
    """One bot's view of Telegram, on 127.0.0.1 at a free port.

    Use as `async with FakeTelegram() as tg:`; point PTB at `tg.base_url`
    and `tg.base_file_url`. Play users with `new_user` / `send_text` /
    `send_command` / `press` / `send_media` / `edit_text`, read screens with
    `transcript` / `screen`, break things with `fail` / `throttle` / `hang`.
    """

    def __init__(
        self,
        token: str = TOKEN,
        *,
        username: str = BOT_USERNAME,
        first_name: str = "Wegwijzer",
        webhook_retry_delay: float = 0.2,
        webhook_connections: int = 1,
    ) -> None:
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
        }
        self.webhook_retry_delay = webhook_retry_delay
        #: Webhook requests open at once (Telegram's max_connections caps it, default 40); as Telegram is
        #: observed to do, never two of one chat at once (grammY's docs: it waits for the answer first).
        self.webhook_connections = webhook_connections
        #: Requests per method, failed ones included.
        self.calls: Counter[str] = Counter()
        #: (method, HTTP status) of every request, in order.
        self.log: list[tuple[str, int]] = []
        #: Every request with a known method, when it arrived (before any fault applies).
        self.requests: list[Request] = []
        #: How many times each update_id was handed to the bot (getUpdates or webhook).
        self.deliveries: Counter[int] = Counter()
        #: Highest offset the bot has confirmed through getUpdates.
        self.confirmed_offset = 0
        #: callback_query id -> the answer's parameters.
        self.callback_answers: dict[str, JSON] = {}
        #: (scope as JSON, language_code) -> commands, as setMyCommands stored them.
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        #: url, secret_token, ... while a webhook is set; empty otherwise.
        self.webhook: JSON = {}
        self.webhook_last_error: str | None = None
        self._pending: list[JSON] = []
        self._allowed: frozenset[str] | None = None
        self._next_update_id = 100000001
        self._next_user_id = 5000000000
        self._next_group_id = -1001000000000
        self._next_callback = 1
        self._next_file = 1
        self._chats: dict[int, JSON] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._next_message_id: dict[int, int] = {}
        self._transcripts: dict[int, list[Sent]] = {}
        self._callbacks: dict[str, int] = {}
        self._files: dict[str, SentFile] = {}
        #: (chat id, action) for every sendChatAction, in order ("typing…")
        self.chat_actions: list[tuple[int, str]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._blocked: set[int] = set()
        self._poller: asyncio.Future[bool] | None = None
        self._push_tasks: set[asyncio.Task[None]] = set()
        #: update ids and chats with a webhook request open
        self._pushing: set[int] = set()
        self._pushing_chats: set[int] = set()
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        methods: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
        }
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, fn) for name, fn in methods.items()}

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=_MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing.set()
        self._wake_poller(True)
        for task in self._push_tasks:
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What `ApplicationBuilder().base_url()` / WEGWIJZER_TELEGRAM_API_URL take."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------ playing users

    def new_user(
        self, first_name: str = "Ouder", *, language_code: str | None = "nl", username: str | None = None
    ) -> JSON:
        user: JSON = {"id": self._next_user_id, "is_bot": False, "first_name": first_name}
        self._next_user_id += 1
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def new_group(self, title: str = "Oudergroep", *, supergroup: bool = True) -> JSON:
        chat: JSON = {"id": self._next_group_id, "title": title, "type": "supergroup" if supergroup else "group"}
        self._next_group_id -= 1
        self._chats[chat["id"]] = chat
        return chat

    def new_channel(self, title: str = "Nieuwskanaal") -> JSON:
        chat: JSON = {"id": self._next_group_id, "title": title, "type": "channel"}
        self._next_group_id -= 1
        self._chats[chat["id"]] = chat
        return chat

    @staticmethod
    def private_chat(user: JSON) -> JSON:
        chat = {k: user[k] for k in ("id", "first_name", "last_name", "username") if k in user}
        return chat | {"type": "private"}

    def send_text(
        self,
        user: JSON,
        text: str,
        *,
        chat: JSON | None = None,
        entities: list[JSON] | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """The user types `text`; returns the Update the bot will receive."""
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._user_says(user, chat, content, reply_to=reply_to)

    def send_command(
        self, user: JSON, command: str, payload: str = "", *, chat: JSON | None = None, addressed: bool = False
    ) -> JSON:
        """`/command payload` (a deep link t.me/bot?start=payload arrives as `/start payload`)."""
        cmd = f"/{command}" + (f"@{self.bot_user['username']}" if addressed else "")
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(cmd)}
        text = f"{cmd} {payload}" if payload else cmd
        return self.send_text(user, text, chat=chat, entities=[entity])

    def channel_post_forwarded(self, channel: JSON, group: JSON, text: str) -> JSON:
        """A post in `channel` that Telegram copies into its linked discussion `group` by itself.

        It arrives as a group message from the service account 777000 ("Telegram", not a bot)
        on behalf of the channel: `sender_chat`, `is_automatic_forward`, `forward_origin`.
        """
        service = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split(" ", 1)[0])}]
        content: JSON = {
            "text": text, "sender_chat": channel, "is_automatic_forward": True,
            "forward_origin": {"type": "channel", "chat": channel, "message_id": 1, "date": _now()},
        }
        if entities:
            content["entities"] = entities
        return self._user_says(service, group, content)

    def mention(self, user: JSON, chat: JSON, text: str) -> JSON:
        """A group message that starts with @bot_username."""
        handle = f"@{self.bot_user['username']}"
        entity = {"type": "mention", "offset": 0, "length": utf16_len(handle)}
        return self.send_text(user, f"{handle} {text}", chat=chat, entities=[entity])

    def send_media(self, user: JSON, kind: str, *, chat: JSON | None = None, caption: str | None = None) -> JSON:
        """A photo, sticker, voice note, location, document, video or contact."""
        content = copy.deepcopy(_MEDIA[kind])
        if caption is not None:
            content["caption"] = caption
        return self._user_says(user, chat, content)

    def edit_text(self, user: JSON, message_id: int, text: str, *, chat: JSON | None = None) -> JSON:
        """The user edits one of their own earlier messages."""
        message = self.message(chat or self.private_chat(user), message_id)
        assert message["from"]["id"] == user["id"], "users can only edit their own messages"
        message["text"] = text
        message["edit_date"] = _now()
        return self._add_update("edited_message", copy.deepcopy(message))

    def press(
        self,
        user: JSON,
        message: int | JSON,
        data: str | None = None,
        *,
        label: str | None = None,
        chat: JSON | None = None,
    ) -> JSON:
        """The user presses a button, chosen by callback_data or by label.

        `message` is a message id (the message as it looks now) or a message
        dict the test kept from earlier: a client that has not yet shown an
        edit lets the user press a button that is no longer there.
        """
        if isinstance(message, int):
            seen = copy.deepcopy(self.message(chat or self.private_chat(user), message))
        else:
            seen = copy.deepcopy(message)
        buttons = [b for row in button_rows(seen) for b in row]
        chosen = [b for b in buttons if data in (None, b[1]) and label in (None, b[0])]
        if not chosen or (data is None and label is None):
            raise LookupError(f"no button {label or data!r} on message {seen['message_id']}: {buttons}")
        query_id = str(self._next_callback * 10**10 + user["id"] % 10**10)
        self._next_callback += 1
        self._callbacks[query_id] = seen["chat"]["id"]
        query = {
            "id": query_id,
            "from": user,
            "message": seen,
            "chat_instance": str(-(7 * 10**18) - abs(seen["chat"]["id"]) % 10**12),
            "data": chosen[0][1],
        }
        return self._add_update("callback_query", query)

    def send_malformed(self, kind: str, payload: Any) -> JSON:
        """An update whose `kind` part is `payload` as given: what Telegram should never send, and might."""
        return self._add_update(kind, payload)

    def resend(self, update: JSON) -> JSON:
        """Deliver an update again, as Telegram does when it never saw it confirmed."""
        self._pending.append(copy.deepcopy(update))
        self._pending.sort(key=lambda u: u["update_id"])
        self._wake_poller(True)
        self._kick_webhook()
        return update

    def withhold(self, update: JSON) -> None:
        """Take a new update back before it is sent: the test posts it to a webhook itself."""
        self._pending = [u for u in self._pending if u is not update]

    def block(self, user: JSON) -> None:
        """The user blocks the bot: sends to them answer 403 from now on."""
        self._blocked.add(user["id"])

    # ------------------------------------------------------------ reading screens

    def transcript(self, chat: int | JSON) -> list[Sent]:
        """Everything the bot sent or edited in this chat, in order."""
        return list(self._transcripts.get(_chat_id(chat), []))

    def screen(self, chat: int | JSON) -> list[JSON]:
        """The chat as its user sees it now: every message (theirs and the bot's), current content."""
        messages = self._messages.get(_chat_id(chat), {})
        return [copy.deepcopy(messages[mid]) for mid in sorted(messages)]

    def bot_messages(self, chat: int | JSON) -> list[JSON]:
        return [m for m in self.screen(chat) if m["from"]["id"] == self.bot_user["id"]]

    def message(self, chat: int | JSON, message_id: int) -> JSON:
        return self._messages[_chat_id(chat)][message_id]

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Callback queries the bot never answered (the user sees a spinning button)."""
        return [q for q in self._callbacks if q not in self.callback_answers]

    @property
    def pending_updates(self) -> list[int]:
        return [u["update_id"] for u in self._pending]

    def is_confirmed(self, update: JSON) -> bool:
        """The bot has acknowledged this update: Telegram will not send it again."""
        return self.deliveries[update["update_id"]] > 0 and update["update_id"] not in self.pending_updates

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; it is re-checked after every request."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            self._changed.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    async def wait_sent(self, chat: int | JSON, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until the bot has sent/edited at least `count` times in this chat."""
        await self.wait_until(lambda: len(self.transcript(chat)) >= count, timeout)
        return self.transcript(chat)

    async def wait_confirmed(self, update: JSON, timeout: float = 5.0) -> None:
        await self.wait_until(lambda: self.is_confirmed(update), timeout)

    # ------------------------------------------------------------ breaking things

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        after: int = 0,
    ) -> None:
        """The next `times` calls of `method` answer this error instead of working.

        `after`: that many calls first work as usual (refuse the 3rd part of a long text).
        """
        text = description or HTTPStatus(status).phrase
        if status == 400 and not text.startswith("Bad Request"):
            text = f"Bad Request: {text}"
        for _ in range(after):
            self._faults.setdefault(method.lower(), deque()).append(_Fault(None, ""))
        for _ in range(times):
            self._faults.setdefault(method.lower(), deque()).append(_Fault(status, text, retry_after=retry_after))

    def throttle(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        """The next `times` calls of `method` answer 429 with parameters.retry_after."""
        self.fail(
            method,
            times=times,
            status=429,
            retry_after=retry_after,
            description=f"Too Many Requests: retry after {retry_after}",
        )

    def hang(self, method: str, seconds: float, *, times: int = 1, after_processing: bool = False) -> None:
        """The next `times` calls of `method` stall for `seconds` (past a client timeout).

        By default the call never takes effect (the stalled answer is a 504
        nobody reads); `after_processing=True` stalls after it took effect, so
        the client times out on something Telegram did do (a retry duplicates it).
        """
        status = None if after_processing else 504
        for _ in range(times):
            self._faults.setdefault(method.lower(), deque()).append(
                _Fault(status, "Gateway Timeout", hang=seconds, after_processing=after_processing)
            )

    def heal(self) -> None:
        """Forget every fault not yet used up: Telegram works normally again."""
        self._faults.clear()

    # ------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._answer(method, _error(401, "Unauthorized"))
        entry = self._methods.get(method.lower())
        if entry is None:
            return self._answer(method, _error(404, "Not Found"))
        name, handler = entry
        self.calls[name] += 1
        faults = self._faults.get(name.lower())
        fault = faults.popleft() if faults else None
        try:
            params = await _read_params(request)
            self.requests.append(Request(name, params.get("chat_id"), time.monotonic()))
            if fault is not None and fault.hang and not fault.after_processing:
                await self._stall(fault.hang)
            if fault is not None and fault.status is not None:
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                raise ApiError(fault.status, fault.description, parameters)
            result = await handler(params)
            if fault is not None and fault.hang and fault.after_processing:
                await self._stall(fault.hang)
        except ApiError as exc:
            return self._answer(name, _error(exc.code, exc.description, exc.parameters))
        return self._answer(name, web.json_response({"ok": True, "result": result}))

    def _answer(self, method: str, response: web.Response) -> web.Response:
        self.log.append((method, response.status))
        self._touch()
        return response

    async def _stall(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ------------------------------------------------------------ updates

    def _add_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._pending.append(update)
        self._wake_poller(True)
        self._kick_webhook()
        self._touch()
        return update

    def _deliverable(self, limit: int) -> list[JSON]:
        def allowed(update: JSON) -> bool:
            kind = next(k for k in update if k != "update_id")
            if self._allowed is None:
                return kind not in _DEFAULT_UPDATE_TYPES_EXCLUDED
            return kind in self._allowed

        # Telegram drops updates of types the bot said it does not want.
        self._pending = [u for u in self._pending if allowed(u)]
        return self._pending[:limit]

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self.confirmed_offset = max(self.confirmed_offset, offset)
        self._touch()

    def _wake_poller(self, alive: bool) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.set_result(alive)

    async def _get_updates(self, p: JSON) -> list[JSON]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._wake_poller(False)  # a waiting older request is terminated with 409
        self._confirm(int(p.get("offset") or 0))
        if "allowed_updates" in p:
            self._allowed = frozenset(p["allowed_updates"]) or None
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        batch = self._deliverable(limit)
        while not batch and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            waiter: asyncio.Future[bool] = loop.create_future()
            self._poller = waiter
            done, _ = await asyncio.wait({waiter}, timeout=remaining)
            if self._poller is waiter:
                self._poller = None
            if done and not waiter.result():
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            batch = self._deliverable(limit)
        for update in batch:
            self.deliveries[update["update_id"]] += 1
        return batch

    # ------------------------------------------------------------ webhooks

    async def _set_webhook(self, p: JSON) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return await self._delete_webhook(p)
        if urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in p:
            self._allowed = frozenset(p["allowed_updates"]) or None
        self._wake_poller(False)
        self.webhook = {"url": url, "secret_token": secret, "max_connections": p.get("max_connections", 40)}
        self._kick_webhook()
        return True

    async def _delete_webhook(self, p: JSON) -> bool:
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {}
        return True

    def _kick_webhook(self) -> None:
        if not self.webhook.get("url"):
            return
        self._push_tasks = {task for task in self._push_tasks if not task.done()}
        while len(self._push_tasks) < self.webhook_connections:
            self._push_tasks.add(asyncio.get_running_loop().create_task(self._push_updates()))

    def _next_push(self) -> JSON | None:
        """The oldest pending update not in flight whose chat has none in flight."""
        for update in self._deliverable(len(self._pending)):
            chat = _chat_of(update)
            if update["update_id"] not in self._pushing and (chat is None or chat not in self._pushing_chats):
                return update
        return None

    async def _push_updates(self) -> None:
        """Deliver pending updates, one request at a time per connection; anything but a 2xx is retried
        later, as Telegram does."""
        url = self.webhook["url"]
        if urlsplit(url).hostname not in _LOOPBACK:
            return
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while self.webhook.get("url") == url and not self._closing.is_set():
                update = self._next_push()
                if update is None:
                    return
                chat = _chat_of(update)
                self._pushing.add(update["update_id"])
                if chat is not None:
                    self._pushing_chats.add(chat)
                self.deliveries[update["update_id"]] += 1
                try:
                    try:
                        async with session.post(url, json=update, headers=headers) as response:
                            ok = 200 <= response.status < 300
                            reason = f"{response.status} {response.reason}"
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        ok, reason = False, type(exc).__name__
                    self._touch()
                    if ok:
                        self._pending = [u for u in self._pending if u is not update]
                        self.webhook_last_error = None
                    else:  # the chat waits with it: its next update does not overtake it
                        self.webhook_last_error = f"Wrong response from the webhook: {reason}"
                        await self._stall(self.webhook_retry_delay)
                finally:
                    self._pushing.discard(update["update_id"])
                    self._pushing_chats.discard(chat)  # type: ignore[arg-type]
                self._kick_webhook()  # a chat's next update may go now

    # ------------------------------------------------------------ Bot API methods

    async def _get_me(self, p: JSON) -> JSON:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _send_message(self, p: JSON) -> JSON:
        chat_id = self._writable_chat(p)
        text, entities = self._render(p, "text", "parse_mode", _MAX_TEXT, "message is too long")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        content = _content(text, entities, _inline_keyboard(p.get("reply_markup")))
        message = self._bot_message(chat_id, content, p)
        self._record("sendMessage", message, p, "text")
        return message

    async def _edit_message_text(self, p: JSON) -> JSON:
        message = self._editable(p)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text, entities = self._render(p, "text", "parse_mode", _MAX_TEXT, "MESSAGE_TOO_LONG")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        content = _content(text, entities, _inline_keyboard(p.get("reply_markup")))
        return self._apply_edit("editMessageText", message, content, p)

    async def _send_chat_action(self, p: JSON) -> bool:
        chat_id = self._writable_chat(p)
        action = str(p.get("action") or "")
        if action not in {"typing", "upload_document", "upload_photo", "record_voice", "choose_sticker"}:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, action))
        return True

    async def _answer_callback_query(self, p: JSON) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self._callbacks or query_id in self.callback_answers:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {k: v for k, v in p.items() if k != "callback_query_id"}
        return True

    async def _send_document(self, p: JSON) -> JSON:
        chat_id = self._writable_chat(p)
        document = p.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = p.get(document.removeprefix("attach://"))
        if isinstance(document, str):
            if document not in self._files:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            file_id, file = document, self._files[document]
        elif isinstance(document, SentFile):
            if not document.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(document.content) > _MAX_UPLOAD:
                raise ApiError(413, "Request Entity Too Large")
            file_id, file = f"BQACfile{self._next_file}", document
            self._next_file += 1
            self._files[file_id] = file
        else:
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption, entities = self._render(p, "caption", "parse_mode", _MAX_CAPTION, "message caption is too long")
        content: JSON = {
            "document": {
                "file_name": file.filename,
                "mime_type": file.mime_type,
                "file_id": file_id,
                "file_unique_id": file_id.lower(),
                "file_size": len(file.content),
            }
        }
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        content |= _content(None, [], _inline_keyboard(p.get("reply_markup")))
        message = self._bot_message(chat_id, content, p)
        self._record("sendDocument", message, p, "caption", file)
        return message

    async def _set_my_commands(self, p: JSON) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self.commands[_commands_key(p)] = commands
        return True

    async def _get_my_commands(self, p: JSON) -> list[JSON]:
        return self.commands.get(_commands_key(p), [])

    async def _delete_my_commands(self, p: JSON) -> bool:
        self.commands.pop(_commands_key(p), None)
        return True

    # ------------------------------------------------------------ helpers

    def _user_says(self, user: JSON, chat: JSON | None, content: JSON, *, reply_to: int | None = None) -> JSON:
        chat = chat or self.private_chat(user)
        chat_id = chat["id"]
        self._chats[chat_id] = chat
        message: JSON = {"message_id": self._new_message_id(chat_id), "from": user, "chat": chat, "date": _now()}
        message |= content
        if reply_to is not None:
            replied = copy.deepcopy(self.message(chat_id, reply_to))
            replied.pop("reply_to_message", None)  # Telegram nests one level only
            message["reply_to_message"] = replied
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return self._add_update("message", copy.deepcopy(message))

    def _new_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by the user's and the bot's messages."""
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _known_chat(self, p: JSON) -> int:
        raw = p.get("chat_id")
        if raw in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _writable_chat(self, p: JSON) -> int:
        chat_id = self._known_chat(p)
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _editable(self, p: JSON) -> JSON:
        if p.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._known_chat(p)
        message = self._messages.get(chat_id, {}).get(int(p.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _render(self, p: JSON, field: str, mode_field: str, limit: int, too_long: str) -> tuple[str, list[JSON]]:
        raw = str(p.get(field) or "")
        mode = str(p.get(mode_field) or "")
        if mode.lower() == "html":
            text, entities = render_html(raw)
        elif mode:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode!r} in this fake")
        else:
            text, entities = raw.strip(), list(p.get("entities") or [])
        if utf16_len(text) > limit:
            raise ApiError(400, f"Bad Request: {too_long}")
        return text, entities

    def _bot_message(self, chat_id: int, content: JSON, p: JSON) -> JSON:
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chats[chat_id],
            "date": _now(),
        }
        reply = p.get("reply_parameters") or {}
        replied = (
            self._messages[chat_id].get(int(reply.get("message_id") or p.get("reply_to_message_id") or 0))
            if chat_id in self._messages
            else None
        )
        if replied is not None:
            message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        message |= content
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _apply_edit(self, method: str, message: JSON, content: JSON, p: JSON) -> JSON:
        current = {k: message[k] for k in ("text", "entities", "caption", "document", "reply_markup") if k in message}
        if current == content:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        for key in ("text", "entities", "reply_markup"):
            message.pop(key, None)
        message |= content
        message["edit_date"] = _now()
        self._record(method, message, p, "text")
        return copy.deepcopy(message)

    def _record(self, method: str, message: JSON, p: JSON, field: str, file: SentFile | None = None) -> None:
        chat_id = message["chat"]["id"]
        rows = tuple(tuple(row) for row in button_rows(message))
        shown = message.get("text") if "text" in message else message.get("caption", "")
        self._transcripts.setdefault(chat_id, []).append(
            Sent(
                method,
                chat_id,
                message["message_id"],
                str(shown or ""),
                str(p.get(field) or ""),
                p.get("parse_mode"),
                rows,
                file,
                p.get("link_preview_options"),
            )
        )

    def _touch(self) -> None:
        self._changed.set()


def _content(text: str | None, entities: list[JSON], keyboard: JSON | None) -> JSON:
    content: JSON = {}
    if text is not None:
        content["text"] = text
    if entities:
        content["entities"] = entities
    if keyboard is not None:
        content["reply_markup"] = keyboard
    return content


def _inline_keyboard(markup: Any) -> JSON | None:
    """Check an inline keyboard as Telegram does; an empty one counts as none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards and ForceReply do not show on the message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for button in row:
            if not str(button.get("text", "")).strip():
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and not (
                {
                    "url",
                    "login_url",
                    "switch_inline_query",
                    "web_app",
                    "pay",
                    "copy_text",
                    "callback_game",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                }
                & set(button)
            ):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def _commands_key(p: JSON) -> tuple[str, str]:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")


async def _read_params(request: web.Request) -> JSON:
    """Decode a Bot API request the way Telegram does: query, form, multipart or JSON."""
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.read()
        decoded = json.loads(body) if body else {}
        return {k: _decode(k, v) for k, v in raw.items()} | decoded
    form = await request.post()
    params: JSON = {}
    for key, value in list(raw.items()) + list(form.items()):
        if isinstance(value, web.FileField):
            params[key] = SentFile(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _decode(key, value if isinstance(value, str) else bytes(value).decode())
    return params


def _decode(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error(code: int, description: str, parameters: JSON | None = None) -> web.Response:
    body: JSON = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


def _chat_id(chat: int | JSON) -> int:
    return chat if isinstance(chat, int) else int(chat["id"])


def _chat_of(update: JSON) -> int | None:
    """The chat an update belongs to (a message's, or a pressed button's message's)."""
    body = next((v for k, v in update.items() if k != "update_id"), None)
    if not isinstance(body, dict):
        return None
    message = body.get("message") if "data" in body or "chat_instance" in body else body
    chat = message.get("chat") if isinstance(message, dict) else None
    return chat.get("id") if isinstance(chat, dict) else None


def _now() -> int:
    return int(time.time())
