"""The questions the engine asks by itself, as one table, and how they are shown.

A system question is not a step of any flow: "forget everything?", "which language?",
"this part changed: again or the menu?", the way out after three wrong answers, "did you
mean ...?" for a municipality and the echo of a date as read. The state stores the one
that is open in `pending`, as the `SystemQuestion` value; these strings are stored in
conversations, so a value is never renamed. Buttons of a question with a token of its own
carry that token (`_forget` ...); the others belong to the step they interrupt and carry
its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from bot.dates import format_date, format_day
from bot.engine.steps import ALSO_TOLD, SET_ASIDE, TYPED_BEFORE, StepRunner
from bot.engine.turn import FlowError
from bot.engine.words import normalise, typed_number
from bot.events import ChoiceButton, Send
from bot.flows.steps import AskStep


class SystemQuestion(StrEnum):
    FORGET = "forget"
    LANGUAGE = "language"
    RECOVER = "recover"
    WAY_OUT = "way_out"
    PICK = "pick"
    DATE = "date"
    RESTART = "restart"

    @property
    def token(self) -> str:
        """The token its buttons carry ("" when they carry the step's own id)."""
        return _TABLE[self].token

    @property
    def text_key(self) -> str:
        return _TABLE[self].text_key

    @property
    def own_buttons(self) -> bool:
        """Asked with fixed buttons of its own (not a list of candidates or dates)."""
        return bool(_TABLE[self].token)

    @classmethod
    def of(cls, pending: str | None) -> SystemQuestion | None:
        """The open question of a stored `pending` (None: none, or a value no longer known)."""
        try:
            return cls(pending) if pending else None
        except ValueError:
            return None

    @classmethod
    def by_token(cls, token: str) -> SystemQuestion | None:
        return next((q for q, row in _TABLE.items() if row.token and row.token == token), None)


@dataclass(frozen=True, slots=True)
class _Row:
    token: str
    text_key: str
    #: (choice id, label key); the language question lists the languages instead
    buttons: tuple[tuple[str, str], ...] = ()


WAY_OUT_BUTTONS = (("back", "sys.way.back"), ("restart", "sys.way.restart"), ("person", "sys.way.person"))
_TABLE = {
    SystemQuestion.FORGET: _Row("_forget", "sys.forget_confirm", (("yes", "sys.forget_yes"), ("no", "sys.forget_no"))),
    SystemQuestion.LANGUAGE: _Row("_lang", "sys.language_question"),
    # "again": restart_lost_flow; "menu": the entry flow
    SystemQuestion.RECOVER: _Row("_recover", "sys.flow_changed", (("again", "sys.recover.restart"),
                                                                  ("menu", "sys.recover.menu"))),
    SystemQuestion.WAY_OUT: _Row("_way", "sys.way_out", WAY_OUT_BUTTONS),
    # /start or "opnieuw" with answers given: "continue": where they were; "restart": start over
    SystemQuestion.RESTART: _Row("_restart", "sys.restart.confirm", (("continue", "sys.restart.continue"),
                                                                     ("restart", "sys.restart.yes"))),
    SystemQuestion.PICK: _Row("", "sys.did_you_mean"),
    SystemQuestion.DATE: _Row("", "sys.date.confirm"),
}
#: The variable that holds a `protect: public` answer the bot sent back (see bot/engine/protect.py).
PUBLIC_DRAFT = "_public"
#: What the open date question offers: "week" (the days of a week named without a day), "weekday"
#: (the date and the day of the weekday typed with it, which did not match), or "" (one reading,
#: or the two readings of an ambiguous number). The offer alone cannot tell them apart.
DATE_KIND = "_date_kind"
#: Where "start over" goes once confirmed: the entry flow, or the flow a `/start <link>` named.
RESTART_TO = "_restart_to"
#: Wrong answers in a row before the bot offers a way out.
WAY_OUT_AFTER = 3
#: Choice ids of a crisis check question's buttons: "yes:<class>" / "no:<class>".
CRISIS_CHECK_TOKEN = "_crisis"
#: The buttons last shown that are not the step's own (a route offer, the way out, a crisis check
#: question): [token, id, label, id, label ...]. Kept for the very next message only: a typed
#: number or a typed label then answers them, as on Matrix and the console, where buttons are a
#: numbered list and "1" means the first button of the list just shown, not of the step under it.
ASIDE = "_aside"


@dataclass(frozen=True, slots=True)
class Aside:
    """The buttons shown aside in the previous message: one place knows how ASIDE keeps them.

    Why: the turn builder read the kept list for a typed number and the crisis layers for the pause
    question, each indexing it its own way; the layout is written here and read here only.
    """

    token: str
    #: (choice id, label) of each button, in the order shown
    buttons: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, send: Send) -> Aside:
        return cls(send.token, tuple((b.id, b.label) for b in send.choices))

    def kept(self) -> list[str]:
        """As stored in the state's ASIDE (a JSON value): [token, id, label, id, label ...]."""
        return [self.token, *(part for pair in self.buttons for part in pair)]

    @classmethod
    def read(cls, kept: Any) -> Aside | None:
        """What `kept` stored, or None when nothing (or no list) was."""
        if not isinstance(kept, list) or not kept:
            return None
        flat = [str(part) for part in kept[1:]]
        return cls(str(kept[0]), tuple(zip(flat[::2], flat[1::2], strict=False)))

    @property
    def first_id(self) -> str:
        return self.buttons[0][0] if self.buttons else ""
