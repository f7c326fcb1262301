"""Moderators at work on a running bot: reload the flows safely, read the statistics.

Why it looks like this:
- One `reload()` behind every trigger (the /reload chat command, the file
  watcher, SIGHUP), so they cannot drift apart. It loads and checks the whole
  flow set (flows, texts, directory, crisis rules) off the event loop, and
  only a set that passed every check is swapped in, in one assignment.
  Anything else keeps the running set and reports every error with
  file:line: in the chat for /reload, in the log for the watcher and SIGHUP.
- Moderator commands are answered by the core before the engine, and only
  when the sender is a configured moderator (`settings.moderators`, e.g.
  "telegram:123", "matrix:@mod:example.org", "console:local"). Anyone else
  typing /reload reaches the engine and gets its ordinary unknown-command
  answer: no hint that the command exists.
- Every moderator action goes to the audit log (bot.audit) with who, when
  and the version running afterwards.
- Moderators are users too: what they read in the chat comes from
  locales/<lang>/moderation.yaml (`moderation.*`), in the language of their
  own conversation with the bot. The checker's error lines stay as they are
  (technical, the same as on the command line); the log and the audit trail
  stay in English.

What it must never do: log or show what a user typed, or show a user id in
the statistics (they count events per ISO week, nothing else).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from bot import audit
from bot.clock import iso_week
from bot.core import Core
from bot.engine.words import COMMAND_TEXT, typed_number
from bot.events import Command, ConversationKey, Incoming, Send, Text
from bot.features import Answer, Feature, Service
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flows
from bot.flows.problems import FlowSetInvalid, Problem
from bot.schema import Tables
from bot.state import State
from bot.texts import render_or_facts

log = logging.getLogger(__name__)

#: Commands answered for moderators only.
COMMANDS = frozenset({"reload", "stats"})
#: Weeks `/stats` shows when no number is given, and the most it shows.
STATS_WEEKS = 8
STATS_WEEKS_MAX = 104
#: The watcher waits for this much quiet after a change (an editor saving
#: several files, a `git pull`) before reloading, but never longer than WATCH_MAX_MS.
WATCH_QUIET_MS = 500
WATCH_MAX_MS = 5000
#: Files whose change means the flow set changed.
WATCHED_SUFFIXES = (".yaml", ".yml", ".tsv", ".json")  # .json: the crisis model


def moderator_id(key: ConversationKey) -> str:
    """The id moderators are configured by: "<platform>:<user>"."""
    return f"{key.platform}:{key.user}"


def command_of(incoming: Incoming) -> tuple[str, str] | None:
    """(name, args) when the update is a slash command, typed as a command or as text."""
    event = incoming.event
    if isinstance(event, Command):
        return event.name.lower().lstrip("/"), event.args.strip()
    if isinstance(event, Text):
        found = COMMAND_TEXT.match(event.text.strip())
        if found:
            return found.group(1).lower(), (found.group(2) or "").strip()
    return None


# ---------------------------------------------------------------- texts

#: t(key, **values): a `moderation.*` text in the moderator's language.
Say = Callable[..., str]

def texts_for(flows: FlowSet, lang: str) -> Say:
    """The moderator's texts from `flows`; never raises, so a moderator always gets an answer.

    A flow set without locales/*/moderation.yaml (a trial set) gets the key and
    the facts instead, and one error in the log per missing text.
    """

    def say(key: str, **values: Any) -> str:
        return render_or_facts(flows, lang, key, values, needs="locales/*/moderation.yaml")

    return say


# ---------------------------------------------------------------- reloading


@dataclass(frozen=True, slots=True)
class Change:
    """One thing a reload changed: a `moderation.change.*` text for the chat, `english` for log and audit."""

    key: str  # written out in full, so `check` finds it (bot.flows.check.code_text_keys)
    english: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.english

    def text(self, say: Say) -> str:
        return say(self.key, **self.values)


