"""YAML files read with the position of every key and value.

Moderators edit YAML by hand, so every error we report must point at
file:line:column. ruamel.yaml's round-trip loader keeps those positions; this
module turns its nodes into plain dicts/lists (what pydantic validates) plus a
`Positions` table keyed by the path into the data. It is the one reader of
moderators' YAML: flows, locales, the directory, crisis rules and scenarios.

Because a saved file is read at once (the watcher), a file must not be able
to take the bot down: files above 1 MB are refused unread, YAML tags (`!foo`,
`!!python/object`) are refused, and anchors and aliases (`&name`, `*name`,
which the directory uses to share fields) may not expand to more than
MAX_VALUES values, so a 500-byte "billion laughs" file is an error at its
line, not minutes of CPU and gigabytes of memory. All three are checked on
the composed node graph, before any value is built.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ruamel.yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tokens import ScalarToken

from bot.errors import ContentError
from bot.flows.syntax import explain, technical

PathKey = tuple[str | int, ...]

log = logging.getLogger(__name__)


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


#: Larger files are refused unread (the biggest shipped file is a few dozen KB).
MAX_FILE_BYTES = 1_000_000
#: Values one file may hold, counting every use of an alias in full: far above any
#: real file, far below what a "billion laughs" file expands to.
MAX_VALUES = 100_000
_CORE = "tag:yaml.org,2002:"
#: Tags a value has without a tag written: anything else was written as `!tag`.
_PLAIN_STR = _CORE + "str"

#: The fix for a YAML syntax error nothing more specific is known about.
SYNTAX_FIX = "fix the YAML syntax (indentation, quotes, brackets)"


class YamlSyntaxError(ContentError):
    """A file that is not readable YAML; `fix` says what to change, `duplicate` marks a key written twice.

    `problem` is in plain words (bot.flows.syntax); `detail` keeps the parser's own, for whoever wants them."""

    def __init__(self, where: Where, problem: str, fix: str = SYNTAX_FIX, *, duplicate: bool = False,
                 detail: str = "") -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.fix = fix
        self.duplicate = duplicate
        self.detail = detail


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
    """Load one YAML file as plain data plus the positions of its keys.

    Parsed files are kept in a cache keyed by their content (see `ParsedCache`): ruamel's
    pure-Python parser was most of the bot's start-up. A file read from the cache gives
    the same data and the same positions, so moderators' errors keep their line numbers.
    """
    name = shown_as or str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlSyntaxError(Where(name, 1, 1), f"the file is {size:,} bytes; a file here may be at most 1 MB",
                              "split it into smaller files (texts and directory entries may be spread over "
                              "several files), or remove what does not belong in it")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(Where(name, 1, 1), f"the file is not UTF-8 text ({exc.reason})") from exc
    cached = CACHE.get(raw, name)
    if cached is not None:
        return cached
    pos = Positions(name)
    pos.table[()] = Where(name, 1, 1)
    try:
        node = _load_vetted(text, name)
    except YamlSyntaxError:
        raise
    except DuplicateKeyError as exc:
        raise _duplicate_key(name, text, exc) from exc
    except MarkedYAMLError as exc:
        raise _syntax_error(name, text, exc) from exc
    except Exception as exc:  # ruamel raises several unrelated types for broken input
        raise YamlSyntaxError(Where(name, 1, 1), str(exc).splitlines()[0]) from exc
    data = _plain(node, (), pos)
    CACHE.put(raw, data, pos)
    return data, pos


class ParsedCache:
    """Parsed YAML files on disk, keyed by a hash of their bytes (and of how they were parsed).

    Only files that parsed without error are stored, so every error is found and reported
    by ruamel itself. The entry holds plain data and (line, column) pairs, written with
    `marshal` (no code runs on reading it back); the file name is not in it, so a file
    shown under another name still hits. A cache that cannot be read or written (read-only
    checkout, a full disk, an entry from another Python) is a miss: the file is parsed as
    before. `WEGWIJZER_YAML_CACHE` names the folder; `off` turns the cache off.
    """

    #: bump when what is stored changes shape
    FORMAT = 1
    #: entries kept; past this the oldest go (edited files leave their old versions behind)
    KEEP = 256

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        # this module's own code is in the key: a change to what is refused (tags, aliases ...)
        # or to how data is made plain must not be answered from entries made before it
        code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
        self._salt = f"{self.FORMAT}:{ruamel.yaml.__version__}:{marshal.version}:{code}".encode()

    def _file(self, raw: bytes) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / (hashlib.sha256(self._salt + raw).hexdigest() + ".marshal")

    def get(self, raw: bytes, name: str) -> tuple[Any, Positions] | None:
        file = self._file(raw)
        if file is None:
            return None
        try:
            data, table, values = marshal.loads(file.read_bytes())  # noqa: S302 - our own folder, plain data
            pos = Positions(name)
            pos.table = {path: Where(name, line, col) for path, (line, col) in table.items()}
            pos.values = {path: Where(name, line, col) for path, (line, col) in values.items()}
        except (OSError, ValueError, EOFError, TypeError):
            return None
        return data, pos

    def put(self, raw: bytes, data: Any, pos: Positions) -> None:
        file = self._file(raw)
        if file is None:
            return
        entry = (data,
                 {path: (w.line, w.col) for path, w in pos.table.items()},
                 {path: (w.line, w.col) for path, w in pos.values.items()})
        try:
            blob = marshal.dumps(entry)
            file.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=file.parent, prefix=".parsing-")
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temporary, file)  # whole or not at all, also with two processes starting
            entries = sorted(file.parent.glob("*.marshal"), key=lambda entry: entry.stat().st_mtime)
            for old in entries[:max(0, len(entries) - self.KEEP)]:
                old.unlink(missing_ok=True)
        except (OSError, ValueError) as exc:
            log.debug("parsed-YAML cache not written (%s)", type(exc).__name__)