#: The token of a button that does what typing its command does (its id: "mydata"), whenever it is
#: pressed: "Alles zien" under what is stored, said in the chat (bot/privacy.py), sends the document.
COMMAND_TOKEN = "_command"
#: "Weet ik niet" under a week's days ("vorige week"): its choice id, and its label
WEEK_UNKNOWN, WEEK_UNKNOWN_LABEL = "day_unknown", "sys.date.week_unknown_label"
#: Tokens of buttons that belong to no step.
SYSTEM_TOKENS = frozenset({row.token for row in _TABLE.values() if row.token} | {CRISIS_CHECK_TOKEN, COMMAND_TOKEN})


class AsksSystemQuestions(StepRunner):
    """Showing the open system question (or the step's own question) again, and asking one."""

    def asked(self) -> SystemQuestion | None:
        return SystemQuestion.of(self.state.pending if self.state else None)

    def pending_token(self) -> str:
        question = self.asked()
        return question.token if question else ""

    def pending_buttons(self) -> list[tuple[str, str]]:
        question = self.asked()
        if question is SystemQuestion.LANGUAGE:
            return [(lang, f"sys.language_name.{lang}") for lang in self.fs.locales.languages]
        if question is not None and question.own_buttons:
            return list(_TABLE[question].buttons)
        return list(WAY_OUT_BUTTONS)

    def ask_pending(self) -> None:
        question = self.asked() or SystemQuestion.FORGET
        self.out.append(Send(self.text(question.text_key), self.buttons(self.pending_buttons()),
                             token=self.pending_token()))

    def show_aside(self, send: Send) -> None:
        """Show a question whose buttons are not the step's own, and remember them for one message."""
        self.out.append(send)
        if self.state is not None:
            self.state.vars[ASIDE] = Aside.of(send).kept()

    def reshow(self) -> None:
        if self.state is None:
            return
        question = self.asked()
        if question in (SystemQuestion.FORGET, SystemQuestion.LANGUAGE, SystemQuestion.RECOVER,
                        SystemQuestion.RESTART):
            self.ask_pending()
        elif question is SystemQuestion.PICK and self.state.offer:
            self.out.append(Send(self.text("sys.did_you_mean"), self.offer_buttons(), token=self.state.step))
        elif question is SystemQuestion.DATE and self.state.offer:
            self.out.append(self.date_question())
        else:
            self.out.append(self.question(self.current_question()))

    def offer_buttons(self) -> tuple[ChoiceButton, ...]:
        assert self.state is not None
        label = getattr(self.fs.municipalities, "label", None)  # "Hengelo (Overijssel)": a province apart
        buttons = [ChoiceButton(f"c{i}", label(name) if label else name) for i, name in enumerate(self.state.offer)]
        buttons.append(ChoiceButton("none", self.text("sys.none_of_these")))
        return tuple(buttons)

    def match_offer(self, raw: str) -> str | None:
        """A typed answer to "did you mean": a candidate's number or name, or "none of these"."""
        text = normalise(raw)
        buttons = self.offer_buttons()
        number = typed_number(text)
        if number is not None:
            index = number - 1
            return buttons[index].id if 0 <= index < len(buttons) else None
        names = [*(self.state.offer if self.state else []), None]  # the last button is "none of these"
        for button, name in zip(buttons, names, strict=False):
            if text in (normalise(button.label), button.id) or (name and text == normalise(str(name))):
                return button.id
        return None

    def date_question(self) -> Send:
        """The echo of a date as read, the two readings of an ambiguous one, the date and the
        day of a weekday typed with it that did not match, or the days of a week named without
        a day ("vorige week"): the week in words, a button per day."""
        assert self.state is not None
        pairs = self.date_buttons()
        offer = self.state.offer
        if len(offer) == 1:
            return Send(self.text("sys.date.confirm", read=self.written_date(offer[0])),
                        self.buttons([("yes", "sys.yes"), ("no", "sys.no")]), token=self.state.step)
        buttons = tuple(ChoiceButton(choice_id, label) for choice_id, label in pairs)
        kind = self.state.vars.get(DATE_KIND)
        step = self.fs.step(self.state.flow, self.state.step)
        ahead = isinstance(step, AskStep) and step.when == "future"  # "Op welke dag is het?", not "was het"
        if kind == "week":
            first, last = pairs[0][1], pairs[len(offer) - 1][1]  # the days, not "Weet ik niet" (WEEK_UNKNOWN) after them
            key = "sys.date.week_ahead" if ahead else "sys.date.week"
            return Send(self.text(key, first=first, last=last), buttons, token=self.state.step)
        if kind == "weekday":
            days = self.weekday_names(full=True)
            read, other = date.fromisoformat(offer[0]), date.fromisoformat(offer[1])
            return Send(self.text("sys.date.weekday_which", typed=days[other.weekday()], read=format_date(
                read, self.lang, self.fs.locales.month_names(self.lang)), other=days[read.weekday()]),
                buttons, token=self.state.step)
        if kind == "days":  # "vrijdag en zaterdag": the days read, a button each
            listed = ", ".join(label for _, label in pairs)
            return Send(self.text("sys.date.days_ahead" if ahead else "sys.date.days", read=listed), buttons,
                        token=self.state.step)
        return Send(self.text("sys.date.which", read=pairs[0][1], other=pairs[1][1]), buttons, token=self.state.step)

    def wrong_side(self, step: AskStep, read: list[date], kind: str) -> None:
        """A date read on the other side of today than the question asks: said in words, and why it cannot be
        meant; a week as the week ("volgende week" about what happened), never as its Monday."""
        if kind == "week":
            self.fail("sys.invalid.week_future" if step.when == "past" else "sys.invalid.week_past",
                      first=self.written_date(read[0]), last=self.written_date(read[-1]))
        else:
            self.fail("sys.invalid.date_future" if step.when == "past" else "sys.invalid.date_past",
                      read=self.written_date(read[0]))

    def date_buttons(self) -> list[tuple[str, str]]:
        """(id, label) of the date question's buttons, for typed answers."""
        assert self.state is not None
        offer, months = self.state.offer, self.fs.locales.month_names(self.lang)
        if len(offer) == 1:
            return [("yes", self.text("sys.yes")), ("no", self.text("sys.no"))]
        if self.state.vars.get(DATE_KIND) != "week":
            return [(f"d{i}", self.written_date(d)) for i, d in enumerate(offer)]
        weekdays = self.weekday_names()
        days = [(f"d{i}", format_day(d, self.lang, weekdays, months)) for i, d in enumerate(offer)]
        return [*days, (WEEK_UNKNOWN, self.text(WEEK_UNKNOWN_LABEL))]  # not knowing the day is an answer too

    def day_not_known(self, step: AskStep) -> None:
        """"Weet ik niet" at a week's days: its first day, said in words before it is used, then on.

        Why: a worker who did not know the day had no button for it, and "weet ik niet welke dag" only
        got the same seven days again (try-out 32). The first day is the earliest the week allows, so a
        deadline counted from it is never too late; the person is told which day, and how to change it.
        """
        assert self.state is not None
        first = self.state.offer[0]
        self.say_key("sys.date.week_first", read=self.written_date(first))
        self.accept(step, first)

    def written_date(self, value: date | str) -> str:
        """"zaterdag 28 december 2026": a date read from what someone typed, with its weekday and
        year, so a wrong day or year shows."""
        value = date.fromisoformat(value) if isinstance(value, str) else value
        written = format_date(value, self.lang, self.fs.locales.month_names(self.lang))
        days = self.weekday_names(full=True)
        return f"{days[value.weekday()]} {written}" if len(days) == 7 else written

    def weekday_names(self, full: bool = False) -> list[str]:
        """The seven day names, Monday first, as this language writes them: short ("ma", "di" ...,
        on a week's buttons) or full ("maandag" ..., in a date read back)."""
        key = "sys.date.weekday_names" if full else "sys.date.weekdays"
        return [name.strip() for name in self.text(key).split(",")]

    def accept(self, step: AskStep, value: Any, via_button: bool = False) -> None:
        assert self.state is not None
        if step.next is None:
            raise FlowError(f"step {self.state.flow}.{self.state.step} has no next")
        self.remember()
        self.state.vars[step.save] = value
        self.state.vars.pop(PUBLIC_DRAFT, None)
        self.state.vars.pop(DATE_KIND, None)
        if step.asks_for_a_story:  # the story is told now (typed again, or the one typed before)
            before = self.state.vars.pop(TYPED_BEFORE, None)
            if before and before != value and self.state.vars.get(SET_ASIDE) and self.state.flow == self.fs.safety_flow:
                self.state.vars[ALSO_TOLD] = before  # the summary's "Ook gebeurd" quotes it, until the flow ends
        self.state.fails = 0
        self.state.offer = []
        self.state.pending = None
        self.goto(self.state.flow, step.next)
        self.run(replace_question=via_button)

    def fail(self, key: str, **extra: Any) -> None:
        assert self.state is not None
        self.state.fails += 1
        if self.state.fails >= WAY_OUT_AFTER:
            self.state.pending = None
            buttons = self.buttons(list(WAY_OUT_BUTTONS))
            self.show_aside(Send(self.text(key, **extra) + "\n\n" + self.text("sys.way_out"),
                                 buttons, token=SystemQuestion.WAY_OUT.token))
            return
        self.say_key(key, **extra)