@dataclass(slots=True)
class ReloadOutcome:
    """What one reload did, for whoever asked (chat answer or log lines)."""

    outcome: str  # ok, unchanged, failed
    version: str  # the version running now
    previous: str
    loaded_at: str  # when the running version was loaded
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: int = 0
    #: on failure: the loader's message (log, audit; the chat when no error has a file:line)
    summary: str = ""
    #: on failure other than invalid files: the exception, "Type: message"
    error: str = ""
    #: after a good reload: what is running now
    flows: int = 0
    languages: int = 0
    entries: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"

    def report(self, say: Say) -> str:
        """The moderator's answer: what happened and, on failure, every error with file:line."""
        if self.outcome == "failed":
            errors = [p for p in self.problems if p.severity == "error"]
            causes = {str(p.where) for p in errors}
            shown = [p for p in errors if p.follows not in causes]  # a step a typo cut off: counted under the typo
            head = say("moderation.reload.failed", count=len(shown) or 1, version=self.version,
                       when=self.loaded_at)
            if errors:
                body = "\n".join(_with_follow_ons(p, errors, say) for p in shown)
            elif self.error:
                body = say("moderation.reload.could_not_load", text=self.error)
            else:
                body = self.summary
            return f"{head}\n\n{body}\n\n{say('moderation.reload.fix')}"
        if self.outcome == "unchanged":
            return say("moderation.reload.unchanged", version=self.version)
        lines = [say("moderation.reload.done", version=self.version, previous=self.previous,
                     flows=self.flows, languages=self.languages, entries=self.entries)]
        lines += [f"• {change.text(say)}" for change in self.changes]
        if self.warnings:
            lines.append(say("moderation.reload.warnings", count=self.warnings))
        return "\n".join(lines)


def _with_follow_ons(problem: Problem, errors: list[Problem], say: Say) -> str:
    """An error as `check` prints it, and after it how many errors follow from it ("en 43 stappen daarna die
    daardoor niet te bereiken zijn"), in the moderator's language; `python -m bot check` lists each."""
    count = sum(1 for p in errors if p.follows and p.follows == str(problem.where))
    return f"{problem}\n{say('moderation.reload.follow_on', count=count)}" if count else str(problem)


def describe_changes(old: FlowSet, new: FlowSet) -> list[Change]:
    """What a moderator should know about a swap, above all the steps conversations may have been on."""
    fresh_start = " (conversations there are offered a fresh start)"
    changes: list[Change] = []
    added = sorted(set(new.flows) - set(old.flows))
    removed = sorted(set(old.flows) - set(new.flows))
    if added:
        names = ", ".join(added)
        changes.append(Change("moderation.change.new_flows", f"new flows: {names}", {"items": names}))
    if removed:
        names = ", ".join(removed)
        changes.append(Change("moderation.change.removed_flows", f"removed flows: {names}{fresh_start}",
                              {"items": names}))
    for flow_id in sorted(set(old.flows) & set(new.flows)):
        before, after = old.flows[flow_id], new.flows[flow_id]
        if before == after:
            continue
        gone = ", ".join(sorted(set(before.steps) - set(after.steps)))
        if gone:
            changes.append(Change("moderation.change.steps_removed",
                                  f"flow {flow_id} changed; removed steps {gone}{fresh_start}",
                                  {"flow": flow_id, "items": gone}))
        else:
            changes.append(Change("moderation.change.flow_changed", f"flow {flow_id} changed", {"flow": flow_id}))
    texts = sum(
        1 for lang in set(old.locales.texts) | set(new.locales.texts)
        for key in set(old.locales.texts.get(lang, {})) | set(new.locales.texts.get(lang, {}))
        if _source(old, lang, key) != _source(new, lang, key)
    )
    if texts:
        changes.append(Change("moderation.change.texts", f"{texts} text(s) changed, added or removed",
                              {"count": texts}))
    entries = sum(1 for entry in set(old.cards) | set(new.cards) if old.cards.get(entry) != new.cards.get(entry))
    if entries:
        changes.append(Change("moderation.change.entries",
                              f"{entries} directory entr{'y' if entries == 1 else 'ies'} changed, added or removed",
                              {"count": entries}))
    if old.crisis_routes != new.crisis_routes:
        changes.append(Change("moderation.change.crisis", "crisis classes or their replies changed"))
    return changes


def _source(flows: FlowSet, lang: str, key: str) -> str | None:
    entry = flows.locales.texts.get(lang, {}).get(key)
    return entry.source if entry else None


