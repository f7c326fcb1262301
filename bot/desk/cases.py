"""The desk's rows: cases (reports and requests for a person), posts, relay text.

Plain functions over a sqlite3 connection, run on the store thread inside a
transaction (Store.execute or a turn's writer). The tables and their
migrations are `TABLES` below (bot/schema.py).

- cases: one per report (kind "report") or request for a person ("talk").
  `who`/`key` (pseudonyms) link it to the user, `addr` (sealed) says where to
  reach them, `title` is sealed too; a delivered report outlives "forget me"
  without them. `body` (encrypted) holds a report's content only until every
  desk has its card. status: open -> claimed (report) | active (talk) ->
  ended | withdrawn.
- desk_outbox: what still has to be posted in a desk room (encrypted), retried
  until the platform accepts it; `what` is card | relay | notice. Notices
  (claimed, ended, withdrawn) hold no user text and are not tied to a case,
  so they still go out when the user is forgotten.
- desk_messages: which posted message belongs to which case, so a desk
  member's reply to it reaches the right user.
- relay_messages: the talk's text both ways (encrypted), for the claimer to
  read what came before, for "my data", deleted by retention and forget-me.

Never log a row's text, key or who.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.desk.commands import format_ref
from bot.schema import EncryptedColumn, Tables, run_script
from bot.store import SEP, Codec, add_column, queue_outbox, who_of

#: The desk's tables: what they hold about a user, and what is pseudonymised, sealed or encrypted.
TABLES = Tables(
    "desk",
    # relay text first: a forgotten user's rows go, a delivered report stays (SafetyDesk.forget)
    user_columns=[("relay_messages", "who"), ("cases", "who")],
    pseudonymous=[("cases", "key"), ("cases", "who"), ("cases", "claimed_by"), ("relay_messages", "who"),
                  ("desk_messages", "message_id")],
    sealed=[("cases", "addr"), ("cases", "title")],
    encrypted=[EncryptedColumn("cases", "body", "id"), EncryptedColumn("desk_outbox", "payload", "id"),
               EncryptedColumn("relay_messages", "body", "id"), EncryptedColumn("cases", "addr", "id"),
               EncryptedColumn("cases", "title", "id")],
)


@TABLES.migration(3, "reports and hand-offs, their posts in desk rooms, relay text")
def _m3_safety_desk(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE IF NOT EXISTS cases (
            id INTEGER PRIMARY KEY,
            ref TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            who TEXT,
            key TEXT,
            lang TEXT NOT NULL,
            urgent INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            title TEXT,
            alias TEXT,
            body BLOB,
            created_at INTEGER NOT NULL,
            delivered_at INTEGER,
            claimed_at INTEGER,
            claimed_by TEXT,
            claimed_in TEXT,
            ended_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS cases_who ON cases(who);
        CREATE INDEX IF NOT EXISTS cases_key ON cases(key, status);
        CREATE INDEX IF NOT EXISTS cases_status ON cases(status, urgent, created_at);
        CREATE TABLE IF NOT EXISTS case_refs (
            year INTEGER PRIMARY KEY,
            last INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS desk_outbox (
            id INTEGER PRIMARY KEY,
            desk TEXT NOT NULL,
            case_id INTEGER REFERENCES cases(id) ON DELETE CASCADE,
            what TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS desk_outbox_case ON desk_outbox(case_id);
        CREATE TABLE IF NOT EXISTS desk_messages (
            desk TEXT NOT NULL,
            message_id TEXT NOT NULL,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            PRIMARY KEY (desk, message_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS desk_messages_case ON desk_messages(case_id);
        CREATE TABLE IF NOT EXISTS relay_messages (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            who TEXT NOT NULL,
            side TEXT NOT NULL,
            body BLOB NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS relay_messages_case ON relay_messages(case_id);
        CREATE INDEX IF NOT EXISTS relay_messages_who ON relay_messages(who);
        """
    )


@TABLES.migration(5, "a case keeps the address of its user sealed, and its title")
def _m5_sealed_cases(db: sqlite3.Connection) -> None:
    add_column(db, "cases", "addr", "BLOB")
    db.execute("UPDATE cases SET addr = seal(key), title = seal(title)")


REPORT = "report"
TALK = "talk"
OPEN_TALK = ("open", "active")

#: `who` and `claimed_by` come back as stored (pseudonyms), `key` and `title` unsealed (bot/pseudonyms.py)
_COLUMNS = ("id, ref, kind, who, unseal(addr), lang, urgent, status, unseal(title), alias, created_at, "
            "delivered_at, claimed_at, claimed_by, claimed_in, ended_at")


@dataclass(slots=True)
class Case:
    id: int
    ref: str
    kind: str
    who: str | None
    key: str | None
    lang: str
    urgent: bool
    status: str
    title: str | None
    alias: str | None
    created_at: int
    delivered_at: int | None
    claimed_at: int | None
    claimed_by: str | None
    claimed_in: str | None
    ended_at: int | None


