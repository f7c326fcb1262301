"""Moving a bot's data from its SQLite file to PostgreSQL (`python -m bot migrate-db`).

Why rows are copied as stored, bytes for bytes: encrypted columns, sealed
addresses and pseudonyms are only readable with the keys and the database's id
key (table `secrets`, itself encrypted). Copying what is stored keeps every one
of them valid on the new database without decrypting anything here, so the copy
never holds a user's text in the clear and works without knowing what a column
means. The same keys (WEGWIJZER_ENCRYPTION_KEYS) then open both databases.

- The source is first opened as the bot opens it, so an older file is upgraded
  to the current schema; the target gets the same schema from its own migrations
  (with no keys: on empty tables they change nothing, and no new id key is made).
- The target must be empty: a copy into a database a bot already wrote would mix
  two histories, with two id keys.
- Everything is copied in one PostgreSQL transaction; identity columns continue
  after the highest id copied.
- Then each table's rows are counted on both sides; a difference is named.

Never print or log a row, a value or the target's URL (it may hold a password).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bot.errors import ConfigurationError
from bot.store import PlainCodec, Store

#: The schema's own bookkeeping on each side (PRAGMA user_version on SQLite), not copied.
BOOKKEEPING = frozenset({"schema_version"})


class CannotMigrate(ConfigurationError):
    """The copy was refused before anything was written (the --to database cannot be used): why, in a
    sentence for the operator."""


@dataclass(slots=True)
class Copied:
    """Rows per table in the source and the target after the copy."""

    source: dict[str, int] = field(default_factory=dict)
    target: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> list[str]:
        """Tables whose counts differ: something did not arrive (or came twice)."""
        return [t for t, n in self.source.items() if self.target.get(t) != n]


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/file` or `sqlite:////absolute/file` (SQLAlchemy's form), or a plain path."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else Path(url)


def postgres_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {name for (name,) in conn.execute(
            "SELECT table_name::text FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")}


async def prepare_target(url: str, store_schema: Any) -> None:
    """Refuse a target with tables in it; otherwise give it the current schema."""
    found = postgres_tables(url)
    if found:
        raise CannotMigrate(f"the target database is not empty (it has {len(found)} table(s), e.g. "
                            f"{sorted(found)[0]}); migrate-db only copies into an empty database")
    target = await Store.open(url, PlainCodec(), schema=store_schema)
    await target.close()


def copy_rows(source: Path, url: str) -> Copied:
    """Copy every table of `source` into the (prepared, empty) PostgreSQL database; count both sides."""
    counted = Copied()
    with contextlib.closing(sqlite3.connect(source)) as lite, psycopg.connect(url) as pg:
        names = [n for (n,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        names = [n for n in names if n not in BOOKKEEPING]  # in creation order: a case before its links
        with pg.transaction():
            for table in names:
                _copy_table(lite, pg, table)
        for table in names:
            [(n,)] = lite.execute(f'SELECT count(*) FROM "{table}"').fetchall()  # noqa: S608 - names from the file
            counted.source[table] = int(n)
            row = pg.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
            counted.target[table] = int(row[0]) if row else -1
    return counted


def _copy_table(lite: sqlite3.Connection, pg: psycopg.Connection[Any], table: str) -> None:
    columns = [row[1] for row in lite.execute(f'PRAGMA table_info("{table}")')]
    kinds = dict(pg.execute("SELECT column_name::text, data_type::text FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = %s", (table,)).fetchall())
    if not kinds and table == "secrets":  # made by the first start with keys, not by a migration
        pg.execute("CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)")
        kinds = {"name": "text", "value": "bytea"}
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise CannotMigrate(f"table {table}: the target has no column {missing[0]}; is the bot's code the same "
                            "version on both sides?")
    binary = {c for c in columns if kinds[c] == "bytea"}
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) OVERRIDING SYSTEM VALUE VALUES ({", ".join(["%s"] * len(columns))})'  # noqa: S608
    with pg.cursor() as cur:
        for batch in _batches(lite.execute(f'SELECT {names} FROM "{table}"')):  # noqa: S608
            cur.executemany(sql, [[_value(v, c in binary) for v, c in zip(row, columns, strict=True)]
                                  for row in batch])
    for (column,) in pg.execute("SELECT column_name::text FROM information_schema.columns WHERE table_schema = "
                                "current_schema() AND table_name = %s AND is_identity = 'YES'", (table,)).fetchall():
        pg.execute(f'SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max("{column}"), 1), '  # noqa: S608
                   f'max("{column}") IS NOT NULL) FROM "{table}"', (table, column))


def _batches(cursor: sqlite3.Cursor, size: int = 1000) -> Iterator[list[Any]]:
    while batch := cursor.fetchmany(size):
        yield batch


def _value(value: Any, binary: bool) -> Any:
    """As stored; text SQLite kept in a column PostgreSQL holds as bytes goes as its UTF-8 bytes."""
    return value.encode() if binary and isinstance(value, str) else value
