"""What people write, made fit to show on the other side of a relayed talk.

A relayed text is shown inside a line the bot writes ("Gebruiker #A1B2 (WW-2026-0001): …").
A newline in it would start what looks like another person's line; a bidi control
(U+202E) turns the rest of the line around, so a reference or a name reads differently;
zero-width characters hide text. So: control and format characters go (except the
joiners that emoji and some scripts need), newlines become a visible mark where the
line allows only one line, and the length is capped, with the caller telling the writer.
Never raises, never logs: it sees what people wrote.
"""

from __future__ import annotations

import unicodedata

#: A relayed text of a person, as the desk room shows it.
TO_DESK_LIMIT = 2000
#: A desk member's answer, as the person is shown it (with the desk's name in front: under 1,000).
TO_USER_LIMIT = 900
#: Shown where a newline was, in a line that must stay one line.
NEWLINE_MARK = " ⏎ "
#: Zero-width (non-)joiner: parts of emoji sequences and of words in some scripts, harmless.
_KEPT_FORMAT = frozenset("\u200c\u200d")


def plain(text: str) -> str:
    """`text` without control and format characters; newlines and tabs become plain ones."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch for ch in text
                   if ch == "\n" or ch in _KEPT_FORMAT or unicodedata.category(ch) not in ("Cc", "Cf"))


def one_line(text: str) -> str:
    """`plain(text)` on one line: each run of newlines shown as a mark."""
    lines = [line.strip() for line in plain(text).split("\n")]
    return NEWLINE_MARK.join(line for line in lines if line)


def capped(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters (an ellipsis included) at a space if one is near; whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…", True
