"""Where a typed message divides into clauses: one table of the marks and words that divide it, nl and en.

Why one place: four readers cut a message into parts, each with its own list of marks. The crisis
layer splits "weet niet precies, vorige week ergens, en hij had een mes" at a date question into the
date and the rest (bot/engine/everyday.py); a typed button reads "not yet, its sunday" as the button
said first (bot/engine/words.py); a date reads "weet ik niet, vorige week" and "last tuesday, i think"
without the doubt around it (bot/dates.py); a flow reads two dates of birth in one answer (`items`,
bot/expressions.py). Four lists of the same idea drift; here is the one.
Pure functions and tables only: no state, no I/O.
"""

from __future__ import annotations

import re

#: Marks inside a sentence that end one clause and begin the next ("vorige week ergens, hij had een mes")
BETWEEN = ",;"
#: Marks that end a clause too, and may end the sentence ("nee. het is zondag", "not yet: its sunday")
ENDS = ":.!?"
#: Words that join two clauses, nl and en ("gisteren en hij staat nu voor mijn deur")
JOINS = ("en", "and", "maar", "but")
#: Every mark that ends a clause
MARKS = BETWEEN + ENDS

#: Marks that also stand between the items of a typed list ("12-5-2016 & 3-9-2019", "3/9/19 + 1/2/20")
LISTS = "&+"
#: Words between alternatives, nl and en ("vrijdag of zaterdag", "friday or saturday")
ORS = ("of", "or")


def _splitter(between: str, flags: int = 0, joins: tuple[str, ...] = JOINS) -> re.Pattern[str]:
    """Where one part ends and the next begins: a mark between (with a joining word after it, or not), or a
    joining word alone."""
    join = "|".join(joins)
    return re.compile(rf"\s*[{re.escape(between)}]\s*(?:(?:{join})\s+)?|\s+(?:{join})\s+", flags)


_SPLIT = _splitter(BETWEEN)
#: The items of a list: its clauses, split at LISTS too, in any case ("12-5-2016 EN 3-9-2019")
_ITEMS = _splitter(BETWEEN + LISTS, re.IGNORECASE)
#: The items of a list of alternatives: as `_ITEMS`, and at "of" / "or" too ("vrijdag of zaterdag")
_ALTERNATIVES = _splitter(BETWEEN + LISTS, re.IGNORECASE, JOINS + ORS)
#: The words before the first mark, when more follows it
_FIRST = re.compile(rf"^([^{re.escape(MARKS)}]+)[{re.escape(MARKS)}]\s*\S")


def clauses(text: str) -> list[str]:
    """The clauses of a text, split at a mark between them or a joining word; marks and words left out.

    "weet niet precies, vorige week ergens, en hij had een mes" -> ["weet niet precies",
    "vorige week ergens", "hij had een mes"].
    """
    return _SPLIT.split(text)


def items(text: str) -> list[str]:
    """The items of a typed list, as its clauses but also split at "&" and "+"; empty parts left out.

    "12-5-2016 en 3-9-2019" -> ["12-5-2016", "3-9-2019"]; "3/9/19, 1/2/20 & 4/4/21" -> three (the dates of
    birth of children, bot/expressions.py `past_dates_in`).
    """
    return [part for part in _ITEMS.split(text.strip()) if part]


def alternatives(text: str) -> list[str]:
    """The items of a typed list that may name alternatives: `items`, also split at "of" and "or".

    "vrijdag en zaterdag" / "friday or saturday" -> two days (bot/dates.py `listed_dates`).
    """
    return [part for part in _ALTERNATIVES.split(text.strip()) if part]


def first_clause(text: str) -> str | None:
    """The words before the first mark that ends a clause, when more follows it; else None.

    "not yet, its sunday" -> "not yet"; "not yet." -> None (nothing follows).
    """
    found = _FIRST.match(text)
    return found.group(1) if found else None


def gap(marks: str) -> str:
    """A pattern for what stands between two parts of a message: spaces and any of `marks`, at least one.

    For a reader that names its own parts (bot/dates.py: the doubt before or after a date), with the
    marks of this table.
    """
    return f"[ {re.escape(marks)}]+"
