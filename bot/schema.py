"""Each feature's tables: its numbered migrations and which of its columns hold what.

Why it looks like this:
- A feature keeps its tables next to the code that reads them (in the style of
  mautrix's upgrade table): `TABLES = Tables("timers")`, then
  `@TABLES.migration(3, "check-in timers")` on the function that creates them.
  The same `Tables` says which columns hold rows about one user (forget-me),
  pseudonyms, sealed addresses and encrypted values, so bot.pseudonyms,
  bot.crypto and the store never list another module's columns.
- Numbers are written by hand, never counted from import order: the database
  records the last number applied (`PRAGMA user_version`) and databases already
  in use were numbered 1..5 when one module held every migration. One number
  may have parts in several features (number 3 made the desk's tables and the
  timers' at once): the store runs all parts of a number in one transaction.
- `Schema` is every feature's tables together, checked once: numbers run from
  1 without a gap, so a feature left out cannot make the store skip a step.

This module is a leaf: it must never import the store or a feature.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

#: (table, column)
Column = tuple[str, str]
Apply = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered, forward-only step of one feature's tables."""

    number: int
    description: str
    apply: Apply
    #: the feature whose tables it changes (for errors and the log)
    owner: str = ""


@dataclass(frozen=True, slots=True)
class EncryptedColumn:
    """A column whose values go through the codec; `pk` identifies its rows (for rotate-keys)."""

    table: str
    column: str
    pk: str


@dataclass(slots=True, eq=False)
class Tables:
    """What one feature stores: its migrations and what its columns hold."""

    owner: str
    migrations: list[Migration] = field(default_factory=list)
    #: columns holding the `who` of rows about one user: deleted by forget-me
    user_columns: Sequence[Column] = ()
    #: columns holding pseudonyms (only ever looked up; bot/pseudonyms.py)
    pseudonymous: Sequence[Column] = ()
    #: columns holding sealed plain values (encrypted when keys are set)
    sealed: Sequence[Column] = ()
    #: columns holding codec output, re-encrypted by rotate-keys
    encrypted: Sequence[EncryptedColumn] = ()

    def migration(self, number: int, description: str) -> Callable[[Apply], Apply]:
        """Register the decorated function as migration `number` of these tables."""

        def register(apply: Apply) -> Apply:
            if any(m.number == number for m in self.migrations):
                raise ValueError(f"{self.owner}: migration {number} registered twice")
            self.migrations.append(Migration(number, description, apply, self.owner))
            self.migrations.sort(key=lambda m: m.number)
            return apply

        return register


def run_script(db: sqlite3.Connection, script: str) -> None:
    """Run several statements inside the caller's transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


class Schema:
    """Every feature's tables of one database, with the migrations in the order they run."""

    def __init__(self, tables: Iterable[Tables]) -> None:
        self.tables = tuple(dict.fromkeys(tables))  # once each (features without tables share one)
        owners = [t.owner for t in self.tables]
        if len(set(owners)) != len(owners):
            raise ValueError(f"a feature's tables are listed twice: {owners}")
        ordered = sorted((m for t in self.tables for m in t.migrations), key=lambda m: m.number)
        #: (number, its parts in the order the features are listed)
        self.steps: tuple[tuple[int, tuple[Migration, ...]], ...] = tuple(
            (number, tuple(parts)) for number, parts in groupby(ordered, key=lambda m: m.number))
        numbers = [number for number, _ in self.steps]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"migration numbers must run 1, 2, 3 ... without a gap; found {numbers}")

    @property
    def version(self) -> int:
        """The version a database has once every migration ran."""
        return len(self.steps)

    @property
    def user_columns(self) -> list[Column]:
        return [c for t in self.tables for c in t.user_columns]

    @property
    def pseudonymous(self) -> list[Column]:
        return [c for t in self.tables for c in t.pseudonymous]

    @property
    def sealed(self) -> list[Column]:
        return [c for t in self.tables for c in t.sealed]

    @property
    def encrypted(self) -> list[EncryptedColumn]:
        return [c for t in self.tables for c in t.encrypted]