def desk_id(platform: str, room: str) -> str:
    return f"{platform}{SEP}{room}"


def desk_parts(desk: str) -> tuple[str, str]:
    platform, _, room = desk.partition(SEP)
    return platform, room


def _case(row: Sequence[Any] | None) -> Case | None:
    if row is None:
        return None
    values = list(row)
    values[6] = bool(values[6])
    return Case(*values)


@dataclass(slots=True)
class Expired:
    relay_messages: int
    talks: int
    undelivered_reports: int
    reports: int
    notices: int


def expire(db: sqlite3.Connection, older_than: int, relay_older_than: int) -> Expired:
    """Retention (bot/privacy.py): relay text and finished talks after the relay period,
    everything else of the desk after the retention period. Counts what never reached a desk."""
    relay = db.execute("DELETE FROM relay_messages WHERE at < ?", (relay_older_than,)).rowcount
    talks = db.execute(
        "DELETE FROM cases WHERE kind = ? AND ((status IN ('ended', 'withdrawn') AND ended_at < ?) "
        "OR created_at < ?)", (TALK, relay_older_than, older_than)).rowcount
    undelivered = db.execute(
        "SELECT COUNT(*) FROM cases WHERE kind = ? AND created_at < ? AND delivered_at IS NULL",
        (REPORT, older_than)).fetchone()[0]
    reports = db.execute("DELETE FROM cases WHERE kind = ? AND created_at < ?", (REPORT, older_than)).rowcount
    notices = db.execute("DELETE FROM desk_outbox WHERE case_id IS NULL AND created_at < ?",
                         (older_than,)).rowcount
    return Expired(relay, talks, undelivered, reports, notices)


def next_ref(db: sqlite3.Connection, year: int) -> str:
    # fetchall, not fetchone: a RETURNING statement left unfinished blocks the COMMIT
    [(last,)] = db.execute("INSERT INTO case_refs(year, last) VALUES (?, 1) "
                           "ON CONFLICT(year) DO UPDATE SET last = case_refs.last + 1 RETURNING last", (year,)).fetchall()
    return format_ref(year, int(last))


def insert_case(db: sqlite3.Connection, *, ref: str, kind: str, key: str, lang: str, urgent: bool,
                title: str | None, alias: str | None, body: bytes | None, now: int) -> Case:
    cur = db.execute(
        "INSERT INTO cases(ref, kind, who, key, addr, lang, urgent, status, title, alias, body, created_at) "
        "VALUES (?, ?, pseudonym(?), pseudonym(?), seal(?), ?, ?, 'open', seal(?), ?, ?, ?)",
        (ref, kind, who_of(key), key, key, lang, int(urgent), title, alias, body, now))
    found = case_by_id(db, int(cur.lastrowid or 0))
    assert found is not None
    return found


