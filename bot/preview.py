"""A whole flow on one page, every step as the user would see it, for proofreading.

Why: a moderator checking the wording of a 30-step flow should not have to
click through every path. `python -m bot preview FLOW --lang nl` prints each
step in reading order (depth first from `start`, options in the order they
are offered): the rendered text, the choices numbered as the console and
Matrix show them, directory cards, documents in full, and for the steps a
user never sees (branch, compute, call) what they decide.

Each step is rendered by the engine's own step code (a `TurnBuilder` standing
at that step), so the page cannot drift from what users see. Values a user
would type are examples (a date a month ago, «name» for free text), shown at
the top and changeable with `--set name=value`. Nothing here keeps a
conversation or touches the store.
"""

from __future__ import annotations

import contextlib
import copy
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, assert_never

from bot.clock import SYSTEM
from bot.engine import TurnBuilder, TurnContext
from bot.errors import TurnError
from bot.events import Report, Send
from bot.expressions import ExpressionError, parse
from bot.flows.check import reachable_steps
from bot.flows.flowset import FlowSet
from bot.flows.model import Flow
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
    Step,
)
from bot.graph import callers
from bot.letters import DOCX_MIME
from bot.state import State
from bot.texts import placeholders, text_refs

BAR = "─" * 64


def reading_order(flow: Flow) -> list[str]:
    """Steps depth first from `start`, then timer targets: the order a reader follows the paths."""
    order = reachable_steps(flow)
    seen = set(order)
    return order + [s for s in flow.steps if s not in seen]  # unreachable steps fail the check; kept for safety


