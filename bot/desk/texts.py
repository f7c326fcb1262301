"""What the safety desk says: to a user in their own language, in the desk rooms in the desk's.

Apart from the rest of the desk because every part of it speaks through these
texts, and because they must never raise: a missing text (a trial flow set, a
bad reload) may not lose a report, so it is logged once and the facts are said
plainly instead. When nobody of the desk can talk, it names the people who do
exist for this user, by the role the main menu set (`nobody`).

Never log a text's values: they may hold what a user wrote.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.core import ZONE
from bot.desk.hours import DAYS, DeskHours
from bot.events import Incoming
from bot.texts import render_or_facts

if TYPE_CHECKING:
    from bot import engine
    from bot.core import Core

log = logging.getLogger(__name__)

#: The role the main menu sets (flows/main.yaml) -> the text naming the people who exist for it.
PEOPLE = {
    "parent": "desk.user.people.parent",
    "relative": "desk.user.people.relative",
    "young": "desk.user.people.young",
    "foster": "desk.user.people.foster",
    "professional": "desk.user.people.professional",
}
#: For a user who has not said who they are yet (or chose "someone else" and no more).
PEOPLE_ANYONE = "desk.user.people.anyone"

class DeskTexts:
    """The desk's texts for one core; the language of the desk rooms is `lang`."""

    def __init__(self, core: Core, lang: str, hours: DeskHours) -> None:
        self.core = core
        self.lang = lang
        self.hours = hours

    def render(self, lang: str, key: str, **values: Any) -> str:
        """A desk text; never raises, so a missing text cannot lose a report (it is logged)."""
        flows = self.core.flows
        if lang not in flows.locales.languages:
            lang = self.core.settings.default_lang
        return render_or_fallback(flows, lang, key, {"desk": _text(flows, lang, "desk.name", {}, "Wegwijzer"),
                                                     **values})

    def report_text(self, lang: str, kind: str, name: str, **values: Any) -> str:
        """What a reporter is told about their report: the kind's own text if there is one.

        The desk alone knows whether a report was stored for a desk, so the
        flow does not confirm it; a kind (`incident`) can say it in its own
        words and, without a desk, say what the person can do themselves.
        """
        specific = f"desk.user.by_kind.{kind}.{name}"
        key = specific if self.core.flows.locales.has(lang, specific) else f"desk.user.{name}"
        return self.render(lang, key, **values)

    def room(self, key: str, **values: Any) -> str:
        return self.render(self.lang, key, **values)

    def when(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, ZONE).strftime("%d-%m-%Y %H:%M")

    def urgency(self, urgent: bool, level: str = "normal") -> str:
        return self.room(f"desk.room.urgency.{'high' if urgent else level}")

    def hours_text(self, lang: str) -> str:
        names = {day: self.render(lang, f"desk.hours.day.{day}") for day in DAYS}
        return self.hours.describe(names, self.render(lang, "desk.hours.always"),
                                   self.render(lang, "desk.hours.not_on_holidays"))

    def nobody(self, lang: str, why: str, role: str, **values: Any) -> str:
        """Nobody of the desk can talk (`why` says so): that, the people who do exist for this
        user's role, and the help lines, as one message."""
        people = PEOPLE.get(role, PEOPLE_ANYONE)
        return "\n".join(self.render(lang, key, **values) for key in (why, people, "desk.user.help_lines"))

    def user_lang(self, incoming: Incoming, turn: engine.Turn | None) -> str:
        if turn is not None and turn.lang:  # also when the report ended the conversation
            return turn.lang
        return self.core.flows.locales.pick(incoming.lang_hint, self.core.settings.default_lang)

    def pseudonym(self, turn: engine.Turn) -> str:
        role = role_of(turn)
        if role not in ("parent", "professional"):
            role = "other"
        return f"{self.room(f'desk.room.role.{role}')} #{secrets.token_hex(2).upper()}"


def role_of(turn: engine.Turn) -> str:
    """Who the user said they are at the main menu ("" before they said it)."""
    return str(turn.state.vars.get("role", "")) if turn.state else ""


def _text(flows: Any, lang: str, key: str, values: dict[str, Any], fallback: str) -> str:
    try:
        return str(flows.render(lang, key, values))
    except Exception:
        return fallback


def render_or_fallback(flows: Any, lang: str, key: str, values: dict[str, Any]) -> str:
    """Render a text; if the flow set lacks it (a trial flow set, a bad reload), say the facts plainly."""
    return render_or_facts(flows, lang, key, values, needs="locales/*/desk.yaml and privacy.yaml",
                           leave_out=frozenset({"desk"}))
