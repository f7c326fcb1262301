"""What one turn of the engine takes and gives: the world it may know, and its result.

Plain data, no behaviour: the core builds a `TurnContext` per update and reads the
`Turn` back; `handle()` (in `bot.engine`) connects the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.errors import TurnError
from bot.events import Action
from bot.state import State


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What the engine may know about the world: the date, defaults and facts about this bot.

    The core fills it per turn from its settings and extensions; the engine never reads
    them itself, so a test states the world it wants in one line.
    """

    today: date
    now: datetime
    default_lang: str = "nl"
    lang_hint: str | None = None
    #: a safety desk is set up, so a `report` reaches people. Flows read it as `desk_available`
    #: (read-only): a flow must not promise an alert that nobody will get.
    desk_available: bool = False
    #: the desk's own language: what a `report` step hands over (title, field labels and values,
    #: document) is written in it, whatever the user speaks; None: the default language
    desk_lang: str | None = None
    #: after how many days unused a conversation is deleted (settings); texts read it as `retention_days`
    #: so "I delete it by myself" can say when (review 2026-12-07)
    retention_days: int = 30


@dataclass(slots=True)
class Turn:
    state: State | None
    actions: list[Action] = field(default_factory=list)
    #: privacy-free statistics: "start:<flow>" (a conversation began with it, or a call, crisis or
    #: timer went into it), "end:<flow>:<flow>.<step>" (an end step of that flow), "crisis:<class>"
    stats: list[str] = field(default_factory=list)
    #: a flow failed at run time (kind of failure, never user text), for the core to log
    error: str | None = None
    #: the language the user was spoken to in, also when the conversation ended this turn
    #: (the desk answers a report in it, after the state is gone)
    lang: str = ""
    #: the event was a press of a button of an earlier question, and the turn only says so and
    #: shows the current question again; a platform that can answer on the button itself
    #: (Telegram's answerCallbackQuery) may say so there instead, and send nothing
    stale: bool = False


class FlowError(TurnError):
    """A flow misbehaved at run time (a loop, an expression that cannot run)."""