def example_values(fs: FlowSet, flow_id: str, today: date,
                   overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A plausible value for every variable the flows set: what the preview renders with."""
    values: dict[str, Any] = {}
    flows = [fs.flows[flow_id], *(f for f in fs.flows.values() if f.flow != flow_id)]
    for flow in flows:
        for step in flow.steps.values():
            if isinstance(step, ChooseStep):
                for name, value in step.options[0].set.items():
                    values.setdefault(name, value)  # the first answer of each question, as a user might pick
            if isinstance(step, AskStep):
                values.setdefault(step.save, _typed_example(step, today))
    values.update(overrides or {})
    # the flows' word tables are read by name, as the engine reads them (not examples to show)
    context = {**values, **fs.tables, "today": today.isoformat(), "now": f"{today.isoformat()}T10:00", "lang": "nl"}
    for flow in flows:
        for step_id in reading_order(flow):
            step = flow.steps[step_id]
            for name, source in (step.compute.items() if isinstance(step, ComputeStep) else ()):
                if name in values:
                    continue
                try:
                    values[name] = context[name] = fs.eval(source, context)
                except Exception:  # an expression that needs a value we only guess at
                    values[name] = context[name] = f"«{name}»"
    return values


def flow_variables(fs: FlowSet, flow_id: str, lang: str) -> set[str]:
    """The variables one flow sets or reads (its steps, expressions and texts): the examples worth showing.

    The examples are made for every flow (a flow may read what another set), but a moderator
    proofreading `familie` needs its handful, not ninety from every flow (try-out 30)."""
    flow = fs.flows[flow_id]
    texts = fs.locales.texts.get(lang, {})
    names: set[str] = set()
    keys = {flow.title}
    for step in flow.steps.values():
        names.update(step.variables())
        keys.update(key for _, key in step.text_keys())
        for _, source in step.expressions():
            with contextlib.suppress(ExpressionError):
                names.update(parse(source).names)
    todo, seen = list(keys), set(keys)
    while todo:  # a text may show another with t('key'): its variables are the flow's too
        entry = texts.get(todo.pop())
        if entry is not None:
            names.update(placeholders(entry.source))
            todo.extend(ref for ref in text_refs(entry.source) - seen)
            seen.update(text_refs(entry.source))
    return names - fs.tables.keys()  # a word table is the flow's, not an answer to show an example of


def _typed_example(step: AskStep, today: date) -> Any:
    if step.type == "date":
        offset = {"past": -30, "future": 14}.get(step.when or "any", 0)
        return (today + timedelta(days=offset)).isoformat()
    if step.type == "number":
        low = step.min if step.min is not None else float("-inf")
        high = step.max if step.max is not None else float("inf")
        return int(min(max(12, low), high))
    if step.type == "yesno":
        return True
    if step.type == "municipality":
        return "Utrecht"
    if step.type == "phone":
        return "06 12345678"
    return f"«{step.save}»"


class _Rehearsal(TurnBuilder):
    """The engine's own turn builder, run at one step on example values.

    Only the texts differ: a placeholder nobody set shows as «name», and a text that
    cannot render shows the problem in place, so the page goes on.
    """

    def text_in(self, lang: str, key: str, **extra: Any) -> str:
        texts = self.fs.locales.texts
        entry = texts.get(lang, {}).get(key) or texts.get("nl", {}).get(key)
        variables = self.variables()
        variables.update(extra)
        if entry is not None:
            for name in placeholders(entry.source):
                variables.setdefault(name, f"«{name}»")
        try:
            return self.fs.render(lang, key, variables)
        except Exception as exc:  # show the problem in place; the page goes on
            return f"[cannot render {key}: {type(exc).__name__}: {exc}]"


class _Page:
    """One flow on example values: what each step sends, rendered by the engine's step code."""

    def __init__(self, fs: FlowSet, flow_id: str, lang: str, values: Mapping[str, Any], today: date) -> None:
        self.fs = fs
        self.flow_id = flow_id
        self.lang = lang
        self.values = dict(values)
        # as with a safety desk set up: the page shows what the desk adds (the check-in's alert ...)
        self.context = TurnContext(today=today, now=datetime.combine(today, time(10, 0)), default_lang=lang,
                                   desk_available=True, desk_lang=lang)
        self.lines: list[str] = []

    def at(self, step_id: str) -> _Rehearsal:
        """A turn standing at this step, with fresh copies of the example values."""
        run = _Rehearsal(self.fs, self.context)
        run.state = State(flow=self.flow_id, step=step_id, lang=self.lang, version=self.fs.version,
                          vars=copy.deepcopy(self.values), started=self.flow_id)
        return run

    def text(self, key: str) -> str:
        return self.at(self.fs.flows[self.flow_id].start).text(key)

    def messages(self, step_id: str) -> list[Message]:
        """What the step sends, as the engine sends it: a question, or the step carried out.

        A step that needs a value the examples only guess at (a branch, a computed date)
        keeps what it sent before it stopped.
        """
        step = self.fs.flows[self.flow_id].steps[step_id]
        run = self.at(step_id)
        try:
            if isinstance(step, ChooseStep | AskStep):
                run.out.append(run.question(step))
            else:
                run.execute(step)
        except TurnError:
            pass
        cards = {self.fs.cards[entry].get(self.lang): entry for entry in getattr(step, "show", ())}
        found: list[Message] = []
        letter = False
        for action in run.out:
            if isinstance(action, Send) and action.text:
                card = cards.get(action.text)
                found.append(Message(self.flow_id, step_id, action.text, (card,) if card else (), letter,
                                     tuple(button.label for button in action.choices)))
                letter = letter or (action.document is not None and action.document.mime == DOCX_MIME)
        return found

    def report(self, step_id: str, step: ReportStep) -> Report | str:
        """The report as the desk would get it, or why it cannot be made with the example values."""
        try:
            return self.at(step_id).report(step)
        except Exception as exc:  # keep the page going
            return f"[cannot render: {exc}]"

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)

    def choices(self, pairs: list[tuple[str, str]], targets: list[str] | None = None) -> None:
        labels = [self.text(key) for _, key in pairs]
        width = max((len(label) for label in labels), default=0)
        for number, label in enumerate(labels, start=1):
            goes = f"   → {targets[number - 1]}" if targets else ""
            self.say(f"  {number}. {label.ljust(width) if goes else label}{goes}")


def preview_flow(fs: FlowSet, flow_id: str, lang: str = "nl", *, today: date | None = None,
                 overrides: Mapping[str, Any] | None = None) -> str:
    """The whole page for one flow."""
    today = today or SYSTEM.today()
    flow = fs.flows[flow_id]
    values = example_values(fs, flow_id, today, overrides)
    page = _Page(fs, flow_id, lang, values, today)
    page.say(f"{flow_id} · {page.text(flow.title)} · {lang} · version {fs.version}")
    if flow.description:
        page.say(flow.description)
    used = flow_variables(fs, flow_id, lang) | set(overrides or {})
    if shown_values := {name: value for name, value in values.items() if name in used}:
        shown = ", ".join(f"{name} = {value}" for name, value in sorted(shown_values.items()))
        page.say(*textwrap.wrap(f"Example values (change with --set name=value): {shown}", len(BAR),
                                subsequent_indent="  "))
    for step_id in reading_order(flow):
        _step(page, fs, flow, step_id)
    return "\n".join(page.lines) + "\n"


@dataclass(frozen=True, slots=True)
class Message:
    """One message a step sends, as the user reads it, with the labels of its buttons.

    `cards` names the directory card it is; `letter` marks part of a letter's copy in the chat.
    """

    flow: str
    step: str
    text: str
    cards: tuple[str, ...] = ()
    letter: bool = False
    buttons: tuple[str, ...] = ()


