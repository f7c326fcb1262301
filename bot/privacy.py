"""What the bot keeps about a person: show it, forget it, and let it expire.

- "My data" (ExportData): a document with everything stored about the user
  right now (conversations with their saved answers, reports and requests,
  talks with the desk, timers, messages still on their way), built inside the
  turn's transaction (a writer, bot/features.py) so it is one consistent picture.
- "Forget me" (ForgetUser): the store deletes the user's rows in the turn's
  transaction (each feature's `Tables.user_columns`, after the desk's `forget`, which keeps a
  report the desk already has but cuts its link to the user). Afterwards the
  WAL is checkpointed and truncated, so old page images with the user's data
  do not linger next to the database (secure_delete zeroes freed content).
  A reader holding the file (a backup) can prevent that: the bot waits a
  little, then tells the user plainly and keeps trying (truncate_after_forget).
- Retention (`purge`): conversations inactive longer than
  WEGWIJZER_RETENTION_DAYS and talks with the desk older than
  WEGWIJZER_RELAY_RETENTION_DAYS are deleted, by a loop in the bot and by
  `python -m bot purge`.

Never log what a row holds; log counts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from bot import inbox, timers
from bot.core import ZONE
from bot.dates import format_date
from bot.desk import cases
from bot.desk.safety_desk import desk_of, render_or_fallback
from bot.engine.base import HELD
from bot.engine.steps import ALSO_TOLD, TOLD_AHEAD, TYPED_BEFORE
from bot.engine.system import COMMAND_TOKEN, PUBLIC_DRAFT
from bot.events import ChoiceButton, Document, ExportData, ForgetUser, Incoming, Send
from bot.features import NO_TABLES, ActionWriter, CoreFeature, Loop
from bot.flows.steps import AskStep, ChooseStep, ComputeStep, Option
from bot.letters import MESSAGE_LIMIT
from bot.periodic import every
from bot.schema import Tables
from bot.state import State
from bot.store import Codec, who_of

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn
    from bot.flows.flowset import FlowSet
    from bot.settings import Settings
    from bot.store import Store

log = logging.getLogger(__name__)

DAY = 86_400
#: Seconds between retention runs in the bot (the first runs at start).
PURGE_EVERY = 6 * 3600
#: Statuses as shown to the user.
STATUSES = ("open", "claimed", "active", "ended", "withdrawn")


# ---------------------------------------------------------------- my data

#: A stored date ("2026-11-23"), said in words in the export.
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: In the chat, a stored line (a typed story) is cut after this many characters; the document has it whole.
LINE_SHOWN = 200
#: A question's first sentence that ends in "?" ("Wie ben jij?" after the welcome).
QUESTION = re.compile(r"[^.?!\n]+\?")


#: Text a person typed that the engine keeps under a name of its own (not an answer yet): the
#: export shows it, because "everything I keep about you" must include it.
KEPT_TEXTS = ((TYPED_BEFORE, "privacy.export.typed_before"), (ALSO_TOLD, "privacy.export.also_told"),
              (PUBLIC_DRAFT, "privacy.export.public_draft"), (TOLD_AHEAD, "privacy.export.told_ahead"),
              (HELD, "privacy.export.held"))


@dataclass(slots=True)
class Exporter:
    flows: FlowSet
    codec: Codec
    lang: str
    #: said in the footer: after how many days unused a conversation is deleted
    retention_days: int
    #: a safety desk is set up: only then does a request for a person reach anyone (a worker with no
    #: desk was told that hers "gets priority" and about "reports that reached the safety desk")
    desk_available: bool = False
    _index: list[tuple[str, str, Option]] | None = None
    _computed: frozenset[str] | None = None

    def t(self, key: str, **values: Any) -> str:
        return render_or_fallback(self.flows, self.lang, key, values)

    def when(self, epoch: int) -> str:
        return datetime.fromtimestamp(epoch, ZONE).strftime("%d-%m-%Y %H:%M")

    def build(self, db: sqlite3.Connection, who: str, now: int) -> str:
        stored, desk = self.stored(db, who)
        lines = [self.t("privacy.export.header", when=self.when(now)), "", *stored]
        # the safety desk's line only for a professional or someone with a report: a parent wondered what it was
        lines.append(self.t("privacy.export.footer", days=self.retention_days, desk=desk))
        return "\n".join(lines).rstrip() + "\n"

    def in_the_chat(self, db: sqlite3.Connection, who: str) -> Send:
        """What is stored, said in one message a phone shows (≤ MESSAGE_LIMIT), and how to delete it;
        when it is more, as much as fits and "Alles zien": the whole document, as "mijn gegevens" sends.

        Why: "wat weten jullie van mij?" asks for the person's own data; the general privacy text
        answered what the bot does, not what it holds about them (the brief of session 29).
        """
        stored, _desk = self.stored(db, who)
        lines = [line if len(line) <= LINE_SHOWN else line[:LINE_SHOWN].rstrip() + "…" for line in stored]
        intro, end = self.t("privacy.mine.intro"), self.t("privacy.mine.end", days=self.retention_days)
        text = "\n".join([intro, *lines]).rstrip() + "\n\n" + end
        if len(text) <= MESSAGE_LIMIT:
            return Send(text)
        more = self.t("privacy.mine.more")
        room = MESSAGE_LIMIT - len(intro) - len(more) - len(end) - 6  # the line breaks between them
        shown: list[str] = []
        for line in lines:
            if sum(len(s) + 1 for s in shown) + len(line) + 1 > room:
                break
            shown.append(line)
        while shown and shown[-1].lstrip().startswith("•"):  # a question without the answer that did not fit
            shown.pop()
        text = "\n".join([intro, *shown]).rstrip() + "\n…\n\n" + more + "\n" + end
        return Send(text, (ChoiceButton("mydata", self.t("privacy.mine.all")),), token=COMMAND_TOKEN)

    def stored(self, db: sqlite3.Connection, who: str) -> tuple[list[str], bool]:
        """Every line of what is stored about `who` (the export between its header and footer), and
        whether the safety desk's line belongs in the footer."""
        lines: list[str] = []
        found = desk = False
        for _key, blob, updated in db.execute(
                "SELECT key, state, updated_at FROM conversations WHERE who = pseudonym(?) ORDER BY updated_at",
                (who,)):
            found = True
            state = State.from_json(self.codec.decode(blob))
            desk = desk or (self.desk_available and state.vars.get("role") == "professional")
            lines += self.conversation(state, updated)
        desk_name = self.t("desk.name")
        for case in cases.cases_of(db, who):
            found = desk = True
            lines += self.case(db, case, desk_name)
        pending = timers.of_user(db, self.codec, who)
        if pending:
            found = True
            lines.append(self.t("privacy.export.timers"))
            for timer in pending:
                lines.append(f"  • {self.t('privacy.export.timer_line', title=timer.name, when=self.when(timer.due_at))}")
                if timer.values:
                    lines.append("    " + self.t("privacy.export.timer_values"))
                    said, _internal = self.in_the_persons_words(timer.values, dict(timer.values), [])
                    lines += ["  " + line for line in said]
            lines.append("")
        waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE who = pseudonym(?)", (who,)).fetchone()[0]
        if waiting:
            found = True
            lines += [self.t("privacy.export.outbox", items=str(waiting)), ""]
        if not found:
            lines += [self.t("privacy.export.none"), ""]
        return lines, desk

    def conversation(self, state: State, updated: int) -> list[str]:
        flow = self.flows.flows.get(state.flow)
        title = self.t(flow.title) if flow else state.flow
        asked = self.question_of(state.flow, state.step, state.vars)
        lang_key = f"sys.language_name.{state.lang}"
        language = self.t(lang_key) if self.flows.locales.has(self.lang, lang_key) else state.lang
        lines = [self.t("privacy.export.conversation", when=self.when(updated)),
                 "  " + self.t("privacy.export.position", title=title, text=asked or ""),
                 "  " + self.t("privacy.export.language", text=language)]
        answers = {k: v for k, v in state.vars.items() if not k.startswith("_")}
        flows = [state.flow, *(f for f, _ in reversed(state.stack))]
        visited = frozenset((flow_id, step_id) for flow_id, step_id, *_ in state.history)
        said, internal = self.in_the_persons_words(answers, state.vars, flows, visited)
        if said:
            lines.append("  " + self.t("privacy.export.answers"))
            lines += said
        else:
            lines.append("  " + self.t("privacy.export.no_answers"))
        if internal:
            lines.append("  " + self.t("privacy.export.internal", count=internal))
        for name, key in KEPT_TEXTS:  # typed text the engine keeps under its own names, shown too
            kept = state.vars.get(name)
            if isinstance(kept, list) and len(kept) >= 3:  # a held answer: [flow, step, text, ...]
                kept = kept[2]
            if isinstance(kept, str) and kept:
                lines += ["  " + self.t(key), "    " + kept]
        if state.vars.get("_crisis"):
            lines.append("  " + self.t("privacy.export.crisis_flag", person=self.desk_available))
        return [*lines, ""]

    def in_the_persons_words(self, answers: Mapping[str, Any], variables: dict[str, Any], flows: Sequence[str],
                             visited: frozenset[tuple[str, str]] = frozenset()) -> tuple[list[str], int]:
        """What the person gave, as the question and their answer, and what the bot worked out for
        them, in words; and how many stored values are only the bot's notes of where they are.

        Internal names (`case_typed`, `route: gi`, `stage: new`) meant nothing to a parent, and a
        value several buttons set ("org: gi") was once shown with another button's label, an
        answer the person never gave: a button is named only when it is the one that set every
        value it sets as stored now, and it is the only such button in the flows the person is in
        (else in any flow)."""
        lines: list[str] = []
        internal = 0
        named: set[tuple[str, str]] = set()  # (question, label) said once, however many values it set
        for name, value in answers.items():
            chosen = self.button_that_set(name, value, answers, flows, visited)
            if chosen is not None:
                if chosen not in named:
                    named.add(chosen)
                    lines += [f"    • {chosen[0] or self.t('privacy.export.chosen')}", f"      {chosen[1]}"]
                continue
            if value is None and name in self.computed():
                continue  # a flow's empty copy of an answer never given (or wiped): nothing is kept, so nothing said
            question = self.question_for(name, variables, flows)
            if question is not None:
                shown = self.in_words(value) if value is not None else self.t("privacy.export.not_given")
                pair = [f"    • {question}", f"      {shown}"]
            elif isinstance(value, Mapping) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
                pair = [f"    • {self.t('privacy.export.worked_out')}", f"      {self.in_words(value)}"]
            else:
                internal += 1
                continue
            # said once: a flow's copy of an answer (the organisation asked in two flows, a deadline's last
            # day kept beside the deadline) is the same line again to the person reading it
            said_before = "\n".join(lines)
            if f"{pair[0]}\n{pair[1]}" in said_before or (question is None and pair[1].strip() in said_before):
                internal += 1
                continue
            lines += pair
        return lines, internal

    def button_that_set(self, name: str, value: Any, answers: Mapping[str, Any], flows: Sequence[str],
                        visited: frozenset[tuple[str, str]]) -> tuple[str, str] | None:
        """(question, label) of the one button that set this value, judged by all it sets: at a question
        the person was asked (the history kept for "back"), else in their flows, else anywhere; None
        when buttons with different labels could have set it."""
        fits = [(flow_id, step_id, option) for flow_id, step_id, option in self._options()
                if name in option.set and option.set[name] == value
                and all(answers.get(k) == v for k, v in option.set.items())]
        tiers = [[f for f in fits if (f[0], f[1]) in visited],  # the questions the person was asked
                 *([f for f in fits if f[0] == where] for where in flows), fits]
        for here in tiers:
            said = {(self.question_of(flow_id, step_id, dict(answers)) or "", self.label(option.label, answers))
                    for flow_id, step_id, option in here}
            labels = {label for _, label in said}
            if len(labels) == 1:  # one answer; the question too, when every place asks it the same way
                questions = {question for question, _ in said}
                return (questions.pop() if len(questions) == 1 else "", labels.pop())
            if len(labels) > 1:
                return None  # several buttons could have: name none rather than a wrong one
        return None

    def question_for(self, name: str, variables: dict[str, Any], flows: Sequence[str]) -> str | None:
        """The question a typed answer answered, in the flow the person is in first."""
        for where in (*flows, None):
            for flow_id, flow in self.flows.flows.items():
                if where is not None and flow_id != where:
                    continue
                for step_id, step in flow.steps.items():
                    if (isinstance(step, AskStep) and step.save == name) or (  # or the words that chose a button
                            isinstance(step, ChooseStep) and step.keep_typed == name):
                        return self.question_of(flow_id, step_id, variables)
        return None

    def question_of(self, flow_id: str, step_id: str, variables: dict[str, Any]) -> str | None:
        """A question's first line, as the person saw it (at most 100 characters)."""
        step = self.flows.step(flow_id, step_id)
        key = step.ask if isinstance(step, AskStep) else step.choose if isinstance(step, ChooseStep) else None
        if key is None:
            return None
        try:
            text = self.flows.render(self.lang, key, variables)
        except Exception:  # a question that needs what is no longer stored: no question, the answer stays
            return None
        asked = QUESTION.search(text)  # the question itself, without a welcome before it or an example after it
        first = asked.group(0).strip() if asked else text.strip().split("\n", 1)[0]
        return first if len(first) <= 100 else first[:99].rstrip() + "…"

    def label(self, key: str, answers: Mapping[str, Any]) -> str:
        try:
            return self.flows.render(self.lang, key, dict(answers))
        except Exception:  # a label that needs an answer: its key says at least which button
            return key

    def computed(self) -> frozenset[str]:
        """Names a flow's `compute` step sets: an empty one is the bot's note, not an unanswered question
        (the letter's copy of the organisation's name showed as "Hoe heet de organisatie? (niet ingevuld)",
        the question of another flow, which the person was never asked)."""
        if self._computed is None:
            self._computed = frozenset(name for flow in self.flows.flows.values() for step in flow.steps.values()
                                       if isinstance(step, ComputeStep) for name in step.compute)
        return self._computed

    def _options(self) -> list[tuple[str, str, Option]]:
        if self._index is None:
            self._index = [(flow_id, step_id, option) for flow_id, flow in self.flows.flows.items()
                           for step_id, step in flow.steps.items() if isinstance(step, ChooseStep)
                           for option in step.options if option.set]
        return self._index

    def shown(self, value: Any) -> str:
        """A stored value as the person can read it: a computed one (a deadline a flow worked out,
        a list) in words, never as JSON, which a new user took for an error."""
        if isinstance(value, bool):
            return self.t("sys.yes" if value else "sys.no")
        if isinstance(value, Mapping):
            return self.record_in_words(value)
        if isinstance(value, list | tuple):
            return ", ".join(self.in_words(item) for item in value) or self.t("privacy.export.empty")
        return str(value)

    def in_words(self, value: Any) -> str:
        """A value inside a computed one: a date in words too (a top-level date keeps its stored
        form, with the words under it, from `meaning`)."""
        if isinstance(value, str) and ISO_DATE.fullmatch(value):
            return format_date(value, self.lang, self.flows.locales.month_names(self.lang))
        if value is None:
            return self.t("privacy.export.empty")
        return self.shown(value)

    def record_in_words(self, record: Mapping[str, Any]) -> str:
        """A computed record: a deadline as the rule, start and last day it was worked out from
        (`deadline_term`), anything else as its fields, each named in words where the locales
        name it (`privacy.export.fields.<name>`)."""
        if (str(record.get("entry")), str(record.get("rule"))) in self.flows.deadlines and "last_day" in record:
            return self.t("privacy.export.deadline_term", term=record)
        return "; ".join(f"{self.field(str(name))}: {self.in_words(value)}" for name, value in record.items())

    def field(self, name: str) -> str:
        key = f"privacy.export.fields.{name}"
        return self.t(key) if self.flows.locales.has(self.lang, key) else name

    def case(self, db: sqlite3.Connection, case: cases.Case, desk_name: str) -> list[str]:
        status = self.t(f"privacy.export.status.{case.status}") if case.status in STATUSES else case.status
        lines = [self.t("privacy.export.case", ref=case.ref, title=case.title or case.kind, text=status,
                        when=self.when(case.created_at))]
        body = cases.body_of(db, self.codec, case.id)
        if body and body.get("fields"):
            lines.append("  " + self.t("privacy.export.pending_report"))
            lines += [f"    {label}: {value}" for label, value in body["fields"]]
        you = self.t("privacy.export.you")
        for side, text, at in cases.transcript(db, self.codec, case.id):
            lines.append(f"    [{self.when(at)}] {you if side == 'user' else desk_name}: {text}")
        return [*lines, ""]


