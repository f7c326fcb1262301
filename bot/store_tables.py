"""The store's own tables (conversations, handled updates, cursors, the outbox, weekly counts)
and the few functions other features use on them inside a turn's transaction.

The SQL here is the store's one dialect (SQLite's, `?` placeholders, the SQL
functions of bot/pseudonyms.py); every backend runs it as written.
This module must never import the store or a feature.
"""

from __future__ import annotations

import sqlite3
from typing import Protocol

from bot.schema import EncryptedColumn, Tables, run_script

SEP = "\x1f"


class Codec(Protocol):
    """Turns stored text into bytes and back (encryption at rest plugs in here)."""

    def encode(self, text: str) -> bytes: ...

    def decode(self, blob: bytes) -> str: ...


class PlainCodec:
    def encode(self, text: str) -> bytes:
        return text.encode()

    def decode(self, blob: bytes) -> str:
        return blob.decode() if isinstance(blob, bytes) else str(blob)


#: The store's own tables: conversations, handled updates, cursors, the outbox and weekly counts.
TABLES = Tables(
    "store",
    user_columns=[("conversations", "who"), ("outbox", "who")],
    pseudonymous=[("conversations", "key"), ("conversations", "who"), ("outbox", "key"), ("outbox", "who"),
                  ("handled", "update_id")],
    sealed=[("outbox", "addr")],
    encrypted=[EncryptedColumn("conversations", "state", "key"), EncryptedColumn("outbox", "payload", "id"),
               EncryptedColumn("outbox", "addr", "id")],
)


@TABLES.migration(1, "conversations, handled updates, cursors, the outbox and weekly counts")
def _m1(db: sqlite3.Connection) -> None:
    run_script(db,
        """
        CREATE TABLE conversations (
            key TEXT PRIMARY KEY,
            who TEXT NOT NULL,
            state BLOB NOT NULL,
            updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX conversations_who ON conversations(who);
        CREATE INDEX conversations_updated ON conversations(updated_at);
        CREATE TABLE handled (
            update_id TEXT PRIMARY KEY,
            at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE cursors (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            who TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX outbox_who ON outbox(who);
        CREATE TABLE stats (
            week TEXT NOT NULL,
            event TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (week, event)
        ) WITHOUT ROWID;
        """
    )


@TABLES.migration(5, "a queued message keeps its address sealed; ids become pseudonyms (bot/pseudonyms.py)")
def _m5_outbox_address(db: sqlite3.Connection) -> None:
    """Existing rows get their address sealed; the ids are pseudonymised by `Pseudonyms.protect`,
    which the store runs right after the migrations (with encryption keys set)."""
    add_column(db, "outbox", "addr", "BLOB")
    db.execute("UPDATE outbox SET addr = seal(key)")


def add_column(db: sqlite3.Connection, table: str, column: str, kind: str) -> None:
    """ALTER TABLE ... ADD COLUMN unless a half-finished upgrade already added it."""
    if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def queue_outbox(db: sqlite3.Connection, codec: Codec, key: str, payload: str, now: int) -> int:
    """A message for a conversation in the outbox; its address sealed, looked up by pseudonym."""
    return outbox_id(queue_outbox_row(db, codec, key, payload, now))


def queue_outbox_row(db: sqlite3.Connection, codec: Codec, key: str, payload: str, now: int) -> sqlite3.Cursor:
    """`queue_outbox` with its id not read yet (`outbox_id`): PostgreSQL reads it after COMMIT (bot/store.py)."""
    return db.execute("INSERT INTO outbox(key, who, addr, payload, created_at) "
                      "VALUES (pseudonym(?), pseudonym(?), seal(?), ?, ?) RETURNING id",
                      (key, who_of(key), key, codec.encode(payload), now))


def queue_outbox_as(db: sqlite3.Connection, codec: Codec, named: tuple[object, object, object], payload: str,
                    now: int) -> sqlite3.Cursor:
    """`queue_outbox_row` with the conversation's pseudonyms and sealed address already made
    (`named`: what `pseudonym(key)`, `pseudonym(who)` and `seal(key)` give): a turn makes them
    once for all its statements instead of SQLite calling back into Python for each."""
    return db.execute("INSERT INTO outbox(key, who, addr, payload, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                      (*named, codec.encode(payload), now))


def outbox_id(row: sqlite3.Cursor) -> int:
    [(found,)] = row.fetchall()
    return int(found)


def who_of(key: str) -> str:
    platform, _chat, user = key.split(SEP)
    return f"{platform}{SEP}{user}"


