"""What start-up works out from a text, remembered between starts in one file, keyed by the text.

Why: start-up reads the same texts at every start (crisis patterns, locale templates) and
derives the same things from them. A `RememberedTable` keeps those results as plain data
(`marshal`: no code runs on reading it back) in one file beside the parsed YAML
(`bot.flows.source.CACHE`). The file carries a stamp (what made the entries: a Python
build, a library's version, the code that derives them); a file with another stamp, or one
that cannot be read, is empty, and a file that cannot be written costs only the work.
What this module must never do: keep a result of a text that failed (the caller raises
before it puts anything), so every error comes from the parser itself, with its line.
"""

from __future__ import annotations

import logging
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RememberedTable:
    """Entries by text; `save` writes those this process used, so texts no longer read drop out."""

    def __init__(self, file: Path | None, stamp: str) -> None:
        self.file = file
        self.stamp = stamp
        self._known: dict[str, Any] | None = None
        #: entries used or made by this process: what `save` writes
        self._used: dict[str, Any] = {}
        self._dirty = False

    def _entries(self) -> dict[str, Any]:
        if self._known is None:
            self._known = {}
            if self.file is not None:
                try:
                    stamp, entries = marshal.loads(self.file.read_bytes())  # noqa: S302 - our own cache, plain data
                    if stamp == self.stamp and isinstance(entries, dict):
                        self._known = entries
                except (OSError, ValueError, EOFError, TypeError):
                    pass
        return self._known

    def get(self, text: str) -> Any | None:
        """The entry for `text`, or None (work it out, then `put` it)."""
        entry = self._entries().get(text)
        if entry is not None:
            self._used[text] = entry
        return entry

    def put(self, text: str, entry: Any) -> None:
        self._used[text] = entry
        self._dirty = True

    @property
    def fresh(self) -> bool:
        """Nothing was worked out anew since the file was read (or written)."""
        return not self._dirty

    def save(self) -> None:
        """Write what this process made or used (only when something new was made)."""
        if not self._dirty or self.file is None:
            return
        self._dirty = False
        try:
            blob = marshal.dumps((self.stamp, self._used))
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".remembering-")
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temporary, self.file)  # whole or not at all, also with two processes starting
            self._known = dict(self._used)
        except (OSError, ValueError) as exc:
            log.debug("%s not written (%s)", self.file.name, type(exc).__name__)
