"""Conversation scenarios: YAML files of user turns and what the bot must say, run through the real core.

Why: content writers change texts and flows every week; a scenario pins down
a conversation that matters ("a parent whose child was placed, treated badly
by the GI, gets the complaint route and a letter") so a later edit that
breaks it is caught before it reaches a parent. A scenario runs through the
same Core, store and engine the bot runs (`bot.app.build_core`), with a fresh
SQLite file, a fixed date when the file gives one, and an outlet that
captures what a console user would see.

A failure is shown the way a writer thinks about it: the conversation as it
happened next to the conversation as expected, as a unified diff, plus one
line per broken expectation naming the scenario file's line.

File format (one scenario per file):

    name: Parent, deadline for an appeal (nl)
    lang: nl
    today: 2026-11-29            # optional: the date the bot lives on
    turns:
      - user: /start             # what the user types (a number picks a choice)
        expect: ["Wie ben jij"]  # substrings, in this order, in the bot's answer
        choices: ["Ouder of verzorger"]   # offered as buttons (a label, or part of one)
        not: ["juridisch advies"]         # must not appear anywhere in the answer
      - press: Ouder of verzorger          # or: press a button of the previous question
        document: ["Geachte"]             # substrings, in order, of a document sent now
        report: ["Bedreiging"]            # substrings of a report sent to the safety desk
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.adapters.console import PLATFORM, parse_line
from bot.app import build_core
from bot.core import ZONE
from bot.desk.intake import NO_DESK
from bot.errors import ContentError
from bot.events import Choice, ConversationKey, Edit, Event, Forward, Incoming, Send
from bot.flows.flowset import FlowSet
from bot.flows.source import Positions, Where, YamlSyntaxError, load_yaml, shown_path
from bot.markup import plain
from bot.settings import Settings
from bot.store_thread import UPGRADED
from bot.testing import CaptureOutlet, FixedClock

#: Where `python -m bot test` looks when given no paths.
DEFAULT_DIR = Path("tests/scenarios")
#: How alike a line must be to an expected text to be shown as its changed version.
SIMILAR = 0.7


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int | float) else value


Texts = Annotated[list[str], BeforeValidator(_as_list)]


class ScenarioTurn(BaseModel):
    """One thing the user does, and what the bot's answer to it must (not) contain."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)

    user: str | None = None
    press: str | None = None
    expect: Texts = Field(default_factory=list)
    choices: Texts = Field(default_factory=list)
    not_: Texts = Field(default_factory=list, alias="not")
    document: Texts = Field(default_factory=list)
    report: Texts = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_action(self) -> ScenarioTurn:
        if (self.user is None) == (self.press is None):
            raise ValueError("a turn needs exactly one of `user:` (what the user types) or `press:` (a button)")
        return self

    @property
    def shown(self) -> str:
        return f"> {self.user}" if self.user is not None else f"> [{self.press}]"


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    lang: str | None = None
    today: date | None = None
    turns: Annotated[list[ScenarioTurn], Field(min_length=1)]


class ScenarioFileError(ContentError):
    """A scenario file that cannot be read; `problems` name file:line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_scenario(path: Path, root: Path | None = None) -> tuple[Scenario, Positions]:
    shown = _shown(path, root)
    try:
        data, pos = load_yaml(path, shown)
    except YamlSyntaxError as exc:
        raise ScenarioFileError([f"{exc.where}: {exc.problem}"]) from exc
    try:
        return Scenario.model_validate(data), pos
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            where = pos.of(loc)
            problems.append(f"{where}: {'.'.join(str(p) for p in loc) or 'scenario'}: "
                            f"{err['msg'].removeprefix('Value error, ')}")
        raise ScenarioFileError(problems) from exc


def _shown(path: Path, root: Path | None) -> str:
    return shown_path(path, root or Path.cwd())


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """YAML files named directly or found (recursively) under the named directories, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            files.append(path)
    return files


# ---------------------------------------------------------------- running


