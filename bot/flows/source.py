"""YAML files read with the position of every key and value.

Moderators edit YAML by hand, so every error we report must point at
file:line:column. ruamel.yaml's round-trip loader keeps those positions; this
module turns its nodes into plain dicts/lists (what pydantic validates) plus a
`Positions` table keyed by the path into the data. It is the one reader of
moderators' YAML: flows, locales, the directory, crisis rules and scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode
from ruamel.yaml.tokens import ScalarToken

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a moderator's file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(slots=True)
class Positions:
    """Where each path in a loaded file was written.

    `table` holds where each key (or list item) starts: the place to look for a
    missing, unknown or misspelt key. `values` holds where a scalar value after
    a key starts (`phone: 112` -> the `112`): the place of a wrong value.
    """

    file: str
    table: dict[PathKey, Where] = field(default_factory=dict)
    values: dict[PathKey, Where] = field(default_factory=dict)

    def of(self, path: PathKey) -> Where:
        """The nearest known key position for `path` (walks up to a parent)."""
        return self._nearest(path, {})

    def value_of(self, path: PathKey) -> Where:
        """Like `of`, but a scalar's own value where it has one (walks up to a parent)."""
        return self._nearest(path, self.values)

    def _nearest(self, path: PathKey, first: dict[PathKey, Where]) -> Where:
        probe = tuple(path)
        while probe:
            found = first.get(probe) or self.table.get(probe)
            if found is not None:
                return found
            probe = probe[:-1]
        return self.table.get((), Where(self.file, 1, 1))


#: The fix for a YAML syntax error nothing more specific is known about.
SYNTAX_FIX = "fix the YAML syntax (indentation, quotes, brackets)"


class YamlSyntaxError(Exception):
    """A file that is not readable YAML; `fix` says what to change, `duplicate` marks a key written twice."""

    def __init__(self, where: Where, problem: str, fix: str = SYNTAX_FIX, *, duplicate: bool = False) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.fix = fix
        self.duplicate = duplicate


def shown_path(path: Path, root: Path | None) -> str:
    """A path as moderators see it: relative to the project when possible."""
    if root is None:
        return str(path)
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def _plain(node: Any, path: PathKey, pos: Positions) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key, value in node.items():
            skey = str(key)
            # a key merged in with `<<: *anchor` was written elsewhere: it takes the mapping's place
            if key in node.lc.data:
                line, col = node.lc.key(key)
                pos.table[(*path, skey)] = Where(pos.file, line + 1, col + 1)
                if value is not None and not isinstance(value, CommentedMap | CommentedSeq):
                    line, col = node.lc.value(key)
                    pos.values[(*path, skey)] = Where(pos.file, line + 1, col + 1)
            out[skey] = _plain(value, (*path, skey), pos)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, value in enumerate(node):
            line, col = node.lc.item(index)
            pos.table[(*path, index)] = Where(pos.file, line + 1, col + 1)
            items.append(_plain(value, (*path, index), pos))
        return items
    if node is None or isinstance(node, bool | int | float):
        return node
    if hasattr(node, "isoformat"):
        return node.isoformat()
    return str(node)


def load_yaml(path: Path, shown_as: str | None = None) -> tuple[Any, Positions]:
    """Load one YAML file as plain data plus the positions of its keys."""
    name = shown_as or str(path)
    pos = Positions(name)
    pos.table[()] = Where(name, 1, 1)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(Where(name, 1, 1), f"the file is not UTF-8 text ({exc.reason})") from exc
    try:
        node = _yaml().load(text)
    except DuplicateKeyError as exc:
        raise _duplicate_key(name, text, exc) from exc
    except MarkedYAMLError as exc:
        raise _syntax_error(name, text, exc) from exc
    except Exception as exc:  # ruamel raises several unrelated types for broken input
        raise YamlSyntaxError(Where(name, 1, 1), str(exc).splitlines()[0]) from exc
    return _plain(node, (), pos), pos