class Moderation(Feature):
    """The moderator desk of one running core: reload and statistics, each audited."""

    tables: ClassVar[Tables] = audit.TABLES

    def __init__(self, core: Core, load: Callable[[], FlowSet] | None = None) -> None:
        self.core = core
        self._load = load or self._load_configured
        self._lock = asyncio.Lock()

    def _load_configured(self) -> FlowSet:
        return load_flows(self.core.settings, self.core.clock)

    # ------------------------------------------------------------ chat commands
    @classmethod
    async def attach(cls, core: Core) -> Moderation:
        """Answer moderators' commands and record the version going live."""
        found = moderation_of(core)
        await audit.record_version(core.store, core.flows, "start")
        return found

    def intercept(self, incoming: Incoming) -> Answer | None:
        """The core's hook: claim a moderator's command; leave everything else to the engine."""
        who = moderator_id(incoming.key)
        if who not in self.core.settings.moderators:
            return None
        command = command_of(incoming)
        if command is None or command[0] not in COMMANDS:
            return None
        name, args = command
        if name == "reload":
            return lambda: self._chat_reload(who, incoming)
        return lambda: self._chat_stats(who, args, incoming)

    async def language_of(self, incoming: Incoming) -> str:
        """The moderator's language: their conversation's, else their app's, else the default."""
        raw = await self.core.store.state(str(incoming.key))
        return self.core.flows.locales.pick(State.from_json(raw).lang if raw else None, incoming.lang_hint,
                                            self.core.settings.default_lang)

    async def _chat_reload(self, who: str, incoming: Incoming) -> list[Send]:
        outcome = await self.reload(who=who, trigger="chat")
        say = texts_for(self.core.flows, await self.language_of(incoming))  # the set running now
        return [Send(outcome.report(say))]

    async def _chat_stats(self, who: str, args: str, incoming: Incoming) -> list[Send]:
        typed = typed_number(args)
        weeks = typed if typed is not None else STATS_WEEKS
        weeks = max(1, min(weeks, STATS_WEEKS_MAX))
        text = await self.stats_report(weeks, await self.language_of(incoming))
        await audit.record_action(self.core.store, audit.AuditEntry(
            audit.now_text(self.core.clock()), who, "stats", "ok", self.core.flows.version, f"weeks={weeks}"))
        return [Send(text)]

    # ------------------------------------------------------------ reload
    async def reload(self, *, who: str, trigger: str) -> ReloadOutcome:
        """Load and check everything; swap it in only when valid. Never raises for a bad edit."""
        async with self._lock:
            running = self.core.flows
            try:
                fresh = await asyncio.to_thread(self._load)
            except FlowSetInvalid as exc:
                outcome = ReloadOutcome("failed", running.version, running.version, running.loaded_at,
                                        problems=exc.problems, summary=str(exc))
            except Exception as exc:  # a bug or an unreadable file must not stop the bot either
                log.exception("reload (%s) could not load the flow set", trigger)
                error = f"{type(exc).__name__}: {exc}"
                outcome = ReloadOutcome("failed", running.version, running.version, running.loaded_at,
                                        summary=f"the flow set could not be loaded: {error}", error=error)
            else:
                self.core.swap_flows(fresh)
                changed = fresh.version != running.version
                outcome = ReloadOutcome(
                    "ok" if changed else "unchanged", fresh.version, running.version, fresh.loaded_at,
                    changes=describe_changes(running, fresh), warnings=len(fresh.warnings),
                    flows=len(fresh.flows), languages=len(fresh.locales.languages), entries=len(fresh.cards))
                if changed:
                    await audit.record_version(self.core.store, fresh, trigger)
            if outcome.outcome == "failed":
                detail = "\n".join(str(p) for p in outcome.problems if p.severity == "error") or outcome.summary
            else:
                detail = "; ".join([f"from {outcome.previous}", *map(str, outcome.changes)])
            await audit.record_action(self.core.store, audit.AuditEntry(
                audit.now_text(self.core.clock()), who, "reload", outcome.outcome, outcome.version, detail))
            return outcome

    # ------------------------------------------------------------ statistics
    async def stats_report(self, weeks: int, lang: str | None = None) -> str:
        """Per week and flow: conversations started and how many reached each end. Counts only."""
        since = iso_week(self.core.clock() - timedelta(weeks=weeks - 1))
        table: dict[str, dict[str, int]] = {}
        for week_id, event, n in await self.core.store.stats():
            if week_id >= since:
                table.setdefault(week_id, {})[event] = n
        flows = self.core.flows
        lang = lang or self.core.settings.default_lang
        say = texts_for(flows, lang)
        lines = [say("moderation.stats.title", weeks=weeks, version=flows.version)]
        if not table:
            lines.append("\n" + say("moderation.stats.nothing"))
        for week_id in sorted(table, reverse=True):
            lines.append(f"\n{week_id}")
            lines += _week_lines(table[week_id], flows, lang, say)
        return "\n".join(lines)


