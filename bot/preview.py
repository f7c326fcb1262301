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

import argparse
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, assert_never

from bot.clock import NL, SYSTEM
from bot.flows.check import reachable_steps
from bot.flows.flowset import FlowSet
from bot.flows.model import Flow, ReportSpec
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
            if isinstance(step, ChooseStep):
                for name, value in step.options[0].set.items():
                    values.setdefault(name, value)  # the first answer of each question, as a user might pick
            if isinstance(step, AskStep):
                values.setdefault(step.save, _typed_example(step, today))
    values.update(overrides or {})
    context = {**values, "today": today.isoformat(), "now": f"{today.isoformat()}T10:00", "lang": "nl"}
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
        if isinstance(step, ShowStep):
            if step.text:
                found.append(Message(flow_id, step_id, page.text(step.text)))
            found += [Message(flow_id, step_id, _card(page, fs, entry), (entry,)) for entry in step.show]
        elif text := _message_text(page, fs, step):
            found.append(Message(flow_id, step_id, text, buttons=_button_labels(page, step)))
        if isinstance(step, DocumentStep) and mime_for(step.document.filename) == DOCX_MIME:
            letter = page.text(step.document.template) + "\n"  # as the engine's `document` makes it
            found += [Message(flow_id, step_id, part, letter=True)
                      for part in in_messages(page.text("letters.copy"), letter)]
    return found


def _button_labels(page: _Page, step: Step) -> tuple[str, ...]:
    """The buttons under a step's question: its options, or yes and no (the engine's `buttons`)."""
    if isinstance(step, ChooseStep):
        return tuple(page.text(option.label) for option in step.options)
    if isinstance(step, AskStep) and step.type == "yesno":
        return page.text("sys.yes"), page.text("sys.no")
    return ()


def _card(page: _Page, fs: FlowSet, entry: str) -> str:
    return fs.cards[entry][page.lang]  # as the engine: every language of locales/ has its cards


def _message_text(page: _Page, fs: FlowSet, step: Step) -> str:
    """What a step says, its messages apart by a blank line ("" when it says nothing the user reads).

    A `show` step sends its introduction and then each card as a message of its own
    (the engine's `show_cards`).
    """
    match step:
        case ShowStep():
            parts = [page.text(step.text)] if step.text else []
            parts += [_card(page, fs, entry) for entry in step.show]
            return "\n\n".join(parts)
        case DocumentStep():
            return page.text(step.text) if step.text else page.text(step.document.title)
        case SayStep(say=key) | ChooseStep(choose=key) | AskStep(ask=key) | ForgetStep(forget=key) \
                | HandoffStep(handoff=key) | EndStep(end=str() as key):
            return page.text(key)
        case EndStep() | BranchStep() | ComputeStep() | ReportStep() | CallStep() | ScheduleStep():
            return ""
        case _:
            assert_never(step)


def _step(page: _Page, fs: FlowSet, flow: Flow, step_id: str) -> None:
    step = flow.steps[step_id]
    page.say("", f"── {step_id} ({_heading(step)}) ".ljust(len(BAR), "─"))
    match step:
        case SayStep() | ShowStep():
            page.say(_message_text(page, fs, step))
        case ChooseStep():
            page.say(_message_text(page, fs, step))
            page.choices([(o.id, o.label) for o in step.options], [o.next for o in step.options])
        case AskStep():
            page.say(page.text(step.ask))
            if step.type == "yesno":
                page.choices([("yes", "sys.yes"), ("no", "sys.no")])
            if step.invalid:
                page.say(f"  (after a wrong answer: {page.text(step.invalid)})")
        case BranchStep():
            for case in step.branch:
                page.say(f"  {'else' if case.else_ else f'if {case.if_}'} → {case.next}")
        case ComputeStep():
            for name, source in step.compute.items():
                page.say(f"  {name} = {source}   (example: {page.values.get(name)})")
        case DocumentStep():
            page.say(_message_text(page, fs, step))
            _document(page, step.document.title, step.document.filename, step.document.template)
        case ReportStep():
            _report(page, fs, step.report)
        case EndStep() | ForgetStep() | HandoffStep():
            if text := _message_text(page, fs, step):
                page.say(text)
            ending = "back to the calling flow" if callers(fs, flow.flow) else "the conversation ends"
            page.say({"end": f"  (end of this flow: {ending})",
                      "forget": "  (everything stored about the user is deleted)",
                      "handoff": "  (the desk is asked for a person to talk with)"}[step.kind])
        case ScheduleStep():
            page.say(f"  timer {step.schedule.name} at {step.schedule.at} → step {flow.timers.get(step.schedule.name)}")
        case CallStep():
            pass  # its heading says which flow runs
        case _:
            assert_never(step)
    if step.next and not isinstance(step, ChooseStep):
        page.say(f"  → {step.next}" + (f" (after flow {step.call})" if isinstance(step, CallStep) else ""))


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


def _report(page: _Page, fs: FlowSet, report: ReportSpec) -> None:
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


def _document(page: _Page, title: str, filename: str, template: str) -> None:
    page.say(BAR, f"{page.text(title)} ({filename})", BAR, page.text(template), BAR)


# ---------------------------------------------------------------- CLI


def _parse_value(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if raw.lstrip("-").isdigit():
        return int(raw)
    return raw


def cmd_preview(args: argparse.Namespace) -> int:
    import sys

    from bot.cli import clock_of, load_or_report

    fs = load_or_report(args)
    if fs is None:
        return 1
    if args.flow not in fs.flows and not (args.html and args.flow == "all"):
        print(f"there is no flow `{args.flow}`; flows: {', '.join(sorted(fs.flows))}"
              + (" (or `all` with --html)" if args.html else ""), file=sys.stderr)
        return 2
    if args.lang not in fs.locales.languages:
        print(f"there is no language `{args.lang}`; languages: {', '.join(fs.locales.languages)}", file=sys.stderr)
        return 2
    overrides = {}
    for item in args.set or []:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"--set wants name=value, got {item!r}", file=sys.stderr)
            return 2
        overrides[name.strip()] = _parse_value(value.strip())
    today = clock_of(args)().astimezone(NL).date()
    if args.html:
        from bot.preview_html import write_site

        flows = sorted(fs.flows) if args.flow == "all" else [args.flow]
        written = write_site(fs, Path(args.html), flows, today=today, overrides=overrides)
        print(f"wrote {len(written)} pages to {args.html}; open {Path(args.html) / 'index.html'}")
        return 0
    sys.stdout.write(preview_flow(fs, args.flow, args.lang, today=today, overrides=overrides))
    return 0


def register_cli(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.cli import add_common

    p = sub.add_parser("preview", help="print every step of a flow as the user sees it, for proofreading")
    add_common(p)
    p.add_argument("flow", help="flow id, e.g. termijn")
    p.add_argument("--lang", default="nl", help="language (default nl)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="example value for a variable (repeatable)")
    p.add_argument("--html", metavar="DIR", help="write a phone preview site (every language) to DIR; FLOW may be `all`")
    p.set_defaults(func=cmd_preview)
