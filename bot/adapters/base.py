"""What every adapter implements: one small Protocol, one method per outbound kind.

Adapters translate; they never decide. They turn a platform update into an
`Incoming` for `Core.handle`, and the core calls `deliver` with the actions
the engine decided (already rendered, plain text). An adapter never knows a
flow, never stores conversation state and never logs message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from abc import ABCMeta
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.errors import PlatformError
from bot.events import Command, ConversationKey, Document, Edit, Incoming, Send, Text

log = logging.getLogger(__name__)

#: A turn that takes longer than this (a letter being made, a slow disk, a send limit) shows
#: "typing…", so the person knows the bot is working and does not send the same thing again.
TYPING_AFTER_S = 0.3


async def _hint(call: Callable[[], Awaitable[Any]]) -> None:
    try:
        await call()
    except Exception as exc:  # a hint must never fail a turn
        log.debug("typing notice not changed (%s)", type(exc).__name__)


class typing_while_slow:  # lower case: called as the function it was, `async with typing_while_slow(...)`
    """Call `show` (the platform's typing notice) once the block has run `after` seconds, and
    `hide` after the block when it was shown (Telegram ends the notice by itself, Matrix does not).

    Only a hint: it is not retried, and a failure is logged by its type, never raised.
    A timer, not a sleeping task: almost every turn ends first, and a task per update cost
    about three times the CPU of a timer (bench/README.md). A plain class rather than a
    generator-based context manager, because every update takes one (that cost about
    10 µs per update on the Telegram path, bench/README.md, sixth pass)."""

    __slots__ = ("_after", "_hide", "_show", "_showing", "_timer")

    def __init__(self, after: float, show: Callable[[], Awaitable[Any]],
                 hide: Callable[[], Awaitable[Any]] | None = None) -> None:
        self._after = after
        self._show = show
        self._hide = hide
        self._showing: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._after, self._start_showing)

    def _start_showing(self) -> None:
        self._showing.append(asyncio.create_task(_hint(self._show)))

    async def __aexit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in self._showing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._showing and self._hide is not None:
            await _hint(self._hide)


#: Lone UTF-16 surrogates: a client's broken JSON ("\\ud800") or bytes a terminal could not
#: decode (surrogateescape). Python keeps them in a str, but no UTF-8 file, database or API
#: accepts them.
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` as something every store and platform accepts: each lone surrogate becomes U+FFFD.

    The user sees "\ufffd" where their app sent something broken, and the rest of what
    they wrote is kept, instead of the whole message failing deep in the store.
    """
    if text.isascii():
        return text
    return _SURROGATES.sub("\ufffd", text)


def clean_incoming(incoming: Incoming) -> Incoming:
    """What an adapter hands the core, with every typed string made storable (see clean_text).

    The core calls this on every update, so no adapter can forget it.
    """
    event = incoming.event
    if isinstance(event, Text):
        cleaned = clean_text(event.text)
        if cleaned != event.text:
            return replace(incoming, event=Text(cleaned))
    elif isinstance(event, Command):
        name, args = clean_text(event.name), clean_text(event.args)
        if (name, args) != (event.name, event.args):
            return replace(incoming, event=Command(name, args))
    return incoming


class DeliveryFailed(PlatformError):
    """The platform did not accept a message after the adapter's own retries.

    The core keeps the message in its outbox and tries again later, so
    raising this never loses anything. `delivered` says how many of the
    actions were already shown, so only the rest is sent again (a user never
    sees the first half of a reply twice). `rest`, when set, is what is left
    after an action stopped halfway (chunk 3 of 4 of a long text): it replaces
    the actions from `delivered` on.
    """

    def __init__(self, reason: str = "", delivered: int = 0, rest: Sequence[Send] | None = None) -> None:
        super().__init__(reason)
        self.delivered = delivered
        self.rest = rest


class Outlet(Protocol):
    """A platform the core can deliver to."""

    platform: str

    async def deliver(
        self,
        key: ConversationKey,
        actions: Sequence[Send | Edit],
        reply_to: object | None,
    ) -> None:
        """Show `actions` to the user of `key`, in order.

        `reply_to` is the opaque value the adapter put in `Incoming.reply_to`
        (None after a restart, when the core re-delivers from its outbox:
        an Edit then becomes a new message). Raise DeliveryFailed when the
        platform keeps refusing.
        """
        ...

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        """Post `text` (plain) to a desk room/group; return the platform message id."""
        ...


if TYPE_CHECKING:
    _ProtocolMeta = ABCMeta
else:
    _ProtocolMeta = type(Protocol)


#: (protocol, class) -> whether instances of the class have the protocol's methods. Not an
#: attribute of the metaclass: Python 3.11 would count it as one of every protocol's members.
_VERDICTS: dict[tuple[type, type], bool] = {}


class _DecidedByClass(_ProtocolMeta):
    """`isinstance` against a protocol of methods, answered once per class.

    Python 3.11 walks the protocol's members on every `isinstance` (20-50 µs), and the core asks
    it of the outlet on every button press (bench/README.md). Whether an outlet has the methods
    is a fact of its class, so the answer is remembered per class.
    """

    def __instancecheck__(cls, instance: object) -> bool:
        key = (cls, type(instance))
        verdict = _VERDICTS.get(key)
        if verdict is None:
            verdict = _VERDICTS[key] = super().__instancecheck__(instance)
        return verdict


@runtime_checkable
class AnswersPresses(Protocol, metaclass=_DecidedByClass):
    """An outlet that answers a button press on the button itself (Telegram's callback answer).

    The core calls `answer_press` as soon as a press's turn is stored, before any reply goes
    out, so the button stops spinning at once. A press of an old button (the engine's
    `Turn.stale`) is then answered there with a short text, and the turn sends no chat
    message: pressing an old button 300 times costs no message and no send-limit wait.
    """

    def quiet_stale(self, incoming: Incoming) -> bool:
        """May this press, if it is of an old button, be answered on the button alone?"""
        ...

    async def answer_press(self, incoming: Incoming, stale_lang: str | None) -> None:
        """Answer the press; with `stale_lang`, say in that language that the button is old."""
        ...
