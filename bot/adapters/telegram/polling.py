"""Telegram updates by long polling: getUpdates, handed to the core chat by chat.

Why our own polling loop and not PTB's Updater: the Updater confirms an update to
Telegram (advances the offset) before it is handled, so a crash loses it. Here an
update is handed to the core first, and the next offset is stored in the same
transaction as the turn (`Incoming.cursor`); Telegram only forgets the update on
the next getUpdates. Updates of one chat are handled in order, different chats
side by side (bot/adapters/lanes.py), so one chat waiting for its send limit or a
429 does not hold up the others. What it must never do: log what an update says
(only its number and kind), or let one update that always fails stop the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import InvalidToken, TelegramError
from telegram.ext import ExtBot

from bot.adapters.base import DeliveryFailed
from bot.adapters.lanes import TAKE, WAITING_PER_CHAT, Admission, Lanes
from bot.adapters.telegram.limits import RetryPolicy
from bot.adapters.telegram.outlet import TelegramOutlet
from bot.adapters.telegram.updates import (
    ALLOWED_UPDATES,
    OFFSET_CURSOR,
    PLATFORM,
    failure,
    kind_of,
    lane_of,
    read_raw_update,
    read_update,
)
from bot.events import ConversationKey, Incoming
from bot.flood import Verdict
from bot.store import who_of

if TYPE_CHECKING:
    from bot.core import Core
    from bot.settings import Settings

log = logging.getLogger(__name__)

#: While every update Telegram returns is already in hand, ask again after a lane finished one or this long.
LANE_WAIT_S = 0.5


class PollingHost(Protocol):
    """What the poller needs of the adapter: the bot, the core, and how one update is handled."""

    bot: ExtBot[Any]
    core: Core
    settings: Settings
    outlet: TelegramOutlet
    retry: RetryPolicy
    poll_timeout: float
    handle_attempts: int
    skipped: int
    desk_chats: frozenset[int]

    async def process(self, update: Update, cursor: tuple[str, str] | None = None, admitted: bool = False) -> None: ...

    async def answer_query(self, query: CallbackQuery) -> None: ...


class Poller:
    """One polling loop for one adapter; `run` until `stop`."""

    def __init__(self, host: PollingHost) -> None:
        self.host = host
        self._stopping = asyncio.Event()
        self._polling_call: asyncio.Task[tuple[Update, ...]] | None = None
        self._lanes: Lanes[Update] | None = None
        #: unreadable updates Telegram may still return (logged once each)
        self._unreadable: set[int] = set()

    def stop(self) -> None:
        """Finish the updates in hand, fetch no more."""
        self._stopping.set()
        if self._polling_call is not None:
            self._polling_call.cancel()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):  # asyncio.timeout: see bot/periodic.py on wait_for
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    async def run(self) -> None:
        """getUpdates -> core: one chat's updates in order, different chats side by side (bot/adapters/lanes.py).

        The offset asked for never passes an update still in hand, so Telegram
        keeps returning those; they are recognised and skipped, and while nothing
        new came the loop waits for a lane to finish one instead of asking again.
        """
        stored = await self.host.core.store.cursor(OFFSET_CURSOR)
        offset = int(stored) if stored else None
        lanes = self._lanes = Lanes(self._handle_with_retries, lane_of, self._admit, self._tell_flooded)
        failures = 0
        try:
            while not self._stopping.is_set():
                offset = lanes.safe_offset(offset)
                self._polling_call = asyncio.create_task(
                    self.host.bot.get_updates(
                        offset=offset, timeout=int(self.host.poll_timeout), allowed_updates=list(ALLOWED_UPDATES)
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
                    await self._pause(min(self.host.retry.initial_delay * 2**failures, self.host.retry.max_delay))
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
            # a turn waiting for an unreachable database has nothing to finish: Telegram keeps its update
            away = self.host.core.store.unreachable_since is not None
            await lanes.close(timeout=0 if away else self.host.retry.max_delay)

    async def _readable_updates(self, offset: int | None) -> tuple[tuple[Update, ...], list[int]]:
        """The batch PTB failed to parse, parsed update by update: (readable ones, numbers of the others).

        Asking again would return the same unreadable update first, forever, and hold up every
        update behind it.
        """
        try:
            with warnings.catch_warnings():  # "use Bot.get_updates": that is what failed
                warnings.simplefilter("ignore")
                raw = await self.host.bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": offset, "timeout": 0, "allowed_updates": list(ALLOWED_UPDATES)})
        except TelegramError as exc:
            log.warning("telegram: getUpdates failed (%s); retrying", type(exc).__name__)
            await self._pause(self.host.retry.initial_delay)
            return (), []
        readable: list[Update] = []
        unreadable: list[int] = []
        for item in raw if isinstance(raw, list) else []:
            update = read_raw_update(item, self.host.bot)
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
                self.host.skipped += 1
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
            await self.host.core.store.set_cursor(OFFSET_CURSOR, str(lanes.safe_offset(offset)))

    def _admit(self, update: Update, waiting: int) -> Admission:
        """The flood limit and the cap on a chat's waiting updates, applied on arrival (see bot/adapters/lanes.py).

        Checked here rather than when the update's turn comes, so a refused update never
        waits in line and Telegram's offset moves past it at once.
        """
        flood, user = self.host.core.flood, update.effective_user
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
            found = read_update(update, self.host.bot.id, self.host.bot.username, self.host.desk_chats)
            if isinstance(found, Incoming):
                await self.host.core.claim_flooded(replace(found, cursor=cursor), tell=True)
            else:
                await self.host.core.store.set_cursor(*cursor)
        finally:
            if update.callback_query is not None:
                await self.host.answer_query(update.callback_query)

    async def _handle_with_retries(self, update: Update) -> bool:
        """Hand one update to the core; on failure retry a few times, then skip it loudly.

        Skipping loses one update but keeps the bot alive for everybody else: an
        update that always fails (a "poison pill") would otherwise be fetched
        again forever and hold up every update behind it. Logged without what the
        user typed: the exception's message may quote it, so only its type and
        the code path are written.
        """
        for attempt in range(1, self.host.handle_attempts + 1):
            try:
                await self.host.process(update, cursor=(OFFSET_CURSOR, str(self._cursor_for(update))), admitted=True)
                return True
            except Exception as exc:
                log.warning("telegram: handling update %s failed (attempt %d of %d): %s",
                            update.update_id, attempt, self.host.handle_attempts, failure(exc))
                if self._stopping.is_set():
                    return False
                if attempt < self.host.handle_attempts:
                    await self._pause(min(self.host.retry.initial_delay * 2**attempt, self.host.retry.max_delay))
        log.error("telegram: update %s (%s) skipped after %d failed attempts; the bot goes on with the next",
                  update.update_id, kind_of(update), self.host.handle_attempts)
        await self.host.core.store.set_cursor(OFFSET_CURSOR, str(self._cursor_for(update)))
        self.host.skipped += 1
        await apologise(self.host, update)
        return True

    def _cursor_for(self, update: Update) -> int:
        return self._lanes.cursor_for(update.update_id) if self._lanes else update.update_id + 1


async def apologise(host: PollingHost, update: Update) -> None:
    """Tell the user of a skipped update (polling or webhook), in a private chat, to send it again: silence
    would look like a hang."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    lang = host.core.flows.locales.pick(user.language_code if user else None, host.settings.default_lang)
    text = host.core.flows.render(lang, "telegram.update_skipped", {})
    try:
        await host.outlet.send_text(chat.id, text, None)
    except (DeliveryFailed, TelegramError) as exc:
        log.info("telegram: apology for a skipped update not delivered (%s)", type(exc).__name__)
