"""A YAML syntax error in a moderator's words: what is wrong on which line, and what to type instead.

Why: moderators are not programmers. ruamel says "while parsing a block collection: expected
<block end>, but found '<block mapping start>'", which is true and useless to someone who
indented one line by seven spaces instead of eight. This module reads the parser's error next to
the file's own lines and, for the mistakes people make by hand (indentation, a tab, a second
colon in a text, a missing colon, text after a closing quote, a character YAML keeps for itself),
says it plainly with the line to copy. The parser's words stay with the problem as a technical
second line (source.YamlSyntaxError.detail); what this module does not recognise keeps them as
its only explanation. Pure: text in, words out; no files, no positions of its own type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: `key: value` or `- key: value` at the start of a line: group 1 the key, the match ends where the value starts.
_KEY = re.compile(r"\s*(?:-\s+)?([^\s#'\"\-?:][^:#]*?):(?:\s+|$)")
#: The longest piece of a line quoted back in a message.
_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Plain:
    """What a moderator is told about one syntax error; `line`/`col` are 0-based, like the parser's marks."""

    line: int
    col: int
    message: str
    fix: str


def technical(exc: Any) -> str:
    """The parser's own words, for the technical second line."""
    return ": ".join(str(p) for p in (exc.context, exc.problem) if p) or str(exc).splitlines()[0]


def explain(text: str, exc: Any) -> Plain | None:
    """The plain account of a ruamel MarkedYAMLError in `text`, or None when it is not a known mistake."""
    mark = exc.problem_mark
    if mark is None:
        return None
    lines = text.splitlines()
    if not 0 <= mark.line < len(lines):
        return None
    problem = str(exc.problem or "")
    reader = _Lines(lines)
    if problem.startswith("found character '\\t'"):
        return reader.tab(mark.line, mark.column)
    if problem.startswith("found character '") and problem.endswith("that cannot start any token"):
        return reader.reserved(mark.line, mark.column, problem.split("'")[1])
    if problem == "mapping values are not allowed here":
        return (reader.second_colon(mark.line, mark.column) or reader.indented_more(mark.line)
                or reader.colon_missing_above(mark.line))
    if problem == "could not find expected ':'" and exc.context_mark is not None:
        return reader.no_colon(exc.context_mark.line, exc.context_mark.column)
    if problem == "but found another document":
        return Plain(mark.line, mark.column,
                     f"line {mark.line + 1} starts a second document (`---`); a file here holds one",
                     "remove that line; what comes after it belongs in this document or in a file of its own")
    if problem.startswith(("expected <block end>", "did not find expected")):
        return reader.after_quote(mark.line, mark.column) or reader.misindented(mark.line)
    return None


