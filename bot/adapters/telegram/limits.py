"""Telegram's send limits and retries: keep under the documented limits, wait out 429s.

A rate limiter keeps Telegram's documented limits (30 msg/s overall, 20/min per
group, about 1/s per private chat after a short burst) and waits out 429s; on
top of that every call is retried on 429 (retry_after honoured), network errors
and 5xx with backoff, and after the last attempt DeliveryFailed tells the core
to keep the messages in its outbox. Retrying a call that timed out may show a
message twice; that is preferred over losing it. What this module must never do:
retry a BadRequest (it means "never like this"; the caller decides).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bot.adapters.base import DeliveryFailed

# PTB 22's own RetryAfter constructor reads its deprecated `retry_after`, so every 429
# printed this warning although nothing here relies on the old type
# (_retry_after_seconds takes both).
warnings.filterwarnings("ignore", message=r"Deprecated since version \S+: In a future major version attribute `retry_after`",
                        category=PTBDeprecationWarning)
T = TypeVar("T")


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


class CountedRequest(HTTPXRequest):
    """python-telegram-bot's HTTP client, counting Telegram's 429 answers for /metrics (bot/metrics.py).

    Counted here, where every answer passes, because 429s are waited out in several places
    (AIORateLimiter for groups, call_with_retries, the poller); each would count only its own.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.throttled = 0

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        code, payload = await super().do_request(*args, **kwargs)
        if code == HTTPStatus.TOO_MANY_REQUESTS:
            self.throttled += 1
        return code, payload


async def call_with_retries(fn: Callable[[], Awaitable[T]], retry: RetryPolicy) -> T:
    """One Bot API call with retries; BadRequest goes to the caller, the rest ends in DeliveryFailed.

    Almost every call succeeds at once, so the first try is made directly; only a
    transient failure sets up tenacity (about a tenth of a reply's CPU time otherwise).
    """
    try:
        return await fn()
    except BadRequest:
        raise
    except TelegramError as exc:
        if not _transient(exc) or retry.attempts <= 1:
            raise DeliveryFailed(f"telegram: {type(exc).__name__}") from exc
        first_failure = exc

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryAfter):
            return _retry_after_seconds(exc) + 0.1
        return backoff(state)

    # the direct try was attempt 1: the waits go on as if tenacity had made it (0.5, 1, 2, 4 s + jitter)
    backoff = wait_exponential_jitter(multiplier=retry.initial_delay * 2, max=retry.max_delay)
    if isinstance(first_failure, RetryAfter):
        await asyncio.sleep(_retry_after_seconds(first_failure) + 0.1)
    else:
        await asyncio.sleep(min(retry.initial_delay + random.uniform(0, 1), retry.max_delay))
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(retry.attempts - 1),
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
