"""A whole flow on one page, every step as the user would see it, for proofreading.

Why: a moderator checking the wording of a 30-step flow should not have to
click through every path. `python -m bot preview FLOW --lang nl` prints each
step in reading order (depth first from `start`, options in the order they
are offered): the rendered text, the choices numbered as the console and
Matrix show them, directory cards, documents in full, and for the steps a
user never sees (branch, compute, call) what they decide.

Texts are rendered by the FlowSet exactly as the engine renders them. Values
a user would type are examples (a date a month ago, «name» for free text),
shown at the top and changeable with `--set name=value`. Nothing here runs
a conversation or touches the store.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import SYSTEM
from bot.flows.check import reachable_steps
from bot.flows.flowset import FlowSet
from bot.flows.model import Flow, Step
from bot.graph import callers
from bot.letters import DOCX_MIME, in_messages, mime_for
from bot.texts import placeholders

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
            for name, value in (step.options[0].set.items() if step.options else ()):
                values.setdefault(name, value)  # the first answer of each question, as a user might pick
            if step.save:
                values.setdefault(step.save, _typed_example(step, today))
    values.update(overrides or {})
    context = {**values, "today": today.isoformat(), "now": f"{today.isoformat()}T10:00", "lang": "nl"}
    for flow in flows:
        for step_id in reading_order(flow):
            for name, source in (flow.steps[step_id].compute or {}).items():
                if name in values:
                    continue
                try:
                    values[name] = context[name] = fs.eval(source, context)
                except Exception:  # an expression that needs a value we only guess at
                    values[name] = context[name] = f"«{name}»"
    return values


def _typed_example(step: Step, today: date) -> Any:
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
    return f"«{step.save}»"


class _Page:
    """Renders texts the way the engine does, filling any placeholder nobody set with «name»."""

    def __init__(self, fs: FlowSet, lang: str, values: Mapping[str, Any], today: date) -> None:
        self.fs = fs
        self.lang = lang
        self.values = {**values, "today": today.isoformat(), "now": f"{today.isoformat()}T10:00"}
        self.lines: list[str] = []

    def text(self, key: str) -> str:
        entry = self.fs.locales.texts.get(self.lang, {}).get(key) or self.fs.locales.texts.get("nl", {}).get(key)
        variables = dict(self.values)
        if entry is not None:
            for name in placeholders(entry.source):
                variables.setdefault(name, f"«{name}»")
        try:
            return self.fs.render(self.lang, key, variables)
        except Exception as exc:  # show the problem in place; the page goes on
            return f"[cannot render {key}: {type(exc).__name__}: {exc}]"

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
    page = _Page(fs, lang, values, today)
    page.say(f"{flow_id} · {page.text(flow.title)} · {lang} · version {fs.version}")
    if flow.description:
        page.say(flow.description)
    if values:
        shown = ", ".join(f"{name} = {value}" for name, value in sorted(values.items()))
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
    flow = fs.flows[flow_id]
    page = _Page(fs, lang, example_values(fs, flow_id, today, overrides), today)
    found: list[Message] = []
    for step_id in reading_order(flow):
        step = flow.steps[step_id]
        if step.kind == "show":
            if step.text:
                found.append(Message(flow_id, step_id, page.text(step.text)))
            found += [Message(flow_id, step_id, _card(page, fs, entry), (entry,)) for entry in step.show or []]
        elif text := _message_text(page, fs, step):
            found.append(Message(flow_id, step_id, text, buttons=_button_labels(page, step)))
        if step.kind == "document" and step.document and mime_for(step.document.filename) == DOCX_MIME:
            letter = page.text(step.document.template) + "\n"  # as the engine's `document` makes it
            found += [Message(flow_id, step_id, part, letter=True)
                      for part in in_messages(page.text("letters.copy"), letter)]
    return found


def _button_labels(page: _Page, step: Step) -> tuple[str, ...]:
    """The buttons under a step's question: its options, or yes and no (the engine's `buttons`)."""
    if step.kind == "choose" and step.options:
        return tuple(page.text(option.label) for option in step.options)
    if step.kind == "ask" and step.type == "yesno":
        return page.text("sys.yes"), page.text("sys.no")
    return ()


def _card(page: _Page, fs: FlowSet, entry: str) -> str:
    return fs.cards[entry][page.lang]  # as the engine: every language of locales/ has its cards


def _message_text(page: _Page, fs: FlowSet, step: Step) -> str:
    """What a step says, its messages apart by a blank line ("" when it says nothing the user reads).

    A `show` step sends its introduction and then each card as a message of its own
    (the engine's `show_cards`).
    """
    kind = step.kind
    if kind == "show":
        parts = [page.text(step.text)] if step.text else []
        parts += [_card(page, fs, entry) for entry in step.show or []]
        return "\n\n".join(parts)
    if kind == "document":
        assert step.document is not None
        return page.text(step.text) if step.text else page.text(step.document.title)
    key = {"say": step.say, "choose": step.choose, "ask": step.ask}.get(kind)
    if kind in ("end", "forget", "handoff"):
        key = getattr(step, kind)
    return page.text(key) if isinstance(key, str) and key else ""


def _step(page: _Page, fs: FlowSet, flow: Flow, step_id: str) -> None:
    step = flow.steps[step_id]
    kind = step.kind
    heading = {
        "ask": f"ask: {step.type}{f', {step.when}' if step.when and step.when != 'any' else ''} → {step.save}",
        "branch": "branch: not shown, decides where to go",
        "compute": "compute: not shown",
        "call": f"call: runs flow {step.call}",
        "report": "report: sent to the safety desk, not shown to the user",
        "schedule": "schedule: not shown",
    }.get(kind, kind)
    page.say("", f"── {step_id} ({heading}) ".ljust(len(BAR), "─"))
    if kind in ("say", "show"):
        page.say(_message_text(page, fs, step))
    elif kind == "choose":
        assert step.options is not None
        page.say(_message_text(page, fs, step))
        page.choices([(o.id, o.label) for o in step.options], [o.next for o in step.options])
    elif kind == "ask":
        page.say(page.text(step.ask or ""))
        if step.type == "yesno":
            page.choices([("yes", "sys.yes"), ("no", "sys.no")])
        if step.invalid:
            page.say(f"  (after a wrong answer: {page.text(step.invalid)})")
    elif kind == "branch":
        for case in step.branch or []:
            page.say(f"  {'else' if case.else_ else f'if {case.if_}'} → {case.next}")
    elif kind == "compute":
        for name, source in (step.compute or {}).items():
            page.say(f"  {name} = {source}   (example: {page.values.get(name)})")
    elif kind == "document":
        assert step.document is not None
        page.say(_message_text(page, fs, step))
        _document(page, step.document.title, step.document.filename, step.document.template)
    elif kind == "report":
        assert step.report is not None
        report = step.report
        page.say(f"  {page.text(report.title)} (kind {report.kind}, urgency {report.urgency})")
        variables = {**page.values, "lang": page.lang}
        for field in report.fields:
            try:
                value = fs.render_source(page.lang, field.value, variables)
            except Exception as exc:  # keep the page going
                value = f"[cannot render: {exc}]"
            page.say(f"  {page.text(field.label)}: {value}")
        if report.document:
            _document(page, report.document.title, report.document.filename, report.document.template)
    elif kind in ("end", "forget", "handoff"):
        key = getattr(step, kind)
        if isinstance(key, str):
            page.say(page.text(key))
        ending = "back to the calling flow" if callers(fs, flow.flow) else "the conversation ends"
        page.say({"end": f"  (end of this flow: {ending})",
                  "forget": "  (everything stored about the user is deleted)",
                  "handoff": "  (the desk is asked for a person to talk with)"}[kind])
    elif kind == "schedule":
        assert step.schedule is not None
        page.say(f"  timer {step.schedule.name} at {step.schedule.at} → step {flow.timers.get(step.schedule.name)}")
    if step.next and kind != "choose":
        page.say(f"  → {step.next}" + (f" (after flow {step.call})" if kind == "call" else ""))


def _document(page: _Page, title: str, filename: str, template: str) -> None:
    page.say(BAR, f"{page.text(title)} ({filename})", BAR, page.text(template), BAR)