class _Lines:
    """A file's lines, read the way a person reads indentation."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def indent(self, number: int) -> int:
        line = self.lines[number]
        return len(line) - len(line.lstrip(" "))

    def content(self, number: int) -> bool:
        stripped = self.lines[number].strip()
        return bool(stripped) and not stripped.startswith("#")

    def above(self, number: int) -> int | None:
        """The nearest line above with something on it (not blank, not a comment)."""
        return next((n for n in range(number - 1, -1, -1) if self.content(n)), None)

    def shown(self, number: int) -> str:
        line = self.lines[number].strip()
        return f"`{line if len(line) <= _SHOWN else line[:_SHOWN - 1] + '…'}`"

    def levels(self, number: int) -> list[tuple[int, int, bool]]:
        """(indentation, line, is a `- ` item) of each block line `number` could belong with.

        Walking up from the line above, each line less indented than every line since is a
        block still open there; the text after a `- ` is one too (the item's next key).
        """
        found: list[tuple[int, int, bool]] = []
        lowest: int | None = None
        for n in range(number - 1, -1, -1):
            if not self.content(n):
                continue
            width = self.indent(n)
            if lowest is not None and width >= lowest:
                continue
            lowest = width
            stripped = self.lines[n].lstrip(" ")
            if stripped.startswith("- "):
                found.append((width + 2 + len(stripped[2:]) - len(stripped[2:].lstrip(" ")), n, False))
                found.append((width, n, True))
            else:
                found.append((width, n, False))
        return found

    def tab(self, number: int, col: int) -> Plain:
        line = self.lines[number]
        leading = col < len(line) - len(line.lstrip(" \t"))
        previous = self.above(number)
        if leading and previous is not None:
            fix = (f"replace the tab with spaces: indent line {number + 1} like line {previous + 1} "
                   f"({_spaces(self.indent(previous))}) if it belongs with it")
        else:
            fix = "replace the tab with spaces (editors can show tabs; use spaces only)"
        where = "at the start of" if leading else "in"
        return Plain(number, col, f"a tab is used {where} line {number + 1}: these files take spaces only", fix)

    def reserved(self, number: int, col: int, char: str) -> Plain | None:
        key = _KEY.match(self.lines[number])
        if key is None or key.end() != col:
            return None
        value = self.lines[number][key.end():].strip()
        return Plain(number, col, f"the text on line {number + 1} starts with {char}, a character YAML keeps for itself",
                     f"put the whole text in quotes: {_quoted(key.group(1), value)}")

    def second_colon(self, number: int, col: int) -> Plain | None:
        """`say: Let op: dit`: a colon and a space inside a text without quotes."""
        line = self.lines[number]
        key = _KEY.match(line)
        if key is None or key.end() > col:
            return None
        value = line[key.end():].strip()
        return Plain(number, col,
                     f"line {number + 1} has a second colon (`: `) after `{key.group(1)}:`; in a text without "
                     "quotes that starts a new key",
                     f"put the whole text in quotes: {_quoted(key.group(1), value)}")

    def indented_more(self, number: int) -> Plain | None:
        """A line indented deeper than a `key: text` above it reads as more of that text."""
        previous = self.above(number)
        if previous is None or self.indent(number) <= self.indent(previous):
            return None
        mine, theirs = self.indent(number), self.indent(previous)
        return Plain(number, mine,
                     f"line {number + 1} is indented more than the line above it ({_spaces(mine)}; line "
                     f"{previous + 1} has {theirs}), so it is read as more of that line's text",
                     f"lines of one block start in the same column: indent line {number + 1} like line "
                     f"{previous + 1} ({_spaces(theirs)}), or line {previous + 1} like line {number + 1}")

    def colon_missing_above(self, number: int) -> Plain | None:
        """`say main.welcome` above `next: menu`: the line without a colon is read as text running on."""
        previous = self.above(number)
        if (previous is None or self.indent(previous) != self.indent(number) or _KEY.match(self.lines[previous])
                or self.lines[previous].lstrip(" ").startswith("-")):
            return None
        return self.no_colon(previous, self.indent(previous))

    def no_colon(self, number: int, col: int) -> Plain:
        shown = self.shown(number)
        return Plain(number, col,
                     f"line {number + 1} ({shown}) has no colon: each line here is `key: value`, a `- ` item, "
                     "or more of a text in quotes",
                     "add the missing `:` after the key (with a space after it); if the line is more of the text "
                     "above, put that whole text in quotes or start it with `|` (see docs/FLOWS.md)")

    def after_quote(self, number: int, col: int) -> Plain | None:
        """`say: "Hallo" daar`: text after the quote that closed the text."""
        before = self.lines[number][:col].rstrip()
        if not before.endswith(("'", '"')) or col >= len(self.lines[number]):
            return None
        quote = before[-1]
        return Plain(number, col, f"line {number + 1} has more text after the closing quote {quote}",
                     f"put the whole text in quotes (a {quote} inside it is written "
                     + ("''" if quote == "'" else '\\"') + "), or remove what comes after the closing quote")

    def misindented(self, number: int) -> Plain | None:
        """A line indented like no block above it: say which line it should line up with."""
        if not self.content(number):
            return None
        mine = self.indent(number)
        item = self.lines[number].lstrip(" ").startswith("- ")
        levels = [level for level in self.levels(number) if level[2] == item] or self.levels(number)
        if not item and any(width == mine and is_item for width, _, is_item in self.levels(number)):
            return self.item_without_dash(number)
        if not levels or any(width == mine for width, _, _ in levels):
            return None
        # nearest level; on a tie the deeper one (the line above, where people usually meant to be)
        width, like, _ = min(levels, key=lambda level: (abs(level[0] - mine), -level[0]))
        previous = self.above(number)
        told = (f"line {number + 1} is indented differently from the line above it ({_spaces(mine)}; "
                f"line {previous + 1} has {self.indent(previous)})") if previous is not None else (
                f"line {number + 1} is indented {_spaces(mine)}")
        return Plain(number, mine, f"{told}, so it fits under no block above it",
                     f"indent line {number + 1} like line {like + 1} ({self.shown(like)}): {_spaces(width)}; "
                     "lines of one block start in the same column")

    def item_without_dash(self, number: int) -> Plain:
        """`id: court` in the column of the `- id:` items above it: a list item missing its `- `."""
        mine = self.indent(number)
        levels = self.levels(number)
        item = next(n for width, n, is_item in levels if is_item and width == mine)
        inner = next(width for width, n, is_item in levels if n == item and not is_item)
        return Plain(number, mine,
                     f"line {number + 1} starts in the column of the `- ` items above it (line {item + 1}) "
                     "but has no `- `",
                     f"start it with `- ` like line {item + 1} if it is a new item, or indent it {_spaces(inner)}, "
                     "like the other lines of the item above, if it belongs to that item")


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _quoted(key: str, value: str) -> str:
    """`key: "value"` as a moderator would type it, with the quote that needs no escaping."""
    line = f'{key}: "{value}"' if '"' not in value else key + ": '" + value.replace("'", "''") + "'"
    return line if "`" in line else f"`{line}`"
