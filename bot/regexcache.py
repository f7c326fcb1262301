"""Compiled regular expressions remembered between starts, keyed by their text.

Why: after the YAML cache, compiling the crisis rules' ~120 long patterns was about a third
of the bot's start-up. Python's `re` parses and compiles a pattern in Python; its result is
a list of opcodes that `_sre.compile` turns into a Pattern at once. Those opcodes, with
what the caller derived from the same parse (the crisis prefilter), are kept in one file
beside the parsed YAML (`bot.flows.source.CACHE`), so the next start skips the parse.

The opcodes belong to one build of Python, so the file is only read back by the same
Python (its full version and `_sre.MAGIC` are in the file); any problem reading or using
it is a miss, and the pattern is compiled as before. A pattern that does not compile is
never remembered: its error comes from `re` itself.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import logging
import marshal
import os
import re
import sys
import tempfile
from pathlib import Path
from re import _compiler  # type: ignore[attr-defined]
from typing import Any

from bot.flows.source import CACHE

log = logging.getLogger(__name__)

#: bump when an entry changes shape
FORMAT = 1
_STAMP = f"{FORMAT}:{sys.version}:{_sre.MAGIC}"

#: (extra, flags, code, groups, groupindex, indexgroup): `extra` is the caller's (marshal-able)
Entry = tuple[Any, int, list[int], int, dict[str, int], tuple[str | None, ...]]


class RegexCache:
    def __init__(self, file: Path | None) -> None:
        self.file = file
        self._known: dict[str, Entry] | None = None
        #: entries used or made by this process: what `save` writes (old patterns drop out)
        self._used: dict[str, Entry] = {}
        self._dirty = False

    def _entries(self) -> dict[str, Entry]:
        if self._known is None:
            self._known = {}
            if self.file is not None:
                try:
                    stamp, entries = marshal.loads(self.file.read_bytes())  # noqa: S302 - our own cache, plain data
                    if stamp == _STAMP and isinstance(entries, dict):
                        self._known = entries
                except (OSError, ValueError, EOFError, TypeError):
                    pass
        return self._known

    def get(self, text: str) -> tuple[re.Pattern[str], Any] | None:
        """The compiled pattern and the caller's extra for `text`, or None (compile it then)."""
        entry = self._entries().get(text)
        if entry is None:
            return None
        try:
            extra, flags, code, groups, groupindex, indexgroup = entry
            regex: re.Pattern[str] = _sre.compile(None, flags, code, groups, groupindex, indexgroup)
        except Exception:  # a damaged entry: compile as if it were not there
            return None
        self._used[text] = entry
        return regex, extra

    def compile(self, text: str, tree: Any, extra: Any) -> re.Pattern[str]:
        """Compile `tree` (re's parse of `text`) as `re._compiler.compile(tree)` does, and remember it."""
        code = _compiler._code(tree, 0)
        state = tree.state
        groupindex = dict(state.groupdict)
        indexgroup: list[str | None] = [None] * state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        # the opcodes are int subclasses (named constants): plain ints for marshal
        entry: Entry = (extra, int(state.flags), [int(op) for op in code], state.groups - 1, groupindex,
                        tuple(indexgroup))
        regex: re.Pattern[str] = _sre.compile(None, entry[1], entry[2], entry[3], entry[4], entry[5])
        self._used[text] = entry
        self._dirty = True
        return regex

    def save(self) -> None:
        """Write what this process compiled or used (only when something new was compiled)."""
        if not self._dirty or self.file is None:
            return
        self._dirty = False
        try:
            blob = marshal.dumps((_STAMP, self._used))
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".compiling-")
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temporary, self.file)
            self._known = dict(self._used)
        except (OSError, ValueError) as exc:
            log.debug("compiled-regex cache not written (%s)", type(exc).__name__)


def _cache_file() -> Path | None:
    return CACHE.folder / "crisis-regex.bin" if CACHE.folder is not None else None


REGEXES = RegexCache(_cache_file())
