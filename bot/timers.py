"""Timers: a flow's `schedule` step fires later as a Timer event, across restarts.

- `Schedule(name, at)` is written in the turn's own transaction (a writer),
  so a check-in the user was promised is never lost to a crash. One timer per
  (conversation, name): scheduling a name again moves it; `at` giving None
  (`schedule: {name: grace, at: "None"}`) cancels it.
- `CancelTimers` deletes the conversation's timers in the same way.
- A loop in the core process fires due timers through `Core.handle` with
  update_id "timer:<token>" (a fresh random token per scheduled timer), so a
  fire is handled once even when the bot stops between handling it and
  deleting the row; a timer that was due while the bot was down fires at start.
- Times are stored as UTC epoch seconds; `at` without a zone is Dutch time.
  The due time stays readable (the loop asks for what is due); the timer's
  name and its conversation are sealed or pseudonymised (bot/pseudonyms.py).
- A timer keeps the flow's variables of the moment it was set (encrypted), so
  a check-in alert still carries the address the professional gave when they
  started another flow meanwhile (events.Timer.values).

Never log a conversation key, a time a user gave, or anything a flow saved.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from bot.core import ZONE
from bot.events import CancelTimers, ConversationKey, Incoming, Schedule, Send, Timer
from bot.features import ActionWriter, CoreFeature, Loop
from bot.periodic import every
from bot.schema import EncryptedColumn, Tables, run_script
from bot.store import Codec, add_column, who_of

if TYPE_CHECKING:
    from bot.core import Core
    from bot.engine import Turn

log = logging.getLogger(__name__)

#: Seconds between looks for due timers.
TICK = 1.0
#: Timers fired per look (the rest wait for the next tick).
BATCH = 100
#: What `at` gives when a flow cancels a timer (`schedule: {name: x, at: "None"}`).
CANCEL = frozenset({"None", ""})


#: The timers' table: due times readable, names and addresses sealed, the flow's values encrypted.
TABLES = Tables(
    "timers",
    user_columns=[("timers", "who")],
    pseudonymous=[("timers", "key"), ("timers", "who"), ("timers", "name")],
    sealed=[("timers", "addr"), ("timers", "label")],
    encrypted=[EncryptedColumn("timers", "vars", "id"), EncryptedColumn("timers", "addr", "id"),
               EncryptedColumn("timers", "label", "id")],
)


@TABLES.migration(3, "check-in timers")
def _m3_timers(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE IF NOT EXISTS timers (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            name TEXT NOT NULL,
            lang TEXT,
            due_at INTEGER NOT NULL,
            token TEXT NOT NULL,
            UNIQUE (key, name)
        );
        CREATE INDEX IF NOT EXISTS timers_due ON timers(due_at);
        CREATE INDEX IF NOT EXISTS timers_who ON timers(who);
        """
    )


@TABLES.migration(4, "a timer keeps the flow's variables of the moment it was set (encrypted)")
def _m4_timer_values(db: sqlite3.Connection) -> None:
    add_column(db, "timers", "vars", "BLOB")


@TABLES.migration(5, "a timer keeps its address and name sealed")
def _m5_sealed_timers(db: sqlite3.Connection) -> None:
    add_column(db, "timers", "addr", "BLOB")
    add_column(db, "timers", "label", "BLOB")
    db.execute("UPDATE timers SET addr = seal(key), label = seal(name)")


@dataclass(frozen=True, slots=True)
class PendingTimer:
    id: int
    key: str
    name: str
    lang: str | None
    due_at: int
    token: str
    #: the flow's variables when the timer was set (see events.Timer)
    values: dict[str, Any]


#: the address and name are sealed, `key`/`name`/`who` hold pseudonyms (bot/pseudonyms.py)
_COLUMNS = "id, unseal(addr), unseal(label), lang, due_at, token, vars"


def _timer(codec: Codec, row: Sequence[Any]) -> PendingTimer:
    timer_id, key, name, lang, due_at, token, blob = row
    values = json.loads(codec.decode(blob)) if blob is not None else {}
    return PendingTimer(timer_id, key, name, lang, due_at, token, values)


