"""Telegram, on python-telegram-bot 22 used as transport only: the adapter that ties the parts together.

What it does: connect, publish the command menu, take updates (polling.py or
webhook.py), read them (updates.py), hand them to the core, answer button
presses, and send the core's messages (outlet.py) within Telegram's limits
(limits.py). What it must never do: decide anything about a conversation, keep
conversation state (no ConversationHandler, no PTB persistence), put a personal
answer in a group, or log what a user typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.adapters.base import TYPING_AFTER_S, DeliveryFailed, typing_while_slow
from bot.adapters.telegram.limits import CountedRequest, RetryPolicy, SendLimiter, SendLimits
from bot.adapters.telegram.outlet import TelegramOutlet
from bot.adapters.telegram.polling import Poller, apologise
from bot.adapters.telegram.updates import (
    ALLOWED_UPDATES,
    PLATFORM,
    REDACT,
    GroupCall,
    MessageRef,
    read_raw_update,
    read_update,
)
from bot.events import ConversationKey, Document, Edit, Incoming, Send

if TYPE_CHECKING:
    from aiohttp import web

    from bot.core import Core
    from bot.inbox import Inbox
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: Telegram shows at most 200 characters in a callback query's answer.
PRESS_ANSWER_LIMIT = 200

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
        self._requests = (
            CountedRequest(
                connection_pool_size=16,
                connect_timeout=request_timeout,
                read_timeout=request_timeout,
                write_timeout=request_timeout,
                media_write_timeout=max(request_timeout, 20.0),
            ),
            CountedRequest(connect_timeout=request_timeout, read_timeout=request_timeout),
        )
        self.bot: ExtBot[Any] = ExtBot(
            settings.telegram_token.get_secret_value(),
            base_url=api_url,
            base_file_url=file_url,
            request=self._requests[0],
            get_updates_request=self._requests[1],
            rate_limiter=SendLimiter(send_limits or SendLimits()) if settings.telegram_rate_limit else None,
        )
        self.outlet = TelegramOutlet(self.bot, self.retry)
        self._poller: Poller | None = None
        self._polling: asyncio.Task[None] | None = None
        self._webhook: web.AppRunner | None = None
        #: webhook mode: updates stored on arrival, handled chat by chat by whichever worker (bot/inbox.py)
        self._inbox: Inbox | None = None
        self._sweeping: asyncio.Task[None] | None = None
        #: updates given up on after `handle_attempts` failures (see Poller._handle_with_retries) or unreadable
        self.skipped = 0
        #: callback queries answered by the core's turn (answer_press), so process() does not answer again
        self._answered: set[str] = set()
        #: groups named in WEGWIJZER_DESKS: their messages go to the safety desk
        self.desk_chats = frozenset(int(room) for _, room in settings.desk_rooms(PLATFORM)
                                    if room.lstrip("-").isascii() and room.lstrip("-").isdigit())
        core.register(self)

    # ------------------------------------------------------------ what /readyz and /metrics read (bot/health.py)

    @property
    def throttled(self) -> int:
        """429s Telegram answered."""
        return sum(request.throttled for request in self._requests)

    def readiness(self) -> str | None:
        """None once getMe went through and updates come in (the poller runs, or the webhook server)."""
        if self._webhook is not None or (self._polling is not None and not self._polling.done()):
            return None
        return "polling stopped" if self._polling is not None else "not connected"

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (getMe), publish the command menu, then poll or serve the webhook."""
        for name in ("telegram.Bot", "telegram.ext.ExtBot"):
            if REDACT not in logging.getLogger(name).filters:
                logging.getLogger(name).addFilter(REDACT)
        await self.outlet.call(self.bot.initialize)
        await self._publish_commands()
        if self.settings.telegram_webhook_url:
            await self._start_webhook(self.settings.telegram_webhook_url)
        else:
            await self.outlet.call(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            # polled by one process of a cluster at a time (bot/lease.py)
            self._polling = asyncio.create_task(self.core.leases.run_while_held(PLATFORM, self._poll, self._stop_polling),
                                                name="telegram-polling")
        log.info("telegram: running as @%s (%s)", self.bot.username, "webhook" if self._webhook else "polling")

    async def stop(self) -> None:
        """Finish the update in hand, stop fetching; a webhook stays registered so Telegram queues."""
        if self._polling is not None:
            if self._poller is None:
                self._polling.cancel()  # waiting for the lease: nothing in hand
            self._stop_polling()
            # the poller lets its lanes finish their turns (up to max_delay) before it ends
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._polling, timeout=2 * self.retry.max_delay + 1)
            self._poller = self._polling = None
        if self._webhook is not None:
            await self._webhook.cleanup()
            self._webhook = None
        if self._sweeping is not None:
            self._sweeping.cancel()
            await asyncio.gather(self._sweeping, return_exceptions=True)
            self._sweeping = None
        if self._inbox is not None:  # what is not handled yet stays stored: another worker, or the next start
            await self._inbox.close(timeout=2 * self.retry.max_delay + 1)
            self._inbox = None
        await self.bot.shutdown()

    async def _poll(self) -> None:
        self._poller = Poller(self)
        try:
            await self._poller.run()
        finally:
            self._poller = None

    def _stop_polling(self) -> None:
        if self._poller is not None:
            self._poller.stop()

    async def _publish_commands(self) -> None:
        """The menu in each language we have, and the default language's for everybody else."""
        scope = BotCommandScopeAllPrivateChats()
        menus = {
            lang: [
                # "Met een mens praten" only where a desk is set up: otherwise nobody would answer
                BotCommand(command, self.core.flows.render(lang, f"telegram.commands.{meaning}",
                                                           {"desk_available": self.core.desk_available}))
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
                await self.outlet.call(partial(self.bot.set_my_commands, commands, scope=scope, language_code=lang))
            except (DeliveryFailed, TelegramError):
                log.warning("telegram: could not publish the command menu (%s)", lang or "default")

    # ------------------------------------------------------------ updates in

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
                    if cursor is not None or admitted:
                        found = replace(found, cursor=cursor, flood_checked=admitted)
                    await self.core.handle(found)
                return
            if isinstance(found, GroupCall):
                await self._invite(found)
            if cursor is not None:
                await self.core.store.set_cursor(*cursor)
        finally:
            # a press the core's turn did not answer (a redelivery, a flood, a failure): stop its spinner
            if query is not None and query.id not in self._answered:
                await self.answer_query(query)
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

    async def answer_query(self, query: CallbackQuery) -> None:
        await self._answer_query(query.id, None)

    async def _answer_query(self, query_id: str, text: str | None) -> None:
        """A redelivered query is too old to answer, which is fine: the spinner stopped by itself.

        Sent as a raw Bot API request (the same JSON `answer_callback_query` sends): one per press, and
        the method's handling of defaults and keyword arguments cost more than the request itself."""
        api_kwargs: dict[str, object] = {"callback_query_id": query_id}
        if text is not None:
            api_kwargs["text"] = text
        try:
            await self.outlet.call(lambda: self.bot.do_api_request("answerCallbackQuery", api_kwargs=api_kwargs))
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
            await self.outlet.send_text(call.chat_id, text, markup, reply)
        except (DeliveryFailed, TelegramError) as exc:
            log.warning("telegram: group invitation not delivered (%s)", type(exc).__name__)

    async def _start_webhook(self, url: str) -> None:
        """Serve POSTs from Telegram (webhook.py) through the inbox, then tell Telegram where they go.

        Every worker sets the same URL, secret and update types: setWebhook is idempotent, so no worker
        has to be the one that registers (the settings demand one secret for all on PostgreSQL).
        """
        from bot.adapters.telegram.webhook import serve_webhook  # only webhook deployments need aiohttp's server

        configured = self.settings.telegram_webhook_secret
        secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)

        def skipped() -> None:
            self.skipped += 1

        self._inbox = await self.open_inbox()
        self._webhook = await serve_webhook(url, secret, self.bot, self._receive, skipped,
                                            self.settings.telegram_webhook_listen, self.settings.telegram_webhook_port)
        self._sweeping = asyncio.create_task(self._inbox.sweep_forever(), name="telegram-inbox")
        await self.outlet.call(lambda: self.bot.set_webhook(url, secret_token=secret,
                                                            allowed_updates=list(ALLOWED_UPDATES)))

    async def open_inbox(self) -> Inbox:
        """What a webhook worker takes its updates through: the inbox and, on a shared database, the lock
        every worker shares with its deliveries (bot/inbox.py). Apart so the benchmark's workers can
        open it without an HTTP server (bench/postgres.py)."""
        from bot.inbox import Inbox, SessionLocks, keep_alive

        store = self.core.store
        inbox = Inbox(store, self._handle_stored, self._give_up, attempts=self.handle_attempts)
        if store.backend.shared:  # other workers deliver to the same chats: one lock for all (bot/inbox.py)
            await store.execute(keep_alive, write=False)
            self.core.locks.shared = SessionLocks(store)
            self.core.delivery.owed_anywhere = True
        return inbox

    async def _receive(self, update: Update, body: dict[str, Any]) -> None:
        """A webhook POST: a conversation's update goes through the inbox; anything else is answered at once."""
        found = read_update(update, self.bot.id, self.bot.username, self.desk_chats)
        if isinstance(found, Incoming) and found.update_id is not None and self._inbox is not None:
            await self._inbox.receive(found.update_id, str(found.key), update.update_id, body)
        else:
            await self.process(update)

    async def _handle_stored(self, body: dict[str, Any]) -> None:
        update = read_raw_update(body, self.bot)
        if update is not None:  # it was read once before it was stored
            await self.process(update)

    async def _give_up(self, body: dict[str, Any]) -> None:
        self.skipped += 1
        update = read_raw_update(body, self.bot)
        if update is not None:
            await apologise(self, update)

    # ------------------------------------------------------------ Outlet

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit], reply_to: object | None) -> None:
        """Show the core's actions (outlet.py); raise DeliveryFailed once Telegram keeps refusing."""
        await self.outlet.deliver(key, actions, reply_to)

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post to a desk group; the id of the first message posted identifies it."""
        return await self.outlet.deliver_to_room(room, text, document)