def flow_messages(fs: FlowSet, flow_id: str, lang: str, *, today: date,
                  overrides: Mapping[str, Any] | None = None) -> list[Message]:
    """Every message each step of a flow sends, rendered with the preview's example values.

    Why: "no message over 1,000 characters" is checked on what a person reads, so
    this renders exactly what `_step` shows (and the engine sends), without the
    preview's headings and arrows. Choices are buttons, not part of the text.
    """
    page = _Page(fs, flow_id, lang, example_values(fs, flow_id, today, overrides), today)
    return [message for step_id in reading_order(fs.flows[flow_id]) for message in page.messages(step_id)]


def _message_text(page: _Page, step_id: str) -> str:
    """What a step says, its messages apart by a blank line ("" when it says nothing the user reads).

    A letter's copy in the chat is left out: the page shows the letter in full.
    """
    return "\n\n".join(m.text for m in page.messages(step_id) if not m.letter)


def _step(page: _Page, fs: FlowSet, flow: Flow, step_id: str) -> None:
    step = flow.steps[step_id]
    page.say("", f"── {step_id} ({_heading(step)}) ".ljust(len(BAR), "─"))
    if text := _message_text(page, step_id):
        page.say(text)
    match step:
        case ChooseStep() | AskStep():
            _answers(page, step)
        case BranchStep() | ComputeStep() | ScheduleStep():
            _decisions(page, flow, step)
        case DocumentStep():
            _document(page, step.document.title, step.document.filename_in(page.lang), page.text(step.document.template))
        case ReportStep():
            _report(page, step_id, step)
        case EndStep() | ForgetStep() | HandoffStep():
            ending = "back to the calling flow" if callers(fs, flow.flow) else "the conversation ends"
            page.say({"end": f"  (end of this flow: {ending})",
                      "forget": "  (everything stored about the user is deleted)",
                      "handoff": "  (the desk is asked for a person to talk with)"}[step.kind])
        case SayStep() | ShowStep() | CallStep():
            pass  # their messages, or their heading, say it all
        case _:
            assert_never(step)
    if step.next and not isinstance(step, ChooseStep):
        page.say(f"  → {step.next}" + (f" (after flow {step.call})" if isinstance(step, CallStep) else ""))


def _answers(page: _Page, step: ChooseStep | AskStep) -> None:
    """The answers a question takes: its options and where each goes, or yes/no and the retry text."""
    match step:
        case ChooseStep():
            page.choices([(o.id, o.label) for o in step.options], [o.next for o in step.options])
            if step.unsure:
                page.say(f"  (after a doubtful yes or no: {page.text(step.unsure)})")
        case AskStep():
            if step.type == "yesno":
                page.choices([("yes", "sys.yes"), ("no", "sys.no")])
            if step.invalid:
                page.say(f"  (after a wrong answer: {page.text(step.invalid)})")
        case _:
            assert_never(step)


def _decisions(page: _Page, flow: Flow, step: BranchStep | ComputeStep | ScheduleStep) -> None:
    """What a step the user never sees decides: where to go, a value, a timer."""
    match step:
        case BranchStep():
            for case in step.branch:
                page.say(f"  {'else' if case.else_ else f'if {case.if_}'} → {case.next}")
        case ComputeStep():
            for name, source in step.compute.items():
                page.say(f"  {name} = {source}   (example: {page.values.get(name)})")
        case ScheduleStep():
            page.say(f"  timer {step.schedule.name} at {step.schedule.at} → step {flow.timers.get(step.schedule.name)}")
        case _:
            assert_never(step)


def _heading(step: Step) -> str:
    """What a step is, in its heading: the kinds a user never sees say what they do instead."""
    match step:
        case AskStep():
            return f"ask: {step.type}{f', {step.when}' if step.when and step.when != 'any' else ''} → {step.save}"
        case BranchStep():
            return "branch: not shown, decides where to go"
        case ComputeStep():
            return "compute: not shown"
        case CallStep():
            return f"call: runs flow {step.call}"
        case ReportStep():
            return "report: sent to the safety desk, not shown to the user"
        case ScheduleStep():
            return "schedule: not shown"
        case _:
            return step.kind


def _report(page: _Page, step_id: str, step: ReportStep) -> None:
    spec = step.report
    report = page.report(step_id, step)
    if isinstance(report, str):
        page.say(f"  {page.text(spec.title)} (kind {spec.kind}, urgency {spec.urgency})", f"  {report}")
        return
    page.say(f"  {report.title} (kind {spec.kind}, urgency {spec.urgency})")
    page.say(*(f"  {label}: {value}" for label, value in report.fields))
    if report.document:
        _document(page, spec.document.title if spec.document else "", report.document.filename,
                  report.document.content.removesuffix("\n"))


def _document(page: _Page, title: str, filename: str, text: str) -> None:
    page.say(BAR, f"{page.text(title)} ({filename})", BAR, text, BAR)