def parse_moment(at: str) -> int | None:
    """An ISO date-time (or date) from a flow expression -> epoch seconds; None if unreadable."""
    try:
        moment = datetime.fromisoformat(str(at).strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    return int(moment.timestamp())


# ---------------------------------------------------------------- in the turn's transaction


def write_schedule(codec: Codec, db: sqlite3.Connection, incoming: Incoming, action: Schedule,
                   turn: Turn) -> Sequence[Send]:
    key = str(incoming.key)
    db.execute("DELETE FROM timers WHERE key = pseudonym(?) AND name = pseudonym(?)", (key, action.name))
    if action.at.strip() in CANCEL:
        return []  # `at: "None"`: the flow cancels this timer
    due = parse_moment(action.at)
    if due is None:
        log.error("schedule %r: the flow gave a time that is not an ISO date-time; no timer set", action.name)
        return []
    lang = turn.state.lang if turn.state else None
    values = {k: v for k, v in turn.state.vars.items() if not k.startswith("_")} if turn.state else {}
    db.execute("INSERT INTO timers(key, who, name, addr, label, lang, due_at, token, vars) "
               "VALUES (pseudonym(?), pseudonym(?), pseudonym(?), seal(?), seal(?), ?, ?, ?, ?)",
               (key, who_of(key), action.name, key, action.name, lang, due, secrets.token_hex(8),
                codec.encode(json.dumps(values, ensure_ascii=False))))
    return []


def write_cancel(db: sqlite3.Connection, incoming: Incoming, action: CancelTimers, turn: Turn) -> Sequence[Send]:
    db.execute("DELETE FROM timers WHERE key = pseudonym(?)", (str(incoming.key),))
    return []


# ---------------------------------------------------------------- firing


def _due(db: sqlite3.Connection, codec: Codec, now: int) -> list[PendingTimer]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM timers WHERE due_at <= ? "  # noqa: S608 - fixed names
                      "ORDER BY due_at, id LIMIT ?", (now, BATCH)).fetchall()
    return [_timer(codec, row) for row in rows]


def of_user(db: sqlite3.Connection, codec: Codec, who: str) -> list[PendingTimer]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM timers WHERE who = pseudonym(?) "  # noqa: S608 - fixed names
                      "ORDER BY due_at, id", (who,)).fetchall()
    return [_timer(codec, row) for row in rows]


def expire(db: sqlite3.Connection, older_than: int) -> int:
    """Retention (bot/privacy.py): timers due before `older_than` that never fired; how many."""
    return db.execute("DELETE FROM timers WHERE due_at < ?", (older_than,)).rowcount


def _drop(db: sqlite3.Connection, timer_id: int, token: str) -> None:
    # by token too: the fire may have rescheduled the same name (a new row)
    db.execute("DELETE FROM timers WHERE id = ? AND token = ?", (timer_id, token))


async def pending(core: Core) -> list[PendingTimer]:
    """Every timer not yet fired."""
    codec = core.store.codec
    rows = await core.store.execute(lambda db: db.execute(
        f"SELECT {_COLUMNS} FROM timers ORDER BY due_at, id").fetchall(), write=False)  # noqa: S608
    return [_timer(codec, row) for row in rows]


async def fire_due(core: Core) -> int:
    """Fire every timer that is due now; return how many fired."""
    now = int(core.clock().timestamp())
    fired = 0
    for timer in await core.store.execute(_due, core.store.codec, now, write=False):
        event = Timer(timer.name, tuple(sorted(timer.values.items())))
        incoming = Incoming(ConversationKey.parse(timer.key), event,
                            update_id=f"timer:{timer.token}", lang_hint=timer.lang)
        try:
            await core.handle(incoming)
        except Exception:
            log.exception("timer %r could not be handled; will try again", timer.name)
            continue
        await core.store.execute(_drop, timer.id, timer.token)
        fired += 1
    if fired:
        log.info("fired %d timer(s)", fired)
    return fired


async def timer_loop(core: Core) -> None:
    await every(TICK, lambda: fire_due(core), "timer round")


class Timers(CoreFeature):
    """Store Schedule/CancelTimers with the turn, fire them on time."""

    tables: ClassVar[Tables] = TABLES

    def writers(self) -> Mapping[type, ActionWriter]:
        return {Schedule: self.write_schedule, CancelTimers: write_cancel}

    def write_schedule(self, db: sqlite3.Connection, incoming: Incoming, action: Schedule,
                       turn: Turn) -> Sequence[Send]:
        return write_schedule(self.core.store.codec, db, incoming, action, turn)

    def background(self) -> Sequence[Loop]:
        return [lambda: timer_loop(self.core)]


#: Attach the timers to a core (what bot.app does for every feature).
setup = Timers.add_to
