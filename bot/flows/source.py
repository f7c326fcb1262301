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
from ruamel.yaml.error import MarkedYAMLError

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


class YamlSyntaxError(Exception):
    def __init__(self, where: Where, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


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
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Where(name, mark.line + 1, mark.column + 1) if mark else Where(name, 1, 1)
        problem = ": ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise YamlSyntaxError(where, problem) from exc
    except Exception as exc:  # ruamel raises several unrelated types for broken input
        raise YamlSyntaxError(Where(name, 1, 1), str(exc).splitlines()[0]) from exc
    return _plain(node, (), pos), pos
