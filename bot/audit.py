"""The moderators' logbook: who reloaded the flows or read the statistics, when, on which version.

Why: a parents' organisation must be able to answer "who changed what the
bot says, and when" without reading server logs. Two tables (`TABLES`,
migration 2): `audit` for every moderator action, `flow_versions` for every
flow set the bot ran. `python -m bot audit` reads both.

What it must never hold: a user id or anything a user typed. Moderators are
staff acting in that role; their platform id is the point of the log.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.flows.flowset import FlowSet
from bot.schema import Tables, run_script
from bot.store import Store

#: Longest detail kept per entry: enough for every error of a failed reload.
DETAIL_LIMIT = 20_000

#: The logbook's tables (no user ids, nothing encrypted: see above).
TABLES = Tables("audit")


@TABLES.migration(2, "flow versions loaded and moderators' actions")
def _m2_moderation(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE IF NOT EXISTS flow_versions (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL,
            loaded_at TEXT NOT NULL,
            trigger TEXT NOT NULL,
            flows INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            version TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        """
    )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: str
    who: str
    action: str  # reload, stats
    outcome: str  # ok, unchanged, failed
    version: str  # the version running after the action
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LoadedVersion:
    version: str
    loaded_at: str
    trigger: str  # start, chat, watcher, sighup
    flows: int


def now_text(moment: datetime) -> str:
    """An audit time: UTC, to the second (the moment comes from the product's clock)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


async def record_action(store: Store, entry: AuditEntry) -> None:
    def write(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO audit(at, who, action, outcome, version, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (entry.at, entry.who, entry.action, entry.outcome, entry.version,
                    entry.detail[:DETAIL_LIMIT]))

    await store.execute(write)


async def record_version(store: Store, flows: FlowSet, trigger: str) -> None:
    """Remember that this flow set went live, so a conversation's State.version can be traced."""
    await store.execute(lambda db: db.execute(
        "INSERT INTO flow_versions(version, loaded_at, trigger, flows) VALUES (?, ?, ?, ?)",
        (flows.version, flows.loaded_at, trigger, len(flows.flows))))


async def actions(store: Store, limit: int = 50) -> list[AuditEntry]:
    """The newest `limit` entries, oldest first (reads like a logbook)."""
    rows = await store.execute(lambda db: db.execute(
        "SELECT at, who, action, outcome, version, detail FROM audit ORDER BY id DESC LIMIT ?",
        (limit,)).fetchall(), write=False)
    return [AuditEntry(*row) for row in reversed(rows)]


async def versions(store: Store, limit: int = 50) -> list[LoadedVersion]:
    rows = await store.execute(lambda db: db.execute(
        "SELECT version, loaded_at, trigger, flows FROM flow_versions ORDER BY id DESC LIMIT ?",
        (limit,)).fetchall(), write=False)
    return [LoadedVersion(*row) for row in reversed(rows)]


def format_action(entry: AuditEntry, *, full: bool = False) -> str:
    line = f"{entry.at}  {entry.who:<24} {entry.action:<7} {entry.outcome:<9} version {entry.version}"
    if not entry.detail:
        return line
    detail = entry.detail if full else entry.detail.splitlines()[0]
    return line + "\n" + "\n".join(f"    {part}" for part in detail.splitlines())
