"""What a desk member's message in a desk room means: a command, or nothing.

Desk rooms are shared team rooms, so plain talk between colleagues is never
relayed to a user. Only these reach the bot's logic (with / or !, since Matrix
clients keep /unknown commands to themselves; Telegram adds @botname):

    /queue            open requests, urgent first, then oldest first
    /claim WW-...     take a report or request (the reporter is told)
    /r WW-... text    say something to the user of a claimed talk
                      (also: a reply to one of that talk's messages;
                      the reference may be left out by whoever holds one talk)
    /end WW-...       end a talk; the user's flow resumes
    /help             this list

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.events import Command, Event, Text

#: Command words (both languages) -> what they mean.
DESK_COMMANDS = {
    "queue": "queue", "wachtrij": "queue", "open": "queue", "lijst": "queue",
    "claim": "claim", "neem": "claim", "oppakken": "claim", "pak": "claim",
    "r": "reply", "reply": "reply", "antwoord": "reply", "a": "reply",
    "end": "end", "einde": "end", "sluit": "end", "close": "end",
    "help": "help", "hulp": "help", "start": "help",
}

_REF = re.compile(r"^\s*ww[-\s]?(\d{4})[-\s]?(\d{1,6})\b", re.IGNORECASE)
_COMMAND = re.compile(r"^[/!]([A-Za-z]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class DeskCommand:
    action: str  # queue | claim | reply | end | help
    ref: str | None
    rest: str


def format_ref(year: int, number: int) -> str:
    return f"WW-{year}-{number:04d}"


def split_ref(text: str) -> tuple[str | None, str]:
    """A leading reference ("WW-2026-0001", "ww 2026 1") and the rest of the text."""
    match = _REF.match(text)
    if not match:
        return None, text.strip()
    return format_ref(int(match.group(1)), int(match.group(2))), text[match.end():].strip()


def read_desk_message(event: Event) -> DeskCommand | None:
    """A desk command, or None (talk between colleagues, a photo, an unknown command)."""
    if isinstance(event, Command):
        name, args = event.name.lower().lstrip("/!").split("@")[0], event.args
    elif isinstance(event, Text):
        match = _COMMAND.match(event.text.strip())
        if not match:
            return None
        name, args = match.group(1).lower(), match.group(2) or ""
    else:
        return None
    action = DESK_COMMANDS.get(name)
    if action is None:
        return None
    ref, rest = split_ref(args)
    return DeskCommand(action, ref, rest)