def _cache_folder() -> Path | None:
    configured = os.environ.get("WEGWIJZER_YAML_CACHE", "")
    if configured.lower() == "off":
        return None
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / ".cache" / "parsed-yaml"


CACHE = ParsedCache(_cache_folder())


def _load_vetted(text: str, name: str) -> Any:
    """Compose the node graph, refuse tags and runaway aliases, then build the values."""
    constructor, parser = _yaml().get_constructor_parser(text)
    try:
        root = constructor.composer.get_single_node()
        if root is None:
            return None
        _vet(root, name, constructor.resolver)
        return constructor.construct_document(root)
    finally:
        parser.dispose()


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _vet(root: Node, name: str, resolver: Any) -> None:
    """Every value untagged, and at most MAX_VALUES of them with each alias counted in full.

    One pass over the graph (an alias is the anchored node itself, met again), sizes
    memoised per node, so counting a billion-value expansion costs as little as
    reading the file. Reported at the innermost block that grows past the limit.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_VALUES:
                raise YamlSyntaxError(
                    _at(name, node.start_mark),
                    f"the anchors and aliases (`&name`, `*name`) used here expand to more than "
                    f"{MAX_VALUES:,} values",
                    "write the values out, or share a block with `<<: *name` a few times only")
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlSyntaxError(_at(name, node.start_mark), "an alias (`*name`) here refers to the block it is in",
                                  "write the values out instead of referring to the block itself")
        _refuse_tag(node, name, resolver)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)) if id(child) not in sizes)


def _refuse_tag(node: Node, name: str, resolver: Any) -> None:
    """A value written with a YAML tag (`!foo`, `!!python/object`, `!!int`): we read plain values only."""
    tag = str(node.tag)
    if isinstance(node, ScalarNode):
        expected = str(resolver.resolve(ScalarNode, node.value, (True, False))) if node.style is None else _PLAIN_STR
    else:
        expected = _CORE + ("map" if isinstance(node, MappingNode) else "seq")
    if tag != expected:
        written = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
        raise YamlSyntaxError(_at(name, node.start_mark), f"`{written}` is a YAML tag; these files take plain values only",
                              "remove the tag (to keep a value as text, put it in quotes)")


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
    detail = technical(exc)
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
                f"{gave_up.line + 1}, column {gave_up.column + 1}", fix, detail=detail)
    if gave_up is not None:
        quoted = _quote_ending_on(text, gave_up.line)
        if quoted is not None:  # a quote closed by the next text's opening quote, lines further on
            quote = text[quoted.index]
            return YamlSyntaxError(
                _at(name, quoted),
                f"the quote {quote} opened here runs on to line {gave_up.line + 1}, where the parser gave up "
                f"at column {gave_up.column + 1}: is its closing {quote} missing?",
                _quote_fix(quote), detail=detail)
    plain = explain(text, exc)
    if plain is not None:
        return YamlSyntaxError(Where(name, plain.line + 1, plain.col + 1), plain.message, plain.fix, detail=detail)
    where = _at(name, gave_up or opened)
    return YamlSyntaxError(where, f"line {where.line} cannot be read as YAML from column {where.col} on",
                           SYNTAX_FIX, detail=detail)


def _quote_fix(quote: str) -> str:
    return (f"close the text with a second {quote}, or remove the opening {quote}"
            + (" (a ' inside '...' is written '')" if quote == "'" else ""))


def _quote_ending_on(text: str, line: int) -> Any:
    """Where a quoted text that spans lines and ends on `line` (0-based) or the line before starts, or None.

    The line before: a quote closed by the next text's opening quote may end that line, and the
    parser then stops on the next one (`reply_by: "add(` read as `"` + `add(`)."""
    found = None
    try:
        for token in _yaml().scan(text):
            if (isinstance(token, ScalarToken) and token.style in ("'", '"')
                    and token.start_mark.line < token.end_mark.line in (line - 1, line)):
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
