"""The turn builder's ground floor: one turn's working memory, rendering, moving, walking a flow.

Everything above it (steps, system questions, answers, the crisis hook, interrupts, the
event handlers) is a layer that subclasses the one below, so each layer reads only what
lies under it; the few calls that go up (showing a question, running a step) are
declared here and filled in by the layer that owns them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from bot.engine.turn import FlowError, TurnContext
from bot.engine.words import normalise, read_button
from bot.events import Action, ChoiceButton, Edit, LinkPreview, Send
from bot.flows.flowset import FlowSet
from bot.flows.steps import AskStep, BranchStep, ChooseStep, ComputeStep, Option, SayStep, ShowStep, Step
from bot.state import HISTORY_LIMIT, State

if TYPE_CHECKING:
    from bot.crisis import CrisisMatch

#: A document with `change` was just made: [flow, step] where "terug" goes until the next answer.
LETTER_CHANGE = "_letter_change"
#: State variable: [flow, step, text] of an answer the crisis check held, then where its way on was
#: offered (bot/engine/held.py); here because every move on drops it
HELD = "_held"

#: Steps walked in one turn before the engine assumes a loop in the flow.
MAX_STEPS_PER_TURN = 200
#: The most of the words that chose an option a step keeps (`keep_typed`): a platform's name, not a story
KEPT_TYPED = 200
#: Steps that never say anything: `run(until_question=False)` walks only these.
SILENT_STEPS = (ComputeStep, BranchStep)
_Question = TypeVar("_Question", ChooseStep, AskStep)
#: The variable that remembers which "Meer: ..." options this journey used (see `offered`).
READ_MORE = "_read"
#: The variable that remembers which directory cards this journey showed (see `StepRunner.show_cards`).
SHOWN_CARDS = "_cards"
#: {flow: [directory entries]}: the cards a route showed while it runs, forgotten when it ends; a "Meer: ..."
#: option of that route whose cards it already showed is not offered again (see `offered`).
ROUTE_CARDS = "_route_cards"
#: Steps followed from a "Meer: ..." option back to its question (a text, a branch, cards, a branch ...)
_READ_MORE_HOPS = 6


class TurnBase:
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
        #: the crisis check's verdict on a text this turn, by (text, everyday): see `assessed`
        self._assessed: dict[tuple[str, bool], CrisisMatch | None] = {}

    def assessed(self, text: str, *, everyday: bool = True) -> CrisisMatch | None:
        """The crisis check (rules, then the model) on a typed text, run once a turn for one text: an open
        check question, a denial and the crisis hook each ask about the same message (it ran twice)."""
        detector = self.fs.crisis
        if detector is None:
            return None
        if (text, everyday) not in self._assessed:
            self._assessed[text, everyday] = detector.assess(text, everyday=everyday)
        return self._assessed[text, everyday]

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

    def variables(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.state.vars) if self.state else {}
        data.update(self.fs.tables)  # the flows' word tables, read by name, never kept in the state
        data["today"] = self.ctx.today.isoformat()
        data["now"] = self.ctx.now.isoformat(timespec="minutes")
        data["lang"] = self.lang
        data["desk_available"] = self.ctx.desk_available  # after the flow's own: a flow cannot fake it
        data["retention_days"] = self.ctx.retention_days
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

    def reads_more(self, step_id: str, option: Option) -> bool:
        """Does the option only show a text or cards and come back to this question ("Meer: ...")?"""
        return bool(self.more_shown(step_id, option))

    def more_shown(self, step_id: str, option: Option) -> list[SayStep | ShowStep]:
        """The texts and cards a "Meer: ..." option shows before it comes back to this question; [] for
        an option that does not come back, or shows nothing.

        Branches on the way are followed as they would go now: the safety route's "Meer: je werkgever"
        shows a card and comes back through a branch that picks this question again for this incident.
        """
        assert self.state is not None
        target_id, shown = option.next, []
        for _ in range(_READ_MORE_HOPS):
            target = self.fs.step(self.state.flow, target_id)
            if isinstance(target, SayStep | ShowStep) and target.next:
                target_id = target.next
                shown.append(target)
            elif isinstance(target, BranchStep):
                variables = self.variables()
                target_id = next((c.next for c in target.branch
                                  if c.else_ or self.fs.eval(c.if_ or "False", variables)), "")
            else:
                return []
            if target_id == step_id:
                return shown
        return []

    def seen_before(self, step_id: str, option: Option) -> bool:
        """A "Meer: ..." option that only shows cards this route already showed ("Meer: blokkaderecht" after
        the card was read from the menu): pressing it would only say "you saw this above" (the known list, s31).
        A card another route showed earlier is still offered here, where it is named as seen before."""
        assert self.state is not None
        cards = (self.state.vars.get(ROUTE_CARDS) or {}).get(self.state.flow) or []
        if not cards:
            return False
        shown = self.more_shown(step_id, option)
        return bool(shown) and all(isinstance(s, ShowStep) and not s.text and set(s.show) <= set(cards) for s in shown)

    def offered(self, step: ChooseStep) -> list[Option]:
        """The options a question offers now: a "Meer: ..." option already read is left out.

        Why: after "Meer: Jeugdstem" the same question came back with the same button, and
        pressing it again only repeated the text; the person could not see what was left to
        read. When every option has been read, all come back (a question never has no buttons).
        """
        assert self.state is not None
        read, here = self.state.vars.get(READ_MORE, []), self.state.step
        left = [o for o in step.options
                if (f"{self.state.flow}.{o.next}" not in read or not self.reads_more(here, o)) and not self.seen_before(here, o)]
        return left or list(step.options)

    def mark_read(self, step: ChooseStep, option: Option) -> None:
        """Remember a "Meer: ..." option as read, for this journey (see `offered`)."""
        assert self.state is not None
        if self.reads_more(self.state.step, option):
            read: list[str] = self.state.vars.setdefault(READ_MORE, [])
            key = f"{self.state.flow}.{option.next}"
            if key not in read:
                read.append(key)

    def normalised_labels(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(cid, normalise(self.text(key))) for cid, key in pairs]

    @staticmethod
    def typed_kept(step: ChooseStep, typed: str | None) -> dict[str, str | None]:
        """The words typed to choose an option, to keep where the step says (`keep_typed`: "op insta" at
        "Waar gebeurde het?" names the platform for the summary); a press or a number keeps None."""
        words = (typed or "").strip()
        if step.keep_typed is None:
            return {}
        return {step.keep_typed: words[:KEPT_TYPED] if words and not words.isdecimal() else None}

    def remember(self) -> None:
        assert self.state is not None
        self.state.vars.pop(LETTER_CHANGE, None)  # answered since the letter: "terug" is one question back again
        self.state.vars.pop(HELD, None)  # moved on: a held answer is not kept until retention (review 2026-12-07)
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
        lang = self._pick_lang(lang or (self.state.lang if self.state else self.spoken))
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

    def run(self, replace_question: bool = False, *, until_question: bool = True) -> None:
        """Walk non-waiting steps until a question (shown) or the end of the conversation.

        `until_question=False` walks only the steps that say nothing (`compute`, `branch`) and
        stops before the first one that speaks or waits, showing nothing: a story kept during a
        crisis has its date read and its branch taken now, while the next question waits behind
        "go on now?" (engine/crisis.py). One walker for both, so both count steps and stop the same.
        """
        mark = len(self.out)
        for _ in range(MAX_STEPS_PER_TURN):
            if self.state is None or self.state.pending == "recover":
                return
            step = self.current_step()
            if not until_question and not isinstance(step, SILENT_STEPS):
                return
            if isinstance(step, ChooseStep | AskStep):
                self.out.append(self.question(step))
                self.add_preview(step, len(self.out) - 1)
                if replace_question and len(self.out) == mark + 1:
                    q = self.out[mark]
                    assert isinstance(q, Send)
                    self.out[mark] = Edit(q.text, q.choices, q.token, q.preview)
                return
            shown = len(self.out)
            self.execute(step)
            self.add_preview(step, shown)
        raise FlowError("too many steps in one turn (a loop without a question?)")

    def add_preview(self, step: Step, start: int) -> None:
        """The step's `preview` on the first message it sent (from `start` on), if it names a page."""
        if step.preview is None:
            return
        url = self.fs.render_source(self.lang, step.preview.url, self.variables()).strip()
        for index in range(start, len(self.out)):
            message = self.out[index]
            if isinstance(message, Send) and url:
                self.out[index] = replace(message, preview=LinkPreview(url, step.preview.above))
                return

    def reshow_or_begin(self) -> None:
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True)
        else:
            self.reshow()

    def stale(self) -> None:
        self.stale_press = True
        self.say_key("sys.stale")
        self.reshow()

    def match_buttons(self, raw: str, pairs: list[tuple[str, str]], clauses: bool = True) -> str | None:
        """A typed answer to a question with buttons: its number, id or (part of) its label."""
        return read_button(raw, pairs, self.text, clauses)

    def step_answered(self) -> Step | None:
        """The flow step a typed text would answer; None with no conversation or while a system
        question (a date read back, "which one did you mean?") is open."""
        state = self.state
        if state is None or state.pending:
            return None
        return self.fs.step(state.flow, state.step)

    def current_question(self) -> ChooseStep | AskStep:
        step = self.current_step()
        if not isinstance(step, ChooseStep | AskStep):
            raise FlowError("the position is not a question")
        return step

    # ------------------------------------------------------------ filled in by the layers above
    def execute(self, step: Step) -> None:
        raise NotImplementedError

    def question(self, step: ChooseStep | AskStep) -> Send:
        raise NotImplementedError

    def reshow(self) -> None:
        raise NotImplementedError

    def ask_pending(self) -> None:
        raise NotImplementedError