def case_by_id(db: sqlite3.Connection, case_id: int) -> Case | None:
    return _case(db.execute(f"SELECT {_COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone())  # noqa: S608


def case_by_ref(db: sqlite3.Connection, ref: str) -> Case | None:
    return _case(db.execute(f"SELECT {_COLUMNS} FROM cases WHERE ref = ?", (ref,)).fetchone())  # noqa: S608


def talk_of(db: sqlite3.Connection, key: str) -> Case | None:
    """The open or active talk of this conversation, if any."""
    return _case(db.execute(
        f"SELECT {_COLUMNS} FROM cases WHERE key = pseudonym(?) AND kind = ? AND status IN (?, ?) "  # noqa: S608
        "ORDER BY id DESC LIMIT 1", (key, TALK, *OPEN_TALK)).fetchone())


def open_talks(db: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(k, i) for i, k in db.execute(
        "SELECT id, unseal(addr) FROM cases WHERE kind = ? AND status IN (?, ?) AND addr IS NOT NULL",
        (TALK, *OPEN_TALK)).fetchall()]


def cases_of(db: sqlite3.Connection, who: str) -> list[Case]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM cases WHERE who = pseudonym(?) ORDER BY id", (who,)).fetchall()  # noqa: S608
    return [c for c in (_case(r) for r in rows) if c is not None]


def waiting(db: sqlite3.Connection) -> list[Case]:
    """Open cases, urgent first, then oldest first (the desk's /queue)."""
    rows = db.execute(f"SELECT {_COLUMNS} FROM cases WHERE status = 'open' "  # noqa: S608
                      "ORDER BY urgent DESC, created_at, id").fetchall()
    return [c for c in (_case(r) for r in rows) if c is not None]


def active_talks_held_by(db: sqlite3.Connection, member: str, desk: str) -> list[Case]:
    rows = db.execute(f"SELECT {_COLUMNS} FROM cases WHERE kind = ? AND status = 'active' "  # noqa: S608
                      "AND claimed_by = pseudonym(?) AND claimed_in = ? ORDER BY id", (TALK, member, desk)).fetchall()
    return [c for c in (_case(r) for r in rows) if c is not None]


def case_of_message(db: sqlite3.Connection, desk: str, message_id: str) -> Case | None:
    row = db.execute("SELECT case_id FROM desk_messages WHERE desk = ? AND message_id = pseudonym(?)",
                     (desk, message_id)).fetchone()
    return case_by_id(db, int(row[0])) if row else None


def set_status(db: sqlite3.Connection, case_id: int, status: str, now: int, **extra: Any) -> None:
    columns = {"status": status, **extra}
    if status in ("ended", "withdrawn"):
        columns["ended_at"] = now
    assignments = ", ".join(f"{name} = pseudonym(?)" if name == "claimed_by" else f"{name} = ?"
                            for name in columns)
    db.execute(f"UPDATE cases SET {assignments} WHERE id = ?", (*columns.values(), case_id))  # noqa: S608


def body_of(db: sqlite3.Connection, codec: Codec, case_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT body FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    data: dict[str, Any] = json.loads(codec.decode(row[0]))
    return data


# ---------------------------------------------------------------- posts


def queue_post(db: sqlite3.Connection, codec: Codec, desk: str, case_id: int | None, what: str,
               text: str, document: Sequence[str] | None, now: int) -> int:
    payload: dict[str, Any] = {"text": text}
    if document is not None:
        payload["doc"] = list(document)
    cur = db.execute(
        "INSERT INTO desk_outbox(desk, case_id, what, payload, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)",
        (desk, case_id, what, codec.encode(json.dumps(payload, ensure_ascii=False)), now, now))
    return int(cur.lastrowid or 0)


@dataclass(slots=True)
class Post:
    id: int
    desk: str
    case_id: int | None
    what: str
    text: str
    document: list[str] | None
    attempts: int


def due_posts(db: sqlite3.Connection, codec: Codec, now: int, limit: int = 50) -> list[Post]:
    rows = db.execute("SELECT id, desk, case_id, what, payload, attempts FROM desk_outbox "
                      "WHERE next_at <= ? ORDER BY id LIMIT ?", (now, limit)).fetchall()
    posts = []
    for post_id, desk, case_id, what, payload, attempts in rows:
        data = json.loads(codec.decode(payload))
        posts.append(Post(post_id, desk, case_id, what, data["text"], data.get("doc"), attempts))
    return posts


def posted(db: sqlite3.Connection, post: Post, message_id: str, now: int) -> None:
    """The platform took a post: forget its text, remember its message id, mark reports delivered."""
    if db.execute("DELETE FROM desk_outbox WHERE id = ?", (post.id,)).rowcount == 0:
        return  # withdrawn meanwhile
    if post.case_id is None:
        return
    if message_id:
        db.execute("INSERT OR IGNORE INTO desk_messages(desk, message_id, case_id) VALUES (?, pseudonym(?), ?)",
                   (post.desk, message_id, post.case_id))
    if post.what == "card":
        left = db.execute("SELECT 1 FROM desk_outbox WHERE case_id = ? AND what = 'card' LIMIT 1",
                          (post.case_id,)).fetchone()
        if left is None:
            # every desk has the card: our copy of the content is no longer needed
            db.execute("UPDATE cases SET delivered_at = ?, body = CASE WHEN kind = ? THEN NULL ELSE body END "
                       "WHERE id = ? AND delivered_at IS NULL", (now, REPORT, post.case_id))


def retry_later(db: sqlite3.Connection, post_id: int, delay: int, now: int) -> None:
    db.execute("UPDATE desk_outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?", (now + delay, post_id))


# ---------------------------------------------------------------- relay text and user messages


def log_relay(db: sqlite3.Connection, codec: Codec, case: Case, side: str, text: str, now: int) -> None:
    assert case.who is not None
    db.execute("INSERT INTO relay_messages(case_id, who, side, body, at) VALUES (?, ?, ?, ?, ?)",
               (case.id, case.who, side, codec.encode(json.dumps(text, ensure_ascii=False)), now))


def transcript(db: sqlite3.Connection, codec: Codec, case_id: int) -> list[tuple[str, str, int]]:
    rows = db.execute("SELECT side, body, at FROM relay_messages WHERE case_id = ? ORDER BY id",
                      (case_id,)).fetchall()
    return [(side, json.loads(codec.decode(body)), at) for side, body, at in rows]


def queue_for_user(db: sqlite3.Connection, codec: Codec, key: str, payload: str, now: int) -> int:
    """A message for a user in the core's outbox (payload from core.encode_outbound)."""
    return queue_outbox(db, codec, key, payload, now)
