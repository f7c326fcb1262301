"""The engine: (flow set, state, event, context) -> (new state, actions).

Invariants, in the spirit of h11's state machine:
- Pure and synchronous. No I/O, no asyncio, no clock (`TurnContext` carries
  today's date), no platform types, no logging of what users type.
- Everything that decides what a user sees lives here, driven by the flow
  tables in a FlowSet, so it is tested with plain function calls and the
  diagrams come from the same tables.
- A returned state is None (the conversation is over and its answers are
  dropped) or points at a step that waits for the user (`choose`/`ask`) or
  at a pending system question. Every user event gets at least one message.
- Global interrupts (help, back, start over, language, stop/forget me, ask
  for a person) and the crisis check work at every step without flows
  naming them. A button from an old question is recognised by its token and
  never applied to the current question.

Theory of operation: `handle` routes the event (command, text, choice,
unsupported, timer) to a handler; answering a question moves the position
and `_run` walks the flow through non-waiting steps (say, branch, compute,
show, document, report, call, end ...) until the next question or the end.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

from jinja2 import TemplateError

from bot.dates import format_date, read_dates
from bot.errors import TurnError
from bot.events import (
    Action,
    Choice,
    ChoiceButton,
    Command,
    Document,
    Edit,
    Event,
    ExportData,
    ForgetUser,
    Forward,
    HandOff,
    Report,
    Schedule,
    Send,
    Text,
    Timer,
    Unsupported,
)
from bot.flows.check import variables_set
from bot.flows.flowset import FlowSet
from bot.flows.model import Step
from bot.flows.steps import (
    AskStep,
    BranchStep,
    CallStep,
    ChooseStep,
    ComputeStep,
    DocumentStep,
    EndStep,
    ForgetStep,
    HandoffStep,
    ReportStep,
    SayStep,
    ScheduleStep,
    ShowStep,
)
from bot.letters import DOCX_MIME, in_messages, mime_for
from bot.personal import Finding, find_personal, names_people
from bot.state import HISTORY_LIMIT, State

if TYPE_CHECKING:
    from bot.crisis import CrisisMatch

#: Commands and their aliases in both languages -> the interrupt they mean.
COMMANDS = {
    "start": "start",
    "opnieuw": "restart", "restart": "restart", "menu": "restart", "begin": "restart",
    "help": "help", "hulp": "help",
    "terug": "back", "back": "back", "vorige": "back",
    "taal": "language", "language": "language", "lang": "language",
    "stop": "forget", "vergeet": "forget", "forget": "forget", "forgetme": "forget",
    "mijngegevens": "mydata", "mydata": "mydata",
    "persoon": "person", "mens": "person", "person": "person", "human": "person",
    "verder": "resume", "resume": "resume",
}
#: Typed at a question with an option `help`, these choose it instead of showing the bot's help.
HELP_WORDS = frozenset({"help", "hulp", "help me", "help mij", "hulp nodig", "i need help"})
#: Whole messages that act as a command when typed as text.
KEYWORDS = {
    "help": "help", "hulp": "help", "?": "help",
    "terug": "back", "back": "back", "vorige": "back",
    "opnieuw": "restart", "opnieuw beginnen": "restart", "start over": "restart",
    "menu": "restart", "hoofdmenu": "restart", "main menu": "restart",
    "stop": "forget", "vergeet mij": "forget", "forget me": "forget",
    "taal": "language", "language": "language",
    "english": "language:en", "engels": "language:en",
    "nederlands": "language:nl", "dutch": "language:nl",
    "mijn gegevens": "mydata", "my data": "mydata",
    "mens": "person", "persoon": "person", "person": "person",
    "een mens": "person", "een persoon": "person", "talk to a person": "person",
    "met een mens praten": "person",
}
YES = {"ja", "j", "yes", "y", "klopt", "ok", "oke", "jazeker", "zeker", "yep", "graag"}
NO = {"nee", "n", "no", "nope", "niet", "neen", "liever niet"}
#: Wrong answers in a row before the bot offers a way out.
WAY_OUT_AFTER = 3
#: Steps walked in one turn before the engine assumes a loop in the flow.
MAX_STEPS_PER_TURN = 200
#: The variable that remembers which directory cards this journey showed (see `show_cards`).
SHOWN_CARDS = "_cards"
#: Longest text the engine reads as an answer; longer input is refused politely.
MAX_INPUT = 4000
#: A free-text question taking answers this long (or longer) asks people what happened: a
#: crisis typed there is also the answer, kept. A name or an address is not (nor stored as one).
KEEP_STORY_FROM = 300

SYSTEM_TOKENS = {"_lang", "_forget", "_way", "_recover", "_crisis"}
#: The variable that holds a `protect: public` answer the bot sent back (see refuse_public).
PUBLIC_DRAFT = "_public"
#: Kinds of bot.personal findings that a complaint letter warns about (it needs no names).
LETTER_WARNS = frozenset({"name", "worker"})
#: Choice ids of a crisis check question's buttons: "yes:<class>" / "no:<class>".
CRISIS_CHECK_TOKEN = "_crisis"
#: State variable naming the class of a check question still open (typed "ja"/"nee" answers it).
OPEN_CHECK = "_crisis_check"
#: "/start inspreken" typed as text (Matrix and the console have no command entities).
COMMAND_TEXT = re.compile(r"^/([a-zA-Z_]{1,32})(?:@\w+)?(?:\s+(.{0,200}))?$", re.DOTALL)


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


_SPACES = re.compile(r"\s+")
_Question = TypeVar("_Question", ChooseStep, AskStep)


def normalise(text: str) -> str:
    """Lowercase, no diacritics, single spaces, no surrounding punctuation."""
    text = text.strip().lower()
    if not text.isascii():  # ASCII has nothing to decompose and no combining marks
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _SPACES.sub(" ", text)
    return text.strip(" .!,;:'\"")


#: A typed number (an option, a count of weeks) has at most this many digits; it also keeps
#: int() far from Python's limit on the digits it converts (4,300), which raises ValueError.
TYPED_DIGITS = 4


def typed_number(text: str) -> int | None:
    """A typed option number ("2", also "٢") or small count, or None.

    Decimal digits only: `str.isdigit()` also accepts "፩" and "²", which int() refuses
    with a ValueError that escaped the turn; int() reads every decimal digit.
    """
    if text.isdecimal() and len(text) <= TYPED_DIGITS:
        return int(text)
    return None


def text_bounds(step: AskStep) -> tuple[int, int]:
    """Shortest and longest free-text answer a question takes."""
    return (int(step.min) if step.min is not None else 1, int(step.max) if step.max is not None else 1000)


def _shown_number(value: float | None) -> float | int | None:
    """A bound as users read it: 120, not 120.0 (YAML `max: 120` arrives as a float)."""
    return int(value) if value is not None and float(value).is_integer() else value


# ====================================================================== entry


def handle(fs: FlowSet, state: State | None, event: Event, ctx: TurnContext) -> Turn:
    """Run one event. Never raises for user input; a broken flow yields an apology.

    Only the engine's own errors (`TurnError`: a loop, an expression or render over budget)
    and a template that fails are answered here. Anything else (a `KeyError`, a `TypeError`)
    is a bug in the code: it is raised, so a test fails on it and the core logs it as a bug,
    instead of hiding it as an apology and a restart.
    """
    state = state.copy() if state is not None else None  # the caller's state is never changed
    run = _Run(fs, ctx)
    error = None
    try:
        run.dispatch(state, event)
    except (TurnError, TemplateError) as exc:
        where = f"{state.flow}.{state.step}" if state else "new conversation"
        error = f"{type(exc).__name__} at {where}"
        run.out.clear()
        run.say_key("sys.error")
        run.state = None
        run.begin(fs.entry_flow, fresh=True, lang=state.lang if state else None)
    if not any(isinstance(a, Send | Edit) for a in run.out) and not isinstance(event, Timer):
        run.say_key("sys.help")
    return Turn(run.state, run.out, run.stats, error, run.lang, stale=run.stale_press and error is None)


class _Run:
    """One turn's working memory: the state being changed and the actions so far."""

    def __init__(self, fs: FlowSet, ctx: TurnContext) -> None:
        self.fs = fs
        self.ctx = ctx
        self.state: State | None = None
        self.out: list[Action] = []
        self.stats: list[str] = []
        #: the language of a conversation that ended in this turn
        self.spoken: str | None = None
        #: a story kept as the answer to a `protect: letter` question during a crisis (see keep_answer)
        self.kept_letter_text: tuple[AskStep, str] | None = None
        #: this turn answered a press of an old button (see Turn.stale)
        self.stale_press = False

    # ------------------------------------------------------------ language
    @property
    def lang(self) -> str:
        if self.state:
            return self.state.lang
        return self.spoken or self._pick_lang(None)

    def end_conversation(self) -> None:
        """Drop the state; whatever this turn still says stays in the user's language."""
        assert self.state is not None
        self.spoken = self.state.lang
        self.state = None

    def _pick_lang(self, wanted: str | None) -> str:
        return self.fs.locales.pick(wanted, self.ctx.lang_hint, self.ctx.default_lang)

    # ------------------------------------------------------------ rendering
    def variables(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.state.vars) if self.state else {}
        data["today"] = self.ctx.today.isoformat()
        data["now"] = self.ctx.now.isoformat(timespec="minutes")
        data["lang"] = self.lang
        data["desk_available"] = self.ctx.desk_available  # after the flow's own: a flow cannot fake it
        return data

    def text(self, key: str, **extra: Any) -> str:
        return self.text_in(self.lang, key, **extra)

    def text_in(self, lang: str, key: str, **extra: Any) -> str:
        if not extra:
            constant = self.fs.locales.constant(lang, key)
            if constant is not None:  # plain text: no variables to gather
                return constant
        variables = self.variables()
        variables.update(extra)
        return self.fs.render(lang, key, variables)

    @property
    def desk_lang(self) -> str:
        """The language a report is written in: the desk's, else the default, else the user's."""
        for candidate in (self.ctx.desk_lang, self.ctx.default_lang):
            if candidate and candidate in self.fs.locales.languages:
                return candidate
        return self.lang

    def say_key(self, key: str, **extra: Any) -> None:
        self.out.append(Send(self.text(key, **extra)))

    def buttons(self, pairs: list[tuple[str, str]]) -> tuple[ChoiceButton, ...]:
        return tuple(ChoiceButton(cid, self.text(key)) for cid, key in pairs)

    # ------------------------------------------------------------ dispatch
    def dispatch(self, state: State | None, event: Event) -> None:
        if state is not None and self.fs.step(state.flow, state.step) is None:
            self.state = state
            self.recover_lost_step(event)
            return
        self.state = state
        if isinstance(event, Command):
            self.on_command(event.name.lower().lstrip("/"), event.args.strip())
        elif isinstance(event, Text):
            self.on_text(event.text)
        elif isinstance(event, Choice):
            self.on_choice(event.choice_id, event.step_token)
        elif isinstance(event, Unsupported):
            self.say_key("sys.unsupported")
            self.reshow_or_begin()
        elif isinstance(event, Timer):
            self.on_timer(event.name, event.values)

    def reshow_or_begin(self) -> None:
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True)
        else:
            self.reshow()

    # ------------------------------------------------------------ commands
    def on_command(self, name: str, args: str) -> None:
        meaning = COMMANDS.get(name)
        if meaning is None:
            self.say_key("sys.unknown_command")
            self.reshow_or_begin()
        elif meaning == "start":
            flow = self.fs.deeplinks.get(args.lower(), self.fs.entry_flow) if args else self.fs.entry_flow
            self.begin(flow, fresh=True, lang=self.state.lang if self.state else None)
        else:
            self.interrupt(meaning, args)

    def interrupt(self, meaning: str, args: str = "") -> None:
        if meaning.startswith("language:"):
            meaning, args = "language", meaning.split(":", 1)[1]
        if meaning == "restart":
            self.begin(self.fs.entry_flow, fresh=True, lang=self.state.lang if self.state else None)
        elif meaning == "help":
            self.say_key("sys.help")
            self.reshow_or_begin()
        elif meaning == "back":
            self.go_back()
        elif meaning == "language":
            self.change_language(args)
        elif meaning == "forget":
            if self.state is None:
                self.out.append(ForgetUser())
                self.say_key("sys.forgotten")
                return
            self.state.pending = "forget"
            self.ask_pending()
        elif meaning == "mydata":
            self.out.append(ExportData())
            if self.state is not None:
                self.reshow()
        elif meaning == "resume":  # e.g. after a talk with a person: the question the user was at
            self.reshow_or_begin()
        elif meaning == "person":
            if self.state is None:
                self.begin(self.fs.entry_flow, fresh=True, quiet=True)
            assert self.state is not None
            self.say_key("sys.handoff")  # before the HandOff: the desk's answer to it comes after
            self.out.append(HandOff(urgent=bool(self.state.vars.get("_crisis"))))

    def change_language(self, wanted: str) -> None:
        langs = self.fs.locales.languages
        code = wanted.lower()[:2] if wanted else ""
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, lang=code if code in langs else None, quiet=True)
        assert self.state is not None
        if code in langs:
            self.state.lang = code
            self.state.pending = None
            self.say_key("sys.language_set")
            self.reshow()
        else:
            self.state.pending = "language"
            self.ask_pending()

    def go_back(self) -> None:
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True)
            return
        if self.state.pending == "date":  # "back" at "Ik lees: ... Klopt dat?": type the date again
            self.state.pending, self.state.offer = None, []
            self.reshow()
            return
        self.state.pending = None
        self.state.fails = 0
        while self.state.history:
            flow, step, stack, answers = self.state.history.pop()
            if self.fs.step(flow, step) is not None:
                self.state.flow, self.state.step, self.state.stack = flow, step, list(stack)
                if answers is not None:
                    # undo what was answered since (an option's `set` too), keep the engine's own flags
                    flags = {k: v for k, v in self.state.vars.items() if k.startswith("_")}
                    self.state.vars = {**answers, **flags}
                self.reshow()
                return
        self.say_key("sys.back_none")
        self.reshow()

    # ------------------------------------------------------------ text
    def on_text(self, raw: str) -> None:
        command = COMMAND_TEXT.match(raw.strip())
        if command:
            self.on_command(command.group(1).lower(), command.group(2) or "")
            return
        if len(raw) > MAX_INPUT:
            # a crisis at the start of a long paste is still seen; the paste cannot be an answer
            if not self.check_crisis(raw[:MAX_INPUT], keep=False, notice=("sys.too_long", MAX_INPUT)):
                self.say_key("sys.too_long", limit=MAX_INPUT)
                self.reshow_or_begin()
            return
        if self.answer_open_check(raw):
            return
        keyword = KEYWORDS.get(normalise(raw))
        if normalise(raw) in HELP_WORDS and self.offers_help():
            self.choose(self.current(ChooseStep), "help")  # "help" at "are you safe?" asks for help
            return
        picking = self.state is not None and self.state.pending == "pick" and bool(self.state.offer)
        if keyword and picking and self.match_offer(raw) is None:
            # "terug" at "did you mean ...?" goes back to the question it answers, not past it
            if keyword == "back":
                assert self.state is not None
                self.state.offer, self.state.pending = [], None
                self.reshow()
            else:
                self.interrupt(keyword)
            return
        if keyword and not picking:
            self.interrupt(keyword)
            return
        option_id = self.typed_label(raw)
        if option_id is not None:
            self.choose(self.current(ChooseStep), option_id)
            return
        if self.check_crisis(raw):
            return
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True)
            return
        pending = self.state.pending
        if pending in ("forget", "language", "way_out", "recover"):
            picked = self.match_buttons(raw, self.pending_buttons())
            if picked is not None:
                self.on_choice(picked, self.pending_token())
            else:
                self.say_key("sys.invalid.choice")
                self.ask_pending()
            return
        if pending == "pick" and self.state.offer:
            picked = self.match_offer(raw)
            if picked is not None:
                self.on_choice(picked, self.state.step)
                return
        if pending == "date" and self.state.offer:
            self.on_date_text(raw)
            return
        match self.current_step():
            case ChooseStep() as step:
                option_id = self.match_buttons(raw, [(o.id, o.label) for o in step.options])
                if option_id is None:
                    self.fail("sys.invalid.choice")
                else:
                    self.choose(step, option_id)
            case AskStep() as step:
                self.answer(step, raw)
            case _:
                pass  # the position always waits at a question

    def offers_help(self) -> bool:
        """Does the question the user is at have its own `help` option (a check-in's "are you safe?")?"""
        state = self.state
        if state is None or state.pending:
            return False
        step = self.fs.step(state.flow, state.step)
        return isinstance(step, ChooseStep) and any(o.id == "help" for o in step.options)

    def typed_label(self, raw: str) -> str | None:
        """The option whose whole label was typed at a choice step: it wins over the crisis check.

        A professional who types the menu's "Ik ben bedreigd of aangevallen"
        chose the safety route, like pressing it; the crisis check would read "bedreigd" and
        give the generic reply instead. Only the full label counts (as match_buttons
        normalises it): part of a label, or a sentence that merely contains crisis words
        ("ik wil dood"), still gets the crisis answer first.
        """
        state = self.state
        if state is None or state.pending:
            return None
        step = self.fs.step(state.flow, state.step)
        if not isinstance(step, ChooseStep):
            return None
        text = normalise(raw)
        labels = self.normalised_labels([(o.id, o.label) for o in step.options])
        return next((cid for cid, label in labels if label == text), None)

    def normalised_labels(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(cid, normalise(self.text(key))) for cid, key in pairs]

    def check_crisis(self, raw: str, *, keep: bool = True, notice: tuple[str, int] | None = None) -> bool:
        """Rules and model on a typed text: the crisis answer (sure), a check question (unsure), or go on.

        A free-text answer that trips the check is kept: it is stored as the answer to the
        question and the flow goes on after the crisis lines, so nobody has to type their
        story twice. `keep=False` (a paste over the length limit) only answers the crisis;
        `notice` is then said before the question is asked again.
        """
        detector = self.fs.crisis
        if detector is None:
            return False
        found = detector.assess(raw)
        if found is None:
            return False
        in_safety = self.state is not None and (
            self.state.flow == self.fs.safety_flow
            or any(f == self.fs.safety_flow for f, _ in self.state.stack)
        )
        if found.quiet_in_safety_flow and in_safety:
            # Already in the safety flow: describing the threat IS the answer, not a new crisis
            # (every `then: safety` class, and those marked quiet_in_safety_flow in crisis.yaml).
            return False
        kept = keep and self.keep_answer(raw)
        if not found.sure and found.check is not None:
            self.ask_crisis_check(found, kept=kept, notice=notice)
        else:
            self.give_crisis(found, kept=kept, notice=notice)
        return True

    def keep_answer(self, raw: str) -> bool:
        """Store a typed answer to the free-text question the user is at, without showing what follows."""
        state = self.state
        if state is None or state.pending:
            return False
        step = self.fs.step(state.flow, state.step)
        if not isinstance(step, AskStep) or step.type != "text" or step.next is None:
            return False
        if step.protect == "public":  # it would go to the public: it is checked and asked again as before
            return False
        text = raw.strip()
        low, high = text_bounds(step)
        if high < KEEP_STORY_FROM or not low <= len(text) <= high:
            return False
        if step.protect == "letter":
            self.kept_letter_text = (step, text)  # its warning about names comes after the crisis lines
        self.remember()
        state.vars[step.save] = text
        state.fails = 0
        state.offer = []
        self.goto(state.flow, step.next)
        return True

    def give_crisis(self, found: CrisisMatch, *, kept: bool = False, notice: tuple[str, int] | None = None) -> None:
        """The crisis answer first, then where the user was (or the next step after a kept answer)."""
        self.stats.append(f"crisis:{found.crisis_class}")
        self.say_key(found.reply)
        if self.state is not None:
            self.state.vars["_crisis"] = True
        if found.then == "safety" and self.fs.safety_flow in self.fs.flows:
            if self.state is None:
                self.begin(self.fs.safety_flow, fresh=True)
            else:
                if not kept:
                    self.remember()
                self.state.pending = None
                self.enter(self.fs.safety_flow, self.fs.flows[self.fs.safety_flow].start,
                           return_to=(self.state.flow, self.state.step))
                self.run()
        else:
            if notice is not None:
                self.say_key(notice[0], limit=notice[1])
            self.go_on(kept)
        if self.state is not None:
            self.state.vars["_crisis"] = True  # also when this message started the conversation

    def go_on(self, kept: bool) -> None:
        """After a crisis answer or check: the next step after a kept answer, else the same question."""
        if kept:
            self.warn_kept_letter_text()
            self.run()
        else:
            self.reshow_or_begin()

    def ask_crisis_check(self, found: CrisisMatch, *, kept: bool, notice: tuple[str, int] | None) -> None:
        """Not sure: ask directly, naming the help line, with yes/no. The flow waits for nothing.

        After a kept answer the check question comes first and the flow's next question
        last: the conversation goes on as typed, and the check's buttons stay valid. Without
        a kept answer the check question is the one asked, and a typed "ja"/"nee" answers it.
        """
        assert found.check is not None
        self.stats.append(f"crisis_check:{found.crisis_class}")
        if notice is not None:
            self.say_key(notice[0], limit=notice[1])
        if not kept and self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, quiet=True)
        name = found.crisis_class
        buttons = (ChoiceButton(f"yes:{name}", self.text("sys.yes")), ChoiceButton(f"no:{name}", self.text("sys.no")))
        self.out.append(Send(self.text(found.check), buttons, token=CRISIS_CHECK_TOKEN))
        if kept:
            self.warn_kept_letter_text()
            self.run()
        elif self.state is not None:
            self.state.vars[OPEN_CHECK] = name

    def warn_kept_letter_text(self) -> None:
        """A kept answer for a letter still gets the warning about names that `protect: letter` gives."""
        if self.kept_letter_text is not None:
            step, text = self.kept_letter_text
            self.kept_letter_text = None
            self.protect(step, text)

    def answer_open_check(self, raw: str) -> bool:
        """A typed "ja"/"nee" right after a check question answers it; anything else closes it."""
        state = self.state
        if state is None or OPEN_CHECK not in state.vars:
            return False
        name = str(state.vars.pop(OPEN_CHECK))
        word = normalise(raw)
        if word in YES or word in NO:
            self.on_crisis_check(("yes:" if word in YES else "no:") + name)
            return True
        return False

    def on_crisis_check(self, choice_id: str) -> None:
        """Yes: the crisis answer of that class. No: a short kind word and on where the user was."""
        answer, _, name = choice_id.partition(":")
        if self.state is not None:
            self.state.vars.pop(OPEN_CHECK, None)
        detector = self.fs.crisis
        found = detector.confirmed(name) if detector is not None else None
        if answer == "yes" and found is not None:
            self.give_crisis(found)
            return
        if detector is not None and detector.check_no is not None:
            self.say_key(detector.check_no)
        self.reshow_or_begin()

    def match_buttons(self, raw: str, pairs: list[tuple[str, str]]) -> str | None:
        """A typed answer to a question with buttons: its number, id or (part of) its label."""
        text = normalise(raw)
        if not text:
            return None
        number = typed_number(text)
        if number is not None:
            index = number - 1
            return pairs[index][0] if 0 <= index < len(pairs) else None
        labels = self.normalised_labels(pairs)
        for cid, label in labels:
            if text in (label, cid):
                return cid
        if text in YES or text in NO:
            wanted = YES if text in YES else NO
            hits = [cid for cid, label in labels if label in wanted or (cid in ("yes", "no") and
                    (cid == "yes") == (wanted is YES))]
            if len(hits) == 1:
                return hits[0]
        if len(text) >= 3:
            starts = [cid for cid, label in labels if label.startswith(text)]
            if len(starts) == 1:
                return starts[0]
            words = [cid for cid, label in labels if re.search(rf"\b{re.escape(text)}\b", label)]
            if len(words) == 1:
                return words[0]
        return None

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

    # ------------------------------------------------------------ choices
    def on_choice(self, choice_id: str, token: str) -> None:
        if token in SYSTEM_TOKENS:
            self.on_system_choice(token, choice_id)
            return
        if self.state is not None:
            self.state.vars.pop(OPEN_CHECK, None)  # answered the flow instead: the check is closed
        if self.state is None:
            self.say_key("sys.expired")
            self.begin(self.fs.entry_flow, fresh=True)
            return
        step = self.current_step()
        if token != self.state.step or self.state.pending not in (None, "pick", "date"):
            self.stale()
            return
        if self.state.pending == "date" and self.state.offer:
            self.on_date_choice(self.current(AskStep), choice_id)
            return
        if isinstance(step, ChooseStep):
            if not any(o.id == choice_id for o in step.options):
                self.stale()
                return
            self.choose(step, choice_id, via_button=True)
        elif not isinstance(step, AskStep):
            self.stale()
        elif step.type == "yesno" and choice_id in ("yes", "no"):
            self.accept(step, choice_id == "yes", via_button=True)
        elif step.protect == "public" and choice_id in ("again", "keep", "own_case"):
            self.on_public_choice(step, choice_id, via_button=True)
        elif step.type == "municipality" and self.state.offer:
            offered = typed_number(choice_id[1:]) if choice_id.startswith("c") else None
            if offered is not None and offered < len(self.state.offer):
                self.accept(step, self.state.offer[offered], via_button=True)
            elif choice_id == "none":
                self.state.offer = []
                self.state.pending = None
                self.reshow()
            else:
                self.stale()
        else:
            self.stale()

    def stale(self) -> None:
        self.stale_press = True
        self.say_key("sys.stale")
        self.reshow()

    def on_system_choice(self, token: str, choice_id: str) -> None:
        if token == CRISIS_CHECK_TOKEN:  # valid whenever it is pressed: "yes" to "are you safe?" always counts
            self.on_crisis_check(choice_id)
            return
        state = self.state
        expected = {"_lang": "language", "_forget": "forget", "_way": "way_out", "_recover": "recover"}[token]
        way_out_shown = state is not None and state.fails >= WAY_OUT_AFTER
        if state is None or (state.pending != expected and not (token == "_way" and way_out_shown)):
            if state is None:
                self.say_key("sys.expired")
                self.begin(self.fs.entry_flow, fresh=True)
            else:
                self.stale()
            return
        state.pending = None
        if token == "_lang":
            self.change_language(choice_id)
        elif token == "_forget":
            if choice_id == "yes":
                self.out.append(ForgetUser())
                self.stats.append(f"forget:{state.started}")
                self.say_key("sys.forgotten")
                self.end_conversation()
            else:
                self.say_key("sys.forget_cancelled")
                self.reshow()
        elif token == "_way":
            state.fails = 0
            if choice_id == "back":
                self.go_back()
            elif choice_id == "restart":
                self.begin(self.fs.entry_flow, fresh=True, lang=state.lang)
            elif choice_id == "person":
                self.interrupt("person")
                self.reshow()
            else:
                self.reshow()
        elif token == "_recover":
            if choice_id == "again":
                self.restart_lost_flow()
            else:  # "menu", or a button from before these ids (it named a flow): the beginning
                self.begin(self.fs.entry_flow, fresh=True, lang=state.lang)

    def restart_lost_flow(self) -> None:
        """Start the part whose step disappeared afresh, as the same call it was.

        The lost part is the flow the user stands in: the step that was deleted or renamed is
        in it, or a call returned into it at a step that is gone. With callers on the stack it
        restarts as a call from them, so its end goes back where the caller goes on (the
        caller's answers stay); what it and the flows it calls save is forgotten first, so an
        answer from the first try (an option's `set`, like months of an appeal) cannot mix
        into the second. A part without callers starts a fresh conversation; a flow that is
        gone altogether starts at the beginning.
        """
        state = self.state
        assert state is not None
        flow = state.flow
        if flow not in self.fs.flows or not state.stack:
            self.begin(flow if flow in self.fs.flows else self.fs.entry_flow, fresh=True, lang=state.lang)
            return
        forgotten = variables_set({name: self.fs.flows[name] for name in self.called_from(flow)})
        state.vars = {k: v for k, v in state.vars.items() if k not in forgotten}
        state.fails, state.offer, state.version = 0, [], self.fs.version
        return_to = state.stack.pop()  # enter() puts it back and counts the start
        self.enter(flow, self.fs.flows[flow].start, return_to=return_to)
        self.run()

    def called_from(self, flow: str) -> set[str]:
        """`flow` and every flow it calls, directly or through others."""
        found: set[str] = set()
        todo = [flow]
        while todo:
            name = todo.pop()
            if name in found or name not in self.fs.flows:
                continue
            found.add(name)
            todo += [step.call for step in self.fs.flows[name].steps.values() if isinstance(step, CallStep)]
        return found

    # ------------------------------------------------------------ answering
    def choose(self, step: ChooseStep, option_id: str, via_button: bool = False) -> None:
        assert self.state is not None
        option = next(o for o in step.options if o.id == option_id)
        self.remember()
        self.state.vars.update(option.set)
        self.state.fails = 0
        self.goto(self.state.flow, option.next)
        self.run(replace_question=via_button)

    def answer(self, step: AskStep, raw: str) -> None:
        assert self.state is not None
        value: Any
        kind = step.type
        text = raw.strip()
        if kind == "text":
            low, high = text_bounds(step)
            if step.protect == "public" and self.public_button(step, text):
                return
            if not low <= len(text) <= high:
                self.fail(step.invalid or "sys.invalid.text", min=low, max=high)
                return
            if step.protect and self.protect(step, text):
                return
            value = text
        elif kind == "number":
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                self.fail(step.invalid or "sys.invalid.number")
                return
            if not math.isfinite(value):  # float() also reads "nan" and "inf"
                self.fail(step.invalid or "sys.invalid.number")
                return
            if value.is_integer():
                value = int(value)
            if (step.min is not None and value < step.min) or (step.max is not None and value > step.max):
                key = ("sys.invalid.number_range" if step.min is not None and step.max is not None
                       else "sys.invalid.number_min" if step.min is not None else "sys.invalid.number_max")
                self.fail(step.invalid or key, min=_shown_number(step.min), max=_shown_number(step.max))
                return
        elif kind == "yesno":
            word = normalise(text)
            if word in YES or word == "1":
                value = True
            elif word in NO or word == "2":
                value = False
            else:
                self.fail(step.invalid or "sys.invalid.yesno")
                return
        elif kind == "date":
            self.answer_date(step, text)
            return
        elif kind == "municipality":
            self.answer_municipality(step, text)
            return
        else:  # pragma: no cover - the schema allows no other type
            raise FlowError(f"unknown ask type {kind}")
        self.accept(step, value)

    # ------------------------------------------------------------ texts that protect people
    def protect(self, step: AskStep, text: str) -> bool:
        """Check a typed text for people's names and details; True when it was sent back.

        `public`: the text goes into something the public may read (a letter to the
        council), so anything found stops it, with why and how to write it as policy.
        `letter`: a complaint letter, where the organisation must know the case but not
        a worker's name: a warning, and the answer is kept.
        """
        assert self.state is not None
        findings = find_personal(text, self.fs.known_words())
        if step.protect == "letter":
            named = [f for f in findings if f.kind in LETTER_WARNS]
            if named:
                self.say_key("public_text.letter_warning", items=self.finding_lines(named))
            return False
        if not findings:
            return False
        personal = names_people(findings)
        # only a text that names nobody may be used as it is, so only that one is kept
        self.state.vars[PUBLIC_DRAFT] = None if personal else text
        own_case = any(f.kind == "own_case" for f in findings)
        self.out.append(Send(
            self.text("public_text.found", items=self.finding_lines(findings), personal=personal,
                      own_case=own_case, route=bool(step.own_case)),
            self.buttons(self.public_buttons(step)), token=self.state.step))
        return True

    def finding_lines(self, findings: list[Finding] | tuple[Finding, ...]) -> str:
        """At most three findings, each cut short: enough to find them again, and the message fits a phone."""
        return "\n".join(self.text(f"public_text.kind.{f.kind}", text=f.text if len(f.text) <= 45 else f.text[:44] + "…")
                         for f in findings[:3])

    def public_buttons(self, step: AskStep) -> list[tuple[str, str]]:
        assert self.state is not None
        pairs = [("again", "public_text.again")]
        if self.state.vars.get(PUBLIC_DRAFT):
            pairs.append(("keep", "public_text.keep"))
        if step.own_case:
            pairs.append(("own_case", "public_text.own_case"))
        return pairs

    def public_button(self, step: AskStep, text: str) -> bool:
        """A button of the "this text names people" question typed instead of pressed (Matrix, console)."""
        assert self.state is not None
        if PUBLIC_DRAFT not in self.state.vars:
            return False
        typed = normalise(text)
        pairs = self.public_buttons(step)
        labels = self.normalised_labels(pairs)
        picked = next((cid for cid, label in labels if typed == label), None)
        if typed.isdigit() and 0 < int(typed) <= len(pairs):
            picked = pairs[int(typed) - 1][0]
        if picked is None:
            return False
        self.on_public_choice(step, picked)
        return True

    def on_public_choice(self, step: AskStep, choice_id: str, via_button: bool = False) -> None:
        assert self.state is not None
        if PUBLIC_DRAFT not in self.state.vars:
            self.stale()
            return
        draft = self.state.vars.pop(PUBLIC_DRAFT)
        if choice_id == "keep" and draft:
            self.accept(step, draft, via_button=via_button)
        elif choice_id == "own_case" and step.own_case:
            self.say_key("public_text.to_own_case")
            self.enter(step.own_case, self.fs.flows[step.own_case].start, return_to=(self.state.flow, self.state.step))
            self.run()
        else:
            self.say_key("public_text.type_again")
            self.reshow()

    def answer_date(self, step: AskStep, text: str) -> None:
        """A date is used only after the user saw it in words (docs/FLOWS.md, "Dates").

        One reading: "Ik lees: 9 oktober 2026. Klopt dat?" with Ja/Nee. Two readings of
        an ambiguous number (English "09/10/2026"): one button per reading. A reading
        that cannot be meant (a future date where the past is asked) is dropped first.
        """
        assert self.state is not None
        today = self.ctx.today
        read = read_dates(text, today, self.lang)
        if not read:
            self.fail(step.invalid or "sys.invalid.date")
            return
        fitting = [d for d in read if not ((step.when == "past" and d > today)
                                           or (step.when == "future" and d < today))]
        if not fitting:
            self.fail("sys.invalid.date_future" if step.when == "past" else "sys.invalid.date_past")
            return
        if step.confirm is False and len(fitting) == 1:
            self.accept(step, fitting[0].isoformat())
            return
        self.state.offer = [d.isoformat() for d in fitting]
        self.state.pending = "date"
        self.state.fails = 0
        self.out.append(self.date_question())

    def date_question(self) -> Send:
        """The echo of a date as read, or the two readings of an ambiguous one."""
        assert self.state is not None
        shown = [format_date(d, self.lang, self.fs.locales.month_names(self.lang)) for d in self.state.offer]
        if len(shown) == 1:
            return Send(self.text("sys.date.confirm", read=shown[0]),
                        self.buttons([("yes", "sys.yes"), ("no", "sys.no")]), token=self.state.step)
        return Send(self.text("sys.date.which", read=shown[0], other=shown[1]),
                    tuple(ChoiceButton(f"d{i}", label) for i, label in enumerate(shown)), token=self.state.step)

    def date_buttons(self) -> list[tuple[str, str]]:
        """(id, label) of the date question's buttons, for typed answers."""
        assert self.state is not None
        if len(self.state.offer) == 1:
            return [("yes", self.text("sys.yes")), ("no", self.text("sys.no"))]
        return [(f"d{i}", format_date(d, self.lang, self.fs.locales.month_names(self.lang)))
                for i, d in enumerate(self.state.offer)]

    def on_date_choice(self, step: AskStep, choice_id: str) -> None:
        assert self.state is not None
        offer = self.state.offer
        if choice_id == "yes" and len(offer) == 1:
            self.accept(step, offer[0])
        elif choice_id.startswith("d") and choice_id[1:].isdigit() and int(choice_id[1:]) < len(offer):
            self.accept(step, offer[int(choice_id[1:])])
        elif choice_id == "no":  # read wrong: ask the date again
            self.state.offer, self.state.pending = [], None
            self.reshow()
        else:
            self.stale()

    def on_date_text(self, raw: str) -> None:
        """Typed at the date question: yes/no or a reading, else a corrected date, else ask again."""
        assert self.state is not None
        text = normalise(raw)
        pairs = self.date_buttons()
        picked = None
        if text in YES or text in NO:
            picked = "no" if text in NO else ("yes" if len(self.state.offer) == 1 else None)
        elif text.isdigit():
            index = int(text) - 1
            picked = pairs[index][0] if 0 <= index < len(pairs) else None
        else:
            picked = next((cid for cid, label in pairs if normalise(label) == text), None)
        step = self.current(AskStep)
        if picked is not None:
            self.on_date_choice(step, picked)
        elif read_dates(raw, self.ctx.today, self.lang):  # a correction: read it and echo it again
            self.state.offer, self.state.pending = [], None
            self.answer_date(step, raw.strip())
        else:
            self.say_key("sys.invalid.choice")
            self.out.append(self.date_question())

    def answer_municipality(self, step: AskStep, text: str) -> None:
        assert self.state is not None
        matcher = self.fs.municipalities
        if matcher is None:
            self.accept(step, text[:80])
            return
        found = matcher.match(text)
        if found.kind in ("exact", "alias") and found.name:
            if found.note_key:
                self.say_key(found.note_key, name=found.name, typed=found.typed)
            self.accept(step, found.name)
            return
        candidates = list(found.candidates)[:5]
        if not candidates:
            self.fail(step.invalid or "sys.invalid.municipality")
            return
        self.state.offer = candidates
        self.state.pending = "pick"
        if found.split_note:  # "Haaren was split in 2021 ...": why we ask, before the question
            self.out.append(Send(found.split_note.get(self.lang) or next(iter(found.split_note.values()))))
        if found.kind != "ambiguous":
            key = "sys.did_you_mean"
        elif found.detail.place and not found.split_note:
            key = "sys.municipality_place_ambiguous"
        else:
            key = "sys.municipality_ambiguous"
        self.out.append(Send(self.text(key, typed=found.typed), self.offer_buttons(), token=self.state.step))

    def offer_buttons(self) -> tuple[ChoiceButton, ...]:
        assert self.state is not None
        label = getattr(self.fs.municipalities, "label", None)  # "Hengelo (Overijssel)": a province apart
        buttons = [ChoiceButton(f"c{i}", label(name) if label else name) for i, name in enumerate(self.state.offer)]
        buttons.append(ChoiceButton("none", self.text("sys.none_of_these")))
        return tuple(buttons)

    def accept(self, step: AskStep, value: Any, via_button: bool = False) -> None:
        assert self.state is not None
        if step.next is None:
            raise FlowError(f"step {self.state.flow}.{self.state.step} has no next")
        self.remember()
        self.state.vars[step.save] = value
        self.state.vars.pop(PUBLIC_DRAFT, None)
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
            buttons = self.buttons([("back", "sys.way.back"), ("restart", "sys.way.restart"),
                                    ("person", "sys.way.person")])
            self.out.append(Send(self.text(key, **extra) + "\n\n" + self.text("sys.way_out"),
                                 buttons, token="_way"))
            return
        self.say_key(key, **extra)

    # ------------------------------------------------------------ timers
    def on_timer(self, name: str, values: tuple[tuple[str, Any], ...] = ()) -> None:
        """A timer fired: its flow's timer step interrupts, and the user returns afterwards.

        The flow that names the timer is looked for where the user is, then down
        the call stack, then among all flows: a home-visit check-in must still ask
        when the user went back to the menu, or their conversation ended.
        """
        state = self.state
        here = [state.flow, *(f for f, _ in reversed(state.stack))] if state else []
        owners = [f for f in here if f in self.fs.flows and name in self.fs.flows[f].timers]
        if not owners:
            owners = sorted(f for f, flow in self.fs.flows.items() if name in flow.timers)[:1]
        if not owners:
            return
        owner = owners[0]
        target = self.fs.flows[owner].timers[name]
        if state is None:
            self.state = State(flow=owner, step=target, lang=self._pick_lang(None),
                               version=self.fs.version, started=owner)
            self.stats.append(f"start:{owner}")
        else:
            state.pending = None
            self.enter(owner, target, return_to=(state.flow, state.step))
        assert self.state is not None
        for variable, value in values:
            self.state.vars.setdefault(variable, value)
        self.run()

    # ------------------------------------------------------------ moving
    def remember(self) -> None:
        assert self.state is not None
        self.state.history.append(self.state.position())
        del self.state.history[:-HISTORY_LIMIT]

    def goto(self, flow: str, step: str) -> None:
        assert self.state is not None
        self.state.flow, self.state.step = flow, step

    def enter(self, flow: str, step: str, *, return_to: tuple[str, str]) -> None:
        """Go into `flow` as a call that comes back to `return_to`: counted as a start of `flow`.

        Every way into a flow (a `call` step, the crisis check's safety flow, a timer) is
        counted, so /stats shows per flow how often it was used, not only the first flow of
        a conversation; its ends are counted in `execute`.
        """
        assert self.state is not None
        self.state.stack.append(return_to)
        self.goto(flow, step)
        self.stats.append(f"start:{flow}")

    def current(self, kind: type[_Question]) -> _Question:
        """The question the user is at, known to be of this kind (a choice, a typed answer)."""
        step = self.current_step()
        if not isinstance(step, kind):
            raise FlowError(f"the step is not a {kind.kind} step")
        return step

    def current_step(self) -> Step:
        assert self.state is not None
        step = self.fs.step(self.state.flow, self.state.step)
        if step is None:
            raise FlowError("position lost")
        return step

    def begin(self, flow: str, *, fresh: bool, lang: str | None = None, quiet: bool = False) -> None:
        lang = self._pick_lang(lang or (self.state.lang if self.state else None))
        target = self.fs.flows[flow]
        self.state = State(flow=flow, step=target.start, lang=lang, version=self.fs.version,
                           started=flow)
        self.stats.append(f"start:{flow}")
        if not quiet:
            self.run()
        else:
            self.settle()

    def settle(self) -> None:
        """Walk to the first waiting step without showing anything (used before an interrupt)."""
        mark = len(self.out)
        self.run()
        del self.out[mark:]

    def run(self, replace_question: bool = False) -> None:
        """Walk non-waiting steps until a question (shown) or the end of the conversation."""
        mark = len(self.out)
        for _ in range(MAX_STEPS_PER_TURN):
            if self.state is None or self.state.pending == "recover":
                return
            step = self.current_step()
            if isinstance(step, ChooseStep | AskStep):
                self.out.append(self.question(step))
                if replace_question and len(self.out) == mark + 1:
                    q = self.out[mark]
                    assert isinstance(q, Send)
                    self.out[mark] = Edit(q.text, q.choices, q.token)
                return
            self.execute(step)
        raise FlowError("too many steps in one turn (a loop without a question?)")

    def execute(self, step: Step) -> None:
        """Carry out one non-waiting step and move on."""
        state = self.state
        assert state is not None
        nxt = step.next
        match step:
            case SayStep():
                self.say_key(step.say)
            case BranchStep():
                variables = self.variables()
                for case in step.branch:
                    if case.else_ or self.fs.eval(case.if_ or "False", variables):
                        nxt = case.next
                        break
            case ComputeStep():
                for name, source in step.compute.items():
                    state.vars[name] = self.fs.eval(source, self.variables())
            case ShowStep():
                self.show_cards(step)
            case DocumentStep():
                self.send_document(step)
            case ReportStep():
                self.out.append(Forward(self.report(step)))
            case CallStep():
                if nxt is None:
                    raise FlowError(f"step {state.flow}.{state.step} has no next")
                self.enter(step.call, self.fs.flows[step.call].start, return_to=(state.flow, nxt))
                return
            case HandoffStep():
                self.say_key(step.handoff)
                self.out.append(HandOff(urgent=bool(state.vars.get("_crisis"))))
            case ScheduleStep():
                at = self.fs.eval(step.schedule.at, self.variables())
                self.out.append(Schedule(step.schedule.name, str(at)))
            case ForgetStep():
                self.say_key(step.forget)
                self.out.append(ForgetUser())
                self.end_conversation()
                return
            case EndStep():
                self.end_flow(step)
                return
            case ChooseStep() | AskStep():
                raise FlowError(f"step {state.flow}.{state.step} waits for the user")
            case _:
                assert_never(step)
        if nxt is None:
            raise FlowError(f"step {state.flow}.{state.step} has no next")
        self.goto(state.flow, nxt)

    def send_document(self, step: DocumentStep) -> None:
        spec = step.document
        document = self.document(self.lang, spec.template, spec.title, spec.filename)
        intro = self.text(step.text) if step.text else document.title
        self.out.append(Send(intro, document=document))
        if document.mime == DOCX_MIME:  # a file to edit, and the same letter in the chat to copy
            self.out += [Send(part) for part in in_messages(self.text("letters.copy"), document.content)]

    def end_flow(self, step: EndStep) -> None:
        """The end of a flow: back where it was called from, else the end of the conversation."""
        state = self.state
        assert state is not None
        if isinstance(step.end, str):
            self.say_key(step.end)
        self.stats.append(f"end:{state.flow}:{state.flow}.{state.step}")  # also a called flow's end
        if state.stack:
            flow, nxt_step = state.stack.pop()
            self.goto(flow, nxt_step)
            if self.fs.step(flow, nxt_step) is None:
                # a reload removed where this call returns to: say so, offer a fresh start
                state.pending = "recover"
                self.ask_pending()
        else:
            self.end_conversation()

    def show_cards(self, step: ShowStep) -> None:
        """The introduction, then each directory card as a message of its own, each card once per journey.

        One message per card keeps every message short enough to read on a phone; a card
        this conversation already showed is named, not repeated (`_cards` remembers them,
        and is forgotten with the journey, like every variable).
        """
        state = self.state
        assert state is not None
        if step.text:
            self.out.append(Send(self.text(step.text)))
        shown: list[str] = state.vars.setdefault(SHOWN_CARDS, [])
        again: list[str] = []
        for entry in step.show:
            if entry in shown:
                again.append(self.fs.directory_views[self.lang][entry]["name"])
                continue
            shown.append(entry)
            self.out.append(Send(self.fs.cards[entry][self.lang]))
        if again:
            self.out.append(Send(self.text("sys.cards_seen", names=", ".join(again))))

    # ------------------------------------------------------------ building messages
    def question(self, step: ChooseStep | AskStep) -> Send:
        assert self.state is not None
        if isinstance(step, ChooseStep):
            return Send(self.text(step.choose),
                        self.buttons([(o.id, o.label) for o in step.options]),
                        token=self.state.step)
        choices: tuple[ChoiceButton, ...] = ()
        if step.type == "yesno":
            choices = self.buttons([("yes", "sys.yes"), ("no", "sys.no")])
        return Send(self.text(step.ask), choices, token=self.state.step)

    def reshow(self) -> None:
        if self.state is None:
            return
        if self.state.pending in ("forget", "language", "recover"):
            self.ask_pending()
            return
        if self.state.pending == "pick" and self.state.offer:
            self.out.append(Send(self.text("sys.did_you_mean"), self.offer_buttons(), token=self.state.step))
            return
        if self.state.pending == "date" and self.state.offer:
            self.out.append(self.date_question())
            return
        step = self.current_step()
        if isinstance(step, ChooseStep | AskStep):
            self.out.append(self.question(step))

    def pending_token(self) -> str:
        assert self.state is not None
        return {"forget": "_forget", "language": "_lang", "recover": "_recover",
                "way_out": "_way"}.get(self.state.pending or "", "")

    def pending_buttons(self) -> list[tuple[str, str]]:
        assert self.state is not None
        if self.state.pending == "forget":
            return [("yes", "sys.forget_yes"), ("no", "sys.forget_no")]
        if self.state.pending == "language":
            return [(lang, f"sys.language_name.{lang}") for lang in self.fs.locales.languages]
        if self.state.pending == "recover":  # "again": restart_lost_flow; "menu": the entry flow
            return [("again", "sys.recover.restart"), ("menu", "sys.recover.menu")]
        return [("back", "sys.way.back"), ("restart", "sys.way.restart"), ("person", "sys.way.person")]

    def ask_pending(self) -> None:
        assert self.state is not None
        key = {"forget": "sys.forget_confirm", "language": "sys.language_question",
               "recover": "sys.flow_changed"}[self.state.pending or "forget"]
        self.out.append(Send(self.text(key), self.buttons(self.pending_buttons()),
                             token=self.pending_token()))

    def recover_lost_step(self, event: Event) -> None:
        """The flows changed under this conversation: say so and offer a fresh start."""
        assert self.state is not None
        state = self.state
        if isinstance(event, Command) and COMMANDS.get(event.name.lower().lstrip("/")) in ("start", "restart"):
            self.state = None
            self.dispatch(None, event)
            return
        if isinstance(event, Choice) and event.step_token == "_recover" and state.pending == "recover":
            self.on_system_choice("_recover", event.choice_id)
            return
        if isinstance(event, Text) and state.pending == "recover":
            picked = self.match_buttons(event.text, self.pending_buttons())
            if picked is not None:
                self.on_system_choice("_recover", picked)
                return
        state.pending = "recover"
        state.stack = [(f, s) for f, s in state.stack if self.fs.step(f, s) is not None]
        self.ask_pending()

    def document(self, lang: str, template: str, title_key: str, filename: str) -> Document:
        return Document(filename=filename, title=self.text_in(lang, title_key),
                        content=self.text_in(lang, template) + "\n", mime=mime_for(filename))

    def report(self, step: ReportStep) -> Report:
        """The report as the desk reads it: in the desk's language, not the user's.

        Labels and values (`t(...)`, `| date`) are rendered here because only the
        engine has the answers; the desk gets finished text in its own language.
        """
        spec = step.report
        lang = self.desk_lang
        variables = self.variables()
        fields = tuple(
            (self.text_in(lang, f.label), self.fs.render_source(lang, f.value, variables)) for f in spec.fields
        )
        urgency = str(self.fs.eval(spec.urgency, variables))
        if urgency not in ("low", "normal", "high"):
            urgency = "normal"
        document = None
        if spec.document:
            document = self.document(lang, spec.document.template, spec.document.title, spec.document.filename)
        return Report(kind=spec.kind, title=self.text_in(lang, spec.title), fields=fields,
                      urgency=urgency, document=document)  # type: ignore[arg-type]
