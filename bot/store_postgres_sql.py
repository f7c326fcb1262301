"""The store's SQL, spoken to PostgreSQL: a connection with sqlite3's Python API over psycopg.

Why a translation and not a second copy of every query: each feature writes its
SQL once, next to its tables (bot/schema.py), in the store's one dialect
(SQLite's, with `?` placeholders and the SQL functions of bot/pseudonyms.py).
A second copy per backend would drift; the differences are few and mechanical:

- `?` becomes psycopg's `%s`; `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`.
- DDL: `INTEGER PRIMARY KEY` is an identity column, `INTEGER` is `BIGINT`
  (epoch seconds), `BLOB` is `BYTEA`, and so is a TEXT column the schema lists
  as sealed or encrypted (SQLite stores bytes in any column); `WITHOUT ROWID` goes.
- `PRAGMA table_info` and `sqlite_master` read `information_schema`.
- The SQL functions run in the bot, never in the server, so no key or plain id
  reaches PostgreSQL: `pseudonym(?)` and `seal(?)` are applied to the parameter
  before it is sent, and `unseal(...)` in a SELECT list to the value that comes
  back. In any other place (a migration's `UPDATE t SET addr = seal(key)`) they
  reach stub functions on the server that refuse (`install_stubs`): the store
  only ever runs those on tables that are still empty.

Must never: log a statement's parameters, or send a key to the server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg

from bot.pseudonyms import Pseudonyms
from bot.schema import Column

#: Server-side stand-ins for the bot's SQL functions, so migrations parse; calling one is a bug.
STUBS = """
CREATE OR REPLACE FUNCTION pseudonym(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'pseudonym() runs in the bot, not in the server'; END $$;
CREATE OR REPLACE FUNCTION seal(text) RETURNS bytea LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'seal() runs in the bot, not in the server'; END $$;
CREATE OR REPLACE FUNCTION seal(bytea) RETURNS bytea LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'seal() runs in the bot, not in the server'; END $$;
CREATE OR REPLACE FUNCTION unseal(bytea) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'unseal() runs in the bot, not in the server'; END $$;
"""

_PARAM = re.compile(r"(pseudonym|seal)\(\?\)|\?")
_TABLE_INFO = re.compile(r"^\s*PRAGMA\s+table_info\((\w+)\)\s*$", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\((.*)\)\s*(WITHOUT\s+ROWID)?\s*$",
                           re.I | re.S)
_ADD_COLUMN = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s+(\w+)\s*$", re.I)
_SELECT = re.compile(r"^\s*SELECT\s", re.I)
_FROM = re.compile(r"\bFROM\b", re.I)
#: statements with which the connection sends what it queued: their outcome is the point
_SYNC = frozenset({"COMMIT", "ROLLBACK", "END"})
_TABLES = ("SELECT table_name FROM information_schema.tables "
           "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement in PostgreSQL's words, with what the bot applies around it."""

    sql: str
    #: per `?`, in order: "pseudonym", "seal" or "" (sent as it is)
    params: tuple[str, ...]
    #: positions in each returned row that come back sealed
    unseal: tuple[int, ...]
    #: the connection sends its queue with this statement: COMMIT and ROLLBACK, whose outcome is the point
    sync: bool = False
    #: the text sent when there are no parameters (`%%` is only for psycopg's placeholders)
    literal: str = ""
    #: several statements in one text (a script): sent in a batch of its own
    alone: bool = False


class Dialect:
    """How this database's statements read in PostgreSQL (binary columns come from the schema)."""

    def __init__(self, binary: Iterable[Column]) -> None:
        self.binary = frozenset(binary)
        self.translate = lru_cache(maxsize=512)(self._translate)

    def _translate(self, sql: str) -> Statement:
        found = self._translated(sql.strip().rstrip(";").rstrip())
        literal = found.sql.replace("%%", "%")
        return Statement(found.sql, found.params, found.unseal, sync=literal.upper() in _SYNC, literal=literal,
                         alone=";" in literal)

    def _translated(self, sql: str) -> Statement:
        if match := _TABLE_INFO.match(sql):  # (cid, name) like SQLite's
            columns = ("SELECT ordinal_position, column_name::text FROM information_schema.columns "  # noqa: S608 - \\w+
                       f"WHERE table_schema = current_schema() AND table_name = '{match[1]}'")
            return Statement(columns, (), ())
        if "sqlite_master" in sql:
            return Statement(_TABLES, (), ())
        if sql.strip().upper().startswith("BEGIN"):
            return Statement("BEGIN", (), ())
        sql = self._ddl(sql).replace("%", "%%")
        if re.match(r"^\s*INSERT\s+OR\s+IGNORE\s+", sql, re.I):
            sql = re.sub(r"^\s*INSERT\s+OR\s+IGNORE\s+", "INSERT ", sql, flags=re.I) + " ON CONFLICT DO NOTHING"
        params: list[str] = []

        def placeholder(match: re.Match[str]) -> str:
            params.append(match[1] or "")
            return "%s"

        sql = _PARAM.sub(placeholder, sql)
        sql, unseal = _unsealed_columns(sql)
        return Statement(sql, tuple(params), unseal)

    def _ddl(self, sql: str) -> str:
        if match := _ADD_COLUMN.match(sql):
            table, column, kind = match.groups()
            return f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {self._type(table, column, kind)}"
        match = _CREATE_TABLE.match(sql)
        if match is None:
            return sql
        table, body = match[1], match[2]
        lines = []
        for part in _split_top(body):
            words = part.split()
            if words and words[0].upper() not in ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"):
                if [w.upper() for w in words[1:4]] == ["INTEGER", "PRIMARY", "KEY"]:
                    rest = " ".join(words[4:])
                    part = f"{words[0]} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY {rest}"
                else:
                    part = " ".join([words[0], self._type(table, words[0], words[1]), *words[2:]])
            lines.append(part)
        head = sql[:sql.index("(")]
        return f"{head}({', '.join(lines)})"

    def _type(self, table: str, column: str, kind: str) -> str:
        if (table, column) in self.binary or kind.upper() == "BLOB":
            return "BYTEA"
        return "BIGINT" if kind.upper() == "INTEGER" else kind


def _split_top(text: str) -> list[str]:
    """Comma-separated parts of `text`, not splitting inside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _unsealed_columns(sql: str) -> tuple[str, tuple[int, ...]]:
    """`SELECT a, unseal(b) FROM ...` -> `SELECT a, b FROM ...` and (1,)."""
    if not _SELECT.match(sql) or "unseal(" not in sql:
        return sql, ()
    start = sql.upper().index("SELECT") + len("SELECT")
    end = next((m.start() for m in _FROM.finditer(sql) if _depth(sql[:m.start()]) == 0), len(sql))
    columns = _split_top(sql[start:end])
    unseal = tuple(i for i, c in enumerate(columns) if c.startswith("unseal(") and c.endswith(")"))
    columns = [c[len("unseal("):-1] if i in unseal else c for i, c in enumerate(columns)]
    return f"SELECT {', '.join(columns)} {sql[end:]}", unseal


def _depth(text: str) -> int:
    return text.count("(") - text.count(")")


class Rows:
    """What `execute` returns, as a sqlite3 cursor reads: every row at once, sealed values opened.

    Filled when the connection sends its queued statements (`PgConnection.flush`), which the first
    look at it (a fetch, `rowcount`, `lastrowid`) does: a statement whose outcome nobody reads goes
    to the server together with the next one whose outcome someone does."""

    __slots__ = ("_db", "_error", "_rowcount", "_sent", "_unseal", "rows")

    def __init__(self, db: PgConnection, unseal: tuple[int, ...] = ()) -> None:
        self._db = db
        self._unseal = unseal
        self._sent = False
        self._error: BaseException | None = None
        self._rowcount = -1
        self.rows: list[tuple[Any, ...]] = []

    def _fill(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        if self._unseal:
            ids, unseal = self._db.ids, self._unseal
            rows = [tuple(ids.unseal(v) if i in unseal else v for i, v in enumerate(row)) for row in rows]
        self.rows, self._rowcount, self._sent = rows, rowcount, True

    def _fail(self, error: BaseException) -> None:
        self._error, self._sent = error, True

    def _ready(self) -> None:
        if not self._sent:
            self._db.flush()
        if self._error is not None:  # its batch failed: the call that sent it raised already
            raise self._error

    @property
    def rowcount(self) -> int:
        self._ready()
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        """The id the last INSERT of this connection took from an identity column."""
        self._ready()
        row = self._db.execute("SELECT lastval()").fetchone()
        return int(row[0]) if row else 0

    def fetchone(self) -> tuple[Any, ...] | None:
        self._ready()
        return self.rows.pop(0) if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._ready()
        rows, self.rows = self.rows, []
        return rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())

    def close(self) -> None:
        self.rows = []


class _Many(Rows):
    """What `executemany` returns: the rows it changed, together."""

    __slots__ = ("_parts",)

    def __init__(self, db: PgConnection, parts: list[Rows]) -> None:
        super().__init__(db)
        self._parts = parts

    def _ready(self) -> None:
        if not self._sent:
            self._rowcount = sum(part.rowcount for part in self._parts)
            self._sent = True


class PgConnection:
    """A psycopg connection (autocommit; the store writes BEGIN and COMMIT) with sqlite3's API.

    Why statements are queued: each one sent alone is a round trip to the server and a pass
    through psycopg's Python, and a turn is about ten of them. So a statement is only bound
    (client-side, as before) and queued; the queue goes to the server as one string, one round
    trip, when something needs an outcome (a fetch, a row count), at COMMIT or ROLLBACK, and at
    the end of every call on the store's thread (`flush`). The server runs the statements in the
    order they were written, so a lock taken first still guards the reads after it. A statement
    that fails fails its whole batch: what followed it is not run, an open transaction is rolled
    back, and the error is raised by whatever asked for the outcome (or by COMMIT, or the call).
    """

    #: statements are queued: a result may be read after the COMMIT that sent it (bot/store.py's turn)
    queues = True

    def __init__(self, conn: psycopg.Connection[Any], dialect: Dialect, ids: Pseudonyms) -> None:
        self.conn = conn
        self.dialect = dialect
        self.ids = ids
        #: statements and round trips so far (the benchmark and the tests read them)
        self.statements = 0
        self.round_trips = 0
        #: session-level advisory locks this session holds, by key, with how often each was taken
        #: (bot/inbox.py's drain lock); a new connection starts without, as the server's session does
        self.held: dict[str, int] = {}
        self._queue: list[tuple[str, Rows]] = []
        self._binder = psycopg.ClientCursor(conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        statement = self.dialect.translate(sql)
        rows = Rows(self, statement.unseal)
        if statement.alone:
            self.flush()
        self._queue.append((self._bind(statement, params), rows))
        if statement.sync or statement.alone:
            self.flush()
        return rows

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Rows:
        statement = self.dialect.translate(sql)
        parts = []
        for params in seq:
            rows = Rows(self)
            self._queue.append((self._bind(statement, params), rows))
            parts.append(rows)
        return _Many(self, parts)

    def _bind(self, statement: Statement, params: Sequence[Any]) -> str:
        if not statement.params:
            return statement.literal
        return self._binder.mogrify(statement.sql, self._params(statement, params))

    def _params(self, statement: Statement, params: Sequence[Any]) -> list[Any]:
        out = []
        for how, value in zip(statement.params, params, strict=True):
            if how == "pseudonym":
                value = self.ids.pseudonym(value)
            elif how == "seal":
                value = self.ids.seal(value)
            out.append(int(value) if isinstance(value, bool) else value)  # SQLite's booleans are integers
        return out

    def flush(self) -> None:
        """Send what is queued, in one round trip, and fill each statement's rows."""
        queue, self._queue = self._queue, []
        if not queue:
            return
        self.statements += len(queue)
        self.round_trips += 1
        try:
            cur = self.conn.execute(";\n".join(text for text, _ in queue))  # already bound: sent as it is
            for i, (_, rows) in enumerate(queue):
                if i and not cur.nextset():
                    raise RuntimeError("fewer results than statements")  # a bug in the dialect's statement split
                rows._fill(cur.fetchall() if cur.description is not None else [], cur.rowcount)
            while cur.nextset():  # the rest of a script (`alone`): its last result is its outcome
                rows._fill(cur.fetchall() if cur.description is not None else [], cur.rowcount)
        except BaseException as exc:
            for _, rows in queue:
                rows._fail(exc)
            self._abandon()
            raise

    def _abandon(self) -> None:
        """After a failed batch: nothing of it stays queued or open (its COMMIT was never run)."""
        self._queue = []
        if not self.conn.closed and self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                self.conn.execute("ROLLBACK")