def write_export(core: Core, db: sqlite3.Connection, incoming: Incoming, action: ExportData,
                 turn: Turn) -> list[Send]:
    # Without a conversation (a first message, or right after "forget me") the
    # language is chosen as for every other reply: the user's app, then the default.
    lang = turn.state.lang if turn.state else core.flows.locales.pick(incoming.lang_hint, core.settings.default_lang)
    exporter = Exporter(core.flows, core.store.codec, lang, core.settings.retention_days, core.desk_available)
    if action.short:  # "wat weten jullie van mij?": said in the chat
        return [exporter.in_the_chat(db, who_of(str(incoming.key)))]
    content = exporter.build(db, who_of(str(incoming.key)), int(core.clock().timestamp()))
    document = Document(filename="mijn-gegevens.txt" if lang == "nl" else "my-data.txt",
                        title=exporter.t("privacy.export.title"), content=content,
                        caption=exporter.t("privacy.export.caption"))
    return [Send(exporter.t("privacy.export.intro"), document=document)]


# ---------------------------------------------------------------- forget me


#: Seconds forget-me waits for a reader of the file (a backup) to let go of the WAL.
WAL_WAIT_S = 5.0
#: Seconds between further tries when it did not (the retention run tries too).
WAL_RETRY_EVERY = 60.0
#: forget-me's WAL truncations in flight (tests wait for them)
WAL_TASKS: set[asyncio.Future[Any]] = set()