@dataclass(slots=True)
class TurnSeen:
    """What came back for one turn, as transcript lines."""

    header: str
    lines: list[str] = field(default_factory=list)  # messages and choices, as the console shows them
    documents: list[str] = field(default_factory=list)  # each document, title line + content
    reports: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ScenarioResult:
    path: str
    name: str
    failures: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    got: list[str] = field(default_factory=list)
    #: per turn, what the person was sent, in order: how long a turn is on a phone (tests/test_phone_turns.py)
    sent: list[list[Send | Edit]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def diff(self) -> str:
        return "".join(difflib.unified_diff([f"{line}\n" for line in self.expected],
                                            [f"{line}\n" for line in self.got],
                                            fromfile=f"expected ({self.path})", tofile="got", n=3))

    def report(self) -> str:
        if self.ok:
            return f"ok    {self.path}: {self.name}"
        lines = [f"FAIL  {self.path}: {self.name}", *(f"  - {f}" for f in self.failures)]
        diff = self.diff()
        if diff:
            lines += ["", diff.rstrip("\n")]
        return "\n".join(lines)


def _transcript(messages: list[Send | Edit]) -> tuple[list[str], list[str], tuple[str, Send | Edit] | None]:
    lines: list[str] = []
    documents: list[str] = []
    question: tuple[str, Send | Edit] | None = None
    for message in messages:
        lines += plain(message.text).splitlines() or [""]
        lines += [f"  {n}. {c.label}" for n, c in enumerate(message.choices, start=1)]
        if message.choices:
            question = (message.token, message)
        if isinstance(message, Send) and message.document:
            doc = message.document
            documents.append(f"{doc.title} ({doc.filename})\n{doc.content}")
    return lines, documents, question


def _press(question: tuple[str, Send | Edit] | None, wanted: str) -> Event | None:
    """The button of the previous question whose label (or id) is `wanted`, or contains it uniquely."""
    if question is None:
        return None
    token, message = question
    exact = [c for c in message.choices if wanted in (c.label, c.id)]
    partial = [c for c in message.choices if wanted.lower() in c.label.lower()]
    found = exact or (partial if len(partial) == 1 else [])
    return Choice(found[0].id, token) if found else None


def _meant_button(question: tuple[str, Send | Edit] | None, wanted: str) -> str:
    """A moderator's typo in a label ("Nee dank je" for "Nee, dank je"): the closest label, and the labels."""
    labels = [c.label for c in question[1].choices] if question is not None else []
    if not labels:
        return " (it had no buttons)"
    close = difflib.get_close_matches(wanted, labels, n=1, cutoff=0.6)
    meant = f"; did you mean {close[0]!r}?" if close else ""
    return f"{meant} (its buttons: {', '.join(repr(label) for label in labels)})"


async def run_scenario(scenario: Scenario, pos: Positions, flows: FlowSet,
                       settings: Settings, db: Path) -> ScenarioResult:
    """Play one scenario through a fresh core and check every turn."""
    core = await build_core(settings.model_copy(update={"db": db, "moderators": [], "watch_flows": False}),
                            flows)
    if scenario.today is not None:
        core.clock = FixedClock(datetime.combine(scenario.today, time(12, 0), ZONE))
    outlet = CaptureOutlet(platform=PLATFORM)
    core.register(outlet)
    key = ConversationKey(PLATFORM, "scenario", "scenario")
    result = ScenarioResult(pos.file, scenario.name)
    question: tuple[str, Send | Edit] | None = None
    try:
        for index, turn in enumerate(scenario.turns):
            where = pos.of(("turns", index))
            seen = TurnSeen(f"## turn {index + 1} (line {where.line}) {turn.shown}")
            event: Event | None
            if turn.press is not None:
                event = _press(question, turn.press)
                if event is None:
                    result.failures.append(f"{where.file}:{where.line}: turn {index + 1} ({turn.shown}): "
                                           f"no button {turn.press!r} in the question before"
                                           f"{_meant_button(question, turn.press)}")
                    event = parse_line(turn.press)
            else:
                event = parse_line(turn.user or "")
            actions = await core.handle(Incoming(key, event, update_id=f"scenario:{index}",
                                                 lang_hint=scenario.lang)) or []
            messages, posts = outlet.take()
            result.sent.append(messages)
            seen.lines, seen.documents, asked = _transcript(messages)
            question = asked or question
            seen.reports = posts + [_report_text(a) for a in actions if isinstance(a, Forward)]
            expected = _check(turn, seen, where, index + 1, result.failures)
            result.expected += [seen.header, *expected]
            result.got += [seen.header, *seen.lines, *_document_lines(seen.documents)]
    finally:
        await core.stop()
        await core.store.close()
    return result


def _report_text(forward: Forward) -> str:
    report = forward.report
    parts = [report.title, *(f"{label}: {value}" for label, value in report.fields)]
    if report.document:
        parts.append(report.document.content)
    return "\n".join(parts)


def _document_lines(documents: list[str]) -> list[str]:
    lines: list[str] = []
    for doc in documents:
        title, _, content = doc.partition("\n")
        lines += [f"[document: {title}]", *(f"| {line}" for line in content.splitlines())]
    return lines


# ---------------------------------------------------------------- checking one turn


def _check(turn: ScenarioTurn, seen: TurnSeen, where: Where, number: int, failures: list[str]) -> list[str]:
    """Record what failed; return this turn's transcript as the scenario expected it (for the diff)."""
    expected = list(seen.lines)
    label = f"{where.file}:{where.line}: turn {number} ({turn.shown})"
    visible = "\n".join(seen.lines)

    for wanted, earlier in _not_in_order(visible, turn.expect):
        failures.append(f"{label}: expected {wanted!r}" + (" after the text before it" if earlier else ""))
        if not earlier:
            _expect_in(expected, wanted)

    offered = [line.split(". ", 1)[1] for line in seen.lines if _is_choice(line)]
    for wanted in turn.choices:
        if not any(wanted == o or wanted in o for o in offered):
            failures.append(f"{label}: expected a choice {wanted!r}; offered: {offered or 'none'}")
            _expect_choice(expected, wanted)

    expected_docs = _document_lines(seen.documents)
    if turn.document and not seen.documents:
        failures.append(f"{label}: expected a document; none was sent")
        expected_docs = ["[document]", *(f"| {w}" for w in turn.document)]
    for wanted, earlier in _not_in_order("\n".join(seen.documents), turn.document if seen.documents else []):
        failures.append(f"{label}: expected {wanted!r} in the document"
                        + (" after the text before it" if earlier else ""))
        if not earlier:
            _expect_in(expected_docs, wanted, prefix="| ")

    everything = "\n".join([visible, *seen.documents])
    for unwanted in turn.not_:
        if unwanted in everything:
            failures.append(f"{label}: {unwanted!r} must not appear")
            expected = [line.replace(unwanted, f"[not: {unwanted}]") for line in expected]
            expected_docs = [line.replace(unwanted, f"[not: {unwanted}]") for line in expected_docs]

    reports = "\n".join(seen.reports)
    for wanted in turn.report:
        if wanted not in reports:
            failures.append(f"{label}: expected {wanted!r} in a report to the safety desk"
                            + ("" if seen.reports else "; no report was sent"))
    return expected + expected_docs


def _not_in_order(text: str, wanted: Sequence[str]) -> Iterator[tuple[str, bool]]:
    """Each wanted piece not found after the one before it, and whether it stands earlier instead."""
    position = 0
    for piece in wanted:
        found = text.find(piece, position)
        if found >= 0:
            position = found + len(piece)
        else:
            yield piece, piece in text


def _is_choice(line: str) -> bool:
    head = line.lstrip().split(". ", 1)[0]
    return line.startswith("  ") and head.isdigit()


def _expect_in(lines: list[str], wanted: str, *, prefix: str = "") -> None:
    """Show `wanted` where the most similar words stand (so the diff reads as a change), or add it."""
    best: tuple[float, int, int, int] = (0.0, -1, 0, 0)  # score, line, start, end
    for at, line in enumerate(lines):
        score, start, end = _closest_words(line, wanted)
        if score > best[0]:
            best = (score, at, start, end)
    score, at, start, end = best
    if at >= 0:
        lines[at] = lines[at][:start] + wanted + lines[at][end:]
    else:
        lines.append(prefix + wanted)


def _closest_words(line: str, wanted: str) -> tuple[float, int, int]:
    """The run of whole words in `line` most like `wanted`: (score, start, end); score 0 when none is alike.

    Scored by characters in common minus half the difference in length, so
    "Wie ben jij?" against an expected "Wie bent u" picks "Wie ben jij"
    (the changed phrase), not the shorter "Wie ben".
    """
    starts = [m.start() for m in re.finditer(r"\S+", line)]
    ends = sorted({e for m in re.finditer(r"\S+", line)
                   for e in (m.end(), m.start() + len(m.group().rstrip(".,;:!?)")))} - {0})
    size = len(wanted)
    best = (0.0, 0, 0)
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    for start in starts:
        for end in ends:
            width = end - start
            if width <= 0 or not size / 2 <= width <= size * 1.5 + 3:
                continue
            matcher.set_seq1(line[start:end])
            common = sum(block.size for block in matcher.get_matching_blocks())
            if 2 * common / (width + size) < SIMILAR:
                continue
            score = common - abs(width - size) / 2
            if score > best[0]:
                best = (score, start, end)
    return best


def _expect_choice(lines: list[str], wanted: str) -> None:
    choice_lines = [at for at, line in enumerate(lines) if _is_choice(line)]
    scored = [(difflib.SequenceMatcher(None, lines[at].split(". ", 1)[1], wanted).ratio(), at) for at in choice_lines]
    ratio, at = max(scored, default=(0.0, -1))
    if ratio >= SIMILAR:
        number = lines[at].split(". ", 1)[0]
        lines[at] = f"{number}. {wanted}"
    else:
        lines.insert(choice_lines[-1] + 1 if choice_lines else len(lines), f"  ?. {wanted}")


# ---------------------------------------------------------------- many files


@dataclass(slots=True)
class RunReport:
    results: list[ScenarioResult] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # unreadable files, with file:line
    #: reports a scenario sent while the run has no safety desk (see _ScratchRun)
    reports_without_desk: int = 0

    @property
    def notes(self) -> list[str]:
        """Plain notes about how the run differs from the bot, for the end of the output."""
        if not self.reports_without_desk:
            return []
        return [f"note: {self.reports_without_desk} report(s) went to no safety desk, as always in a scenario run "
                "(it has none); a scenario's `report:` lines check what a report says"]

    @property
    def ok(self) -> bool:
        return not self.broken and all(r.ok for r in self.results)


class _OncePerRun(logging.Filter):
    """Lets each distinct log message through once: every scenario builds a fresh core,
    and its start-up warnings (no desk, no key) said once per run are news, said 60 times noise."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, object]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.msg)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class _ScratchRun(logging.Filter):
    """Leaves out the two lines that are true of the bot but not news in a scenario run.

    Each scenario's database is new, so "database upgraded" is said every time; and a run has
    no safety desk, so a report that goes nowhere is the expected case, not an ERROR a moderator
    should chase (try-out 30): it is counted for a plain note (RunReport.notes) instead. Only
    these exact messages: every other line, every other error, still shows.
    """

    def __init__(self, report: RunReport) -> None:
        super().__init__()
        self.report = report

    #: the loggers it sits on (a logger's filter sees each record once, whatever the handlers)
    LOGGERS = ("bot.store_thread", "bot.desk.intake")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == UPGRADED:
            return False
        if record.msg == NO_DESK:
            self.report.reports_without_desk += 1
            return False
        return True


@contextlib.contextmanager
def _quiet_run(report: RunReport) -> Iterator[None]:
    """For the run's length: each message once, and without the scratch run's own lines."""
    scratch = _ScratchRun(report)
    filters = [(handler, _OncePerRun()) for handler in logging.getLogger().handlers]  # one each: a shared
    for handler, once in filters:                                                    # one lets one handler see it
        handler.addFilter(once)
    for name in scratch.LOGGERS:
        logging.getLogger(name).addFilter(scratch)
    try:
        yield
    finally:
        for name in scratch.LOGGERS:
            logging.getLogger(name).removeFilter(scratch)
        for handler, once in filters:
            handler.removeFilter(once)


async def run_files(files: Sequence[Path], flows: FlowSet, settings: Settings | None = None,
                    root: Path | None = None) -> RunReport:
    settings = settings or Settings()
    report = RunReport()
    with _quiet_run(report), tempfile.TemporaryDirectory(prefix="wegwijzer-scenarios-") as tmp:
        for number, path in enumerate(files):
            try:
                scenario, pos = load_scenario(path, root)
            except ScenarioFileError as exc:
                report.broken += exc.problems
                continue
            report.results.append(await run_scenario(scenario, pos, flows, settings,
                                                     Path(tmp) / f"scenario-{number}.sqlite3"))
    return report
