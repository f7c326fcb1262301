"""Who talked to the bot stays out of the database file: ids are stored as keyed hashes.

Why: with encryption keys set, what people typed was ciphertext, but the rows
still said who they were (platform user and chat ids), which timer was set for
them, the titles of their reports and the platforms' event ids. Anyone holding
the file (a backup) could read who used a safety desk and when.

How:
- Columns that are only ever *looked up* (each feature's `Tables.pseudonymous`: a
  conversation's key, a user's `who`, handled update ids, timer names, desk
  message ids, the desk member who claimed a case) hold
  `pseudonym(value)`: HMAC-SHA256 with the database's **id key**, cut to
  128 bits. The same id always gives the same pseudonym, so lookups,
  uniqueness and forget-me work as before, and without the id key nobody can
  test a guessed id against them.
- Where the plain id is *needed* (to send a queued message or a timer's
  alert to the chat, to relay a desk reply) it is kept sealed
  (`Tables.sealed`): encrypted with the Fernet keys like any other value.
  Timer names and case titles are sealed too.
- The id key is random, made once per database and stored in it encrypted with
  the Fernet keys (table `secrets`, rotated by `rotate-keys` like every
  encrypted column). Rotating the Fernet keys re-encrypts it but never
  changes it, so every pseudonym stays valid. Losing every Fernet key loses it,
  which is the point.
- Without Fernet keys there is no id key and the pseudonym of a value is the
  value itself (the file protects nothing then anyway, and the bot warns at
  start). The first start with keys converts every row in one transaction
  (`protect`), as does the migration that introduced all this.

The functions are SQL functions on the store's connection (`pseudonym(?)`,
`seal(?)`, `unseal(col)`), so the modules owning tables keep plain SQL.

What stays visible is listed in docs/SECURITY.md (times, row counts, languages,
states). Never log an id, a pseudonym or the id key from here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol

from bot.crypto import table_names
from bot.errors import ConfigurationError
from bot.schema import Column

ID_KEY = "id_key"


class Codec(Protocol):
    def encode(self, text: str) -> bytes: ...

    def decode(self, blob: bytes) -> str: ...


class IdKeyUnavailable(ConfigurationError):
    """The database has an id key but the configured keys cannot open it (raised at first use)."""


class Pseudonyms:
    """The SQL functions of one store connection, and the id key behind `pseudonym`."""

    def __init__(self, codec: Codec, pseudonymous: Sequence[Column] = (), sealed: Sequence[Column] = ()) -> None:
        self.codec = codec
        #: (table, column) holding pseudonyms, and holding sealed plain values: each feature's
        #: own (bot/schema.py Tables), converted by `protect`
        self.pseudonymous = list(pseudonymous)
        self.sealed = list(sealed)
        self._mac: Any = None  # hmac object keyed with the id key; None: no id key (identity)
        #: why the stored id key could not be opened (raised by the store at first use)
        self.problem: Exception | None = None
        #: what the last SQL function raised: sqlite3 hands the store only "user-defined function raised"
        self.failure: Exception | None = None

    @property
    def encrypting(self) -> bool:
        return bool(getattr(self.codec, "encrypting", False))

    # ------------------------------------------------------------ SQL functions
    def install(self, db: sqlite3.Connection) -> None:
        db.create_function("pseudonym", 1, self._noting(self.pseudonym), deterministic=True)
        db.create_function("seal", 1, self._noting(self.seal))
        db.create_function("unseal", 1, self._noting(self.unseal), deterministic=True)

    def _noting(self, fn: Any) -> Any:
        def called(value: Any) -> Any:
            try:
                return fn(value)
            except Exception as exc:
                self.failure = exc
                raise

        return called

    def reraise(self, exc: sqlite3.OperationalError) -> None:
        """Raise what a SQL function of ours raised (MissingKey, WrongKey ...) instead of sqlite3's wrapper."""
        failure, self.failure = self.failure, None
        if failure is not None and "user-defined function raised" in str(exc):
            raise failure from exc

    def pseudonym(self, value: str | None) -> str | None:
        if value is None:
            return None
        if self.problem is not None:
            raise self.problem
        if self._mac is None:
            return value
        mac = self._mac.copy()
        mac.update(str(value).encode())
        return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()

    def seal(self, value: str | None) -> bytes | None:
        return None if value is None else self.codec.encode(json.dumps(value, ensure_ascii=False))

    def unseal(self, blob: bytes | None) -> str | None:
        if blob is None:
            return None
        value = json.loads(self.codec.decode(blob))
        return str(value)

    # ------------------------------------------------------------ the id key
    def load(self, db: sqlite3.Connection) -> bool:
        """Use the database's id key if it has one (True); a key that will not open is kept as `problem`."""
        if "secrets" not in table_names(db):
            return False
        row = db.execute("SELECT value FROM secrets WHERE name = ?", (ID_KEY,)).fetchone()
        if row is None:
            return False
        try:
            key = bytes.fromhex(json.loads(self.codec.decode(row[0])))
        except (ValueError, TypeError) as exc:  # e.g. read without the codec that wrote it
            self.problem = IdKeyUnavailable("the database's id key cannot be read with the configured "
                                            "WEGWIJZER_ENCRYPTION_KEYS")
            self.problem.__cause__ = exc
            return True
        except Exception as exc:  # MissingKey, WrongKey: the store raises it at first use
            self.problem = exc
            return True
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        return True

    def protect(self, db: sqlite3.Connection) -> int:
        """Inside a transaction: with encryption on and no id key yet, make one and convert every row.

        Returns the number of rows converted (0 when there was nothing to do).
        """
        if self.load(db) or not self.encrypting:
            return 0
        db.execute("CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
        key = secrets.token_bytes(32)
        db.execute("INSERT INTO secrets(name, value) VALUES (?, ?)", (ID_KEY, self.seal(key.hex())))
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        tables = table_names(db)
        changed = 0
        # value by value, computed here: the same statements on every backend (the functions
        # never run in a PostgreSQL server)
        for columns, convert in ((self.pseudonymous, self.pseudonym),
                                 (self.sealed, lambda blob: self.seal(self.unseal(blob)))):
            for table, column in columns:
                if table not in tables or column not in _columns(db, table):
                    continue
                for (value,) in db.execute(f"SELECT DISTINCT {column} FROM {table} "  # noqa: S608 - fixed names
                                           f"WHERE {column} IS NOT NULL").fetchall():
                    changed += db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?",  # noqa: S608
                                          (convert(value), value)).rowcount
        return changed


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