async def truncate_after_forget(core: Core, incoming: Incoming, lang: str) -> None:
    """Empty the WAL after a forget-me; if a reader holds it, say so plainly and keep trying.

    The rows are gone from the database either way (secure_delete zeroes them);
    only the write-ahead log may keep a copy of the old pages until a checkpoint
    can empty it, which a reader holding an old snapshot prevents.
    """
    if await core.store.truncate_wal(WAL_WAIT_S) or core.store.closed:
        return
    log.warning("after forget-me the write-ahead log could not be emptied (another program is reading "
                "the database file); it will be tried again every %d s", int(WAL_RETRY_EVERY))
    text = render_or_fallback(core.flows, lang, "privacy.wal_pending", {})
    await core.send(incoming.key, [Send(text)])


async def retry_wal(core: Core) -> None:
    if core.store.wal_pending and await core.store.truncate_wal():
        log.info("the write-ahead log is empty now: nothing forgotten is left in it")


# ---------------------------------------------------------------- retention


@dataclass(slots=True)
class Purged:
    conversations: int = 0
    outbox: int = 0
    timers: int = 0
    talks: int = 0
    reports: int = 0
    undelivered_reports: int = 0
    relay_messages: int = 0
    notices: int = 0
    handled: int = 0
    inbox: int = 0

    def total(self) -> int:
        return sum(asdict(self).values())

    def summary(self) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in asdict(self).items())


