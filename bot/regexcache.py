"""Compiled regular expressions remembered between starts, keyed by their text.

Why: after the YAML cache, compiling the crisis rules' ~120 long patterns was about a third
of the bot's start-up. Python's `re` parses and compiles a pattern in Python; its result is
a list of opcodes that `_sre.compile` turns into a Pattern at once. Those opcodes, with
what the caller derived from the same parse (the crisis prefilter), are kept in one file
beside the parsed YAML (`bot.flows.source.CACHE`), so the next start skips the parse.

The opcodes belong to one build of Python, so the file is only read back by the same
Python (its full version and `_sre.MAGIC` are its stamp, bot/remembered.py); any problem
reading or using it is a miss, and the pattern is compiled as before. A pattern that does not compile is
never remembered: its error comes from `re` itself.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import re
import sys
from pathlib import Path
from re import _compiler  # type: ignore[attr-defined]
from typing import Any

from bot.flows.source import CACHE
from bot.remembered import RememberedTable

#: bump when an entry changes shape
FORMAT = 1
_STAMP = f"{FORMAT}:{sys.version}:{_sre.MAGIC}"

#: (extra, flags, code, groups, groupindex, indexgroup): `extra` is the caller's (marshal-able)
Entry = tuple[Any, int, list[int], int, dict[str, int], tuple[str | None, ...]]


class RegexCache:
    def __init__(self, file: Path | None) -> None:
        self.table = RememberedTable(file, _STAMP)

    def get(self, text: str) -> tuple[re.Pattern[str], Any] | None:
        """The compiled pattern and the caller's extra for `text`, or None (compile it then)."""
        entry = self.table.get(text)
        if entry is None:
            return None
        try:
            extra, flags, code, groups, groupindex, indexgroup = entry
            regex: re.Pattern[str] = _sre.compile(None, flags, code, groups, groupindex, indexgroup)
        except Exception:  # a damaged entry: compile as if it were not there
            return None
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
        self.table.put(text, entry)
        return regex

    def save(self) -> None:
        """Write what this process compiled or used (only when something new was compiled)."""
        self.table.save()


def _cache_file() -> Path | None:
    return CACHE.folder / "crisis-regex.bin" if CACHE.folder is not None else None


REGEXES = RegexCache(_cache_file())