#: Things that open in one place and must close later: (what opened, how to close it).
#: ruamel only notices they are unclosed where it gives up (often the end of the file),
#: so the place to look is where they opened.
_UNCLOSED = {
    "while parsing a flow sequence": (
        "`[`", "close the list with `]`, or put the whole text in quotes when it starts with `[`"),
    "while parsing a flow mapping": (
        "`{`", "close it with `}`, or put the whole text in quotes when it starts with `{` "
               "(e.g. `title: \"{{ name }} ...\"`)"),
}


def _at(name: str, mark: Any) -> Where:
    return Where(name, mark.line + 1, mark.column + 1) if mark is not None else Where(name, 1, 1)


def _syntax_error(name: str, text: str, exc: MarkedYAMLError) -> YamlSyntaxError:
    """An unclosed quote or bracket where it opened; anything else where the parser stopped."""
    opened, gave_up = exc.context_mark, exc.problem_mark
    if opened is not None and gave_up is not None and gave_up.line > opened.line:
        unclosed = _UNCLOSED.get(exc.context or "")
        if exc.context == "while scanning a quoted scalar":
            quote = text[opened.index] if opened.index < len(text) else '"'
            unclosed = (f"quote {quote}", _quote_fix(quote))
        if unclosed is not None:
            what, fix = unclosed
            return YamlSyntaxError(
                _at(name, opened),
                f"the {what} opened here is never closed: the parser gave up at line "
                f"{gave_up.line + 1}, column {gave_up.column + 1} ({exc.problem})", fix)
    problem = ": ".join(p for p in (exc.context, exc.problem) if p) or str(exc).splitlines()[0]
    if gave_up is not None:
        quoted = _quote_ending_on(text, gave_up.line)
        if quoted is not None:  # a quote closed by the next text's opening quote, lines further on
            quote = text[quoted.index]
            return YamlSyntaxError(
                _at(name, quoted),
                f"the quote {quote} opened here runs on to line {gave_up.line + 1}, where the parser gave up "
                f"at column {gave_up.column + 1} ({problem}): is its closing {quote} missing?",
                _quote_fix(quote))
    return YamlSyntaxError(_at(name, gave_up or opened), problem)


def _quote_fix(quote: str) -> str:
    return (f"close the text with a second {quote}, or remove the opening {quote}"
            + (" (a ' inside '...' is written '')" if quote == "'" else ""))


def _quote_ending_on(text: str, line: int) -> Any:
    """Where a quoted text that spans lines and ends on `line` (0-based) starts, or None."""
    found = None
    try:
        for token in _yaml().scan(text):
            if (isinstance(token, ScalarToken) and token.style in ("'", '"')
                    and token.start_mark.line < token.end_mark.line == line):
                found = token.start_mark
    except MarkedYAMLError:
        pass  # the tokens before the error are all we need
    return found


def _duplicate_key(name: str, text: str, exc: DuplicateKeyError) -> YamlSyntaxError:
    """One line naming both places of a key written twice (not ruamel's values and links)."""
    second = exc.problem_mark
    key, first = _first_of_duplicate(text, exc)
    if key is None:  # not found again: fall back to the first line of ruamel's own words
        key = str(exc.problem).split(" with value ", 1)[0].removeprefix("found duplicate key ").strip('"')
    lines = f"lines {first} and {second.line + 1}" if first else f"line {second.line + 1}"
    return YamlSyntaxError(
        _at(name, second), f'duplicate key "{key}" at {lines}',
        "every key may appear once in its block: delete one of the two or give it another name",
        duplicate=True)


def _first_of_duplicate(text: str, exc: DuplicateKeyError) -> tuple[str | None, int | None]:
    """(key, 1-based line of its first occurrence), read from the node tree (which allows duplicates)."""
    try:
        root = _yaml().compose(text)
    except Exception:  # ruamel raises several types; only a nicer message is lost
        return None, None
    mapping_at, key_at = exc.context_mark.index, exc.problem_mark.index
    stack: list[Node] = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            keys = [k for k, _ in node.value]
            if node.start_mark.index == mapping_at:
                dup = next((k for k in keys if k.start_mark.index == key_at), None)
                if dup is not None:
                    first = next(k for k in keys if k.value == dup.value)
                    return str(dup.value), first.start_mark.line + 1
            stack.extend(v for _, v in node.value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return None, None