def purge(db: sqlite3.Connection, now: int, retention_days: int, relay_days: int) -> Purged:
    """Delete what is older than the retention periods (one transaction)."""
    old = now - retention_days * DAY
    relay_old = now - relay_days * DAY
    done = Purged()
    done.conversations = db.execute("DELETE FROM conversations WHERE updated_at < ?", (old,)).rowcount
    done.outbox = db.execute("DELETE FROM outbox WHERE created_at < ?", (old,)).rowcount
    done.timers = timers.expire(db, old)
    desk = cases.expire(db, old, relay_old)
    done.relay_messages, done.talks = desk.relay_messages, desk.talks
    done.undelivered_reports, done.reports, done.notices = desk.undelivered_reports, desk.reports, desk.notices
    done.handled = db.execute("DELETE FROM handled WHERE at < ?", (old,)).rowcount
    done.inbox = inbox.expire(db, old)
    return done


async def purge_store(store: Store, settings: Settings, now: int | None = None) -> Purged:
    moment = int(store.clock().timestamp()) if now is None else now
    done = await store.execute(purge, moment, settings.retention_days, settings.relay_retention_days)
    if not await store.truncate_wal(WAL_WAIT_S):
        log.warning("the write-ahead log could not be emptied after the retention run (another program is "
                    "reading the database file); it will be tried again")
    if done.undelivered_reports:
        log.error("retention deleted %d report(s) that never reached a desk: check WEGWIJZER_DESKS",
                  done.undelivered_reports)
    return done