def _week_lines(counts: dict[str, int], flows: FlowSet, lang: str, say: Say) -> list[str]:
    started: dict[str, int] = {}
    ends: dict[str, dict[str, int]] = {}
    crisis: dict[str, int] = {}
    forgotten = 0
    for event, n in counts.items():
        kind, _, rest = event.partition(":")
        if kind == "start":
            started[rest] = started.get(rest, 0) + n
        elif kind == "end":
            flow, _, where = rest.partition(":")
            ends.setdefault(flow, {})[where] = n
        elif kind == "crisis":
            crisis[rest] = n
        elif kind == "forget":
            forgotten += n
    lines = []
    for flow in sorted(set(started) | set(ends)):
        title = _title(flows, flow, lang)
        count = started.get(flow, 0)
        if title:
            lines.append("  " + say("moderation.stats.started_titled", flow=flow, title=title, count=count))
        else:
            lines.append("  " + say("moderation.stats.started", flow=flow, count=count))
        for where, n in sorted(ends.get(flow, {}).items()):
            lines.append("    " + say("moderation.stats.ended", step=where, count=n))
    if crisis:
        items = ", ".join(f"{name} {n}" for name, n in sorted(crisis.items()))
        lines.append("  " + say("moderation.stats.crisis", items=items))
    if forgotten:
        lines.append("  " + say("moderation.stats.forgotten", count=forgotten))
    return lines


def _title(flows: FlowSet, flow: str, lang: str) -> str:
    found = flows.flows.get(flow)
    return flows.render(lang, found.title, {}) if found else ""


# ---------------------------------------------------------------- wiring

_DESKS: weakref.WeakKeyDictionary[Core, Moderation] = weakref.WeakKeyDictionary()


def moderation_of(core: Core) -> Moderation:
    """The one Moderation of a core, so every trigger shares its reload lock."""
    found = _DESKS.get(core)
    if found is None:
        found = _DESKS[core] = Moderation(core)
        core.add(found)
    return found


async def setup(core: Core) -> Moderation:
    """Attach moderation to a core (what bot.app does for every feature)."""
    return await Moderation.attach(core)


def log_outcome(outcome: ReloadOutcome, trigger: str) -> None:
    """Watcher and SIGHUP have no chat to answer in: the log is where the moderator looks."""
    if outcome.outcome == "failed":
        log.error("reload (%s) failed; still running version %s:\n%s", trigger, outcome.version,
                  "\n".join(str(p) for p in outcome.problems if p.severity == "error") or outcome.summary)
    elif outcome.outcome == "ok":
        log.info("reload (%s): version %s (was %s); %s", trigger, outcome.version, outcome.previous,
                 "; ".join(map(str, outcome.changes)) or "no visible changes")
    else:
        log.debug("reload (%s): nothing changed", trigger)


class ReloadTriggers(Service):
    """The file watcher and SIGHUP of a running bot; both call the same `reload()`."""

    def __init__(self, core: Core, *, watch: bool = True, quiet_ms: int = WATCH_QUIET_MS) -> None:
        self.moderation = moderation_of(core)
        self.core = core
        self.watch = watch
        self.quiet_ms = quiet_ms
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sighup = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # no SIGHUP on Windows
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True
        if self.watch:
            self._spawn(self._watch())

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._sighup:  # while the tasks wind down, a SIGHUP (a closing terminal) neither reloads nor kills
            loop.add_signal_handler(signal.SIGHUP, lambda: None)
        self._stop.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sighup:  # last, with no await after it, so the caller sets what SIGHUP does next at once
            loop.remove_signal_handler(signal.SIGHUP)
            self._sighup = False

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading the flows")
        self._spawn(self._reload("sighup"))

    async def _reload(self, trigger: str) -> None:
        log_outcome(await self.moderation.reload(who=trigger, trigger=trigger), trigger)

    def paths(self) -> list[Path]:
        settings = self.core.settings
        return [p for p in (settings.flows_dir, settings.locales_dir) if p.is_dir()]

    async def _watch(self) -> None:
        # Imported here: watchfiles (and the anyio it brings) is only needed when the watcher runs.
        from watchfiles import DefaultFilter, awatch

        default = DefaultFilter()

        def relevant(change: object, path: str) -> bool:
            return path.endswith(WATCHED_SUFFIXES) and default(change, path)  # type: ignore[arg-type]

        while not self._stop.is_set():
            try:
                async for _changes in awatch(*self.paths(), watch_filter=relevant, step=self.quiet_ms,
                                             debounce=WATCH_MAX_MS, stop_event=self._stop):
                    await self._reload("watcher")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the flow watcher stopped; restarting it in 5 s")
                await asyncio.sleep(5)
            else:
                return


async def start_reload_triggers(core: Core) -> ReloadTriggers:
    """bot.app's run_platforms: the watcher (unless settings.watch_flows is off) and SIGHUP."""
    triggers = ReloadTriggers(core, watch=core.settings.watch_flows)
    await triggers.start()
    return triggers