async def purge_core(core: Core) -> Purged:
    done = await purge_store(core.store, core.settings, int(core.clock().timestamp()))
    if done.talks:
        desk = desk_of(core)
        if desk is not None:
            desk.talks = dict(await core.store.execute(cases.open_talks, write=False))
    if done.total():
        log.info("retention: %s", done.summary())
    return done


async def purge_loop(core: Core) -> None:
    await every(PURGE_EVERY, lambda: purge_core(core), "retention run")


# ---------------------------------------------------------------- wiring


class Privacy(CoreFeature):
    """"My data", the WAL after "forget me", retention. Its rows are every feature's: it has no tables."""

    tables: ClassVar[Tables] = NO_TABLES

    def writers(self) -> Mapping[type, ActionWriter]:
        return {ExportData: self.write_export}

    def write_export(self, db: sqlite3.Connection, incoming: Incoming, action: ExportData,
                     turn: Turn) -> list[Send]:
        return write_export(self.core, db, incoming, action, turn)

    def on_turn(self, incoming: Incoming, turn: Turn) -> None:
        if any(isinstance(a, ForgetUser) for a in turn.actions):
            core = self.core
            lang = turn.lang or core.flows.locales.pick(incoming.lang_hint, core.settings.default_lang)
            task = asyncio.ensure_future(truncate_after_forget(core, incoming, lang))
            WAL_TASKS.add(task)
            task.add_done_callback(WAL_TASKS.discard)

    def background(self) -> Sequence[Loop]:
        core = self.core
        return [lambda: purge_loop(core),
                lambda: every(WAL_RETRY_EVERY, lambda: retry_wal(core), "write-ahead log retry")]


#: Attach "my data", forget-me's WAL and retention to a core (what bot.app does for every feature).
setup = Privacy.add_to
