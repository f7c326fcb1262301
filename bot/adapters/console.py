"""The console: the embedded default chat, with no account and no network.

Interactive mode shows choices numbered; typing the number or words of a
label both work (the engine matches them). Scripted mode (`--json`) reads
one user turn per line and prints the bot's messages as JSON lines followed
by exactly one {"type": "waiting"} line per turn, for moderators' checks
and automated tests. This adapter is the only place that prints what users
typed or saw, because printing it *is* its job.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.core import Core
from bot.events import Command, ConversationKey, Document, Edit, Event, Incoming, Send, Text
from bot.markup import plain

PLATFORM = "console"


def parse_line(line: str) -> Event:
    """One typed line as an event: "/start x" is a command, anything else text."""
    stripped = line.strip()
    if stripped.startswith("/") and len(stripped) > 1 and " " not in stripped.split(maxsplit=1)[0][1:]:
        name, _, args = stripped[1:].partition(" ")
        if name.replace("_", "").isalnum():
            return Command(name.lower(), args.strip())
    return Text(line.rstrip("\r\n"))


class ConsoleOutlet:
    """Prints what the core delivers, as text or JSON lines."""

    platform = PLATFORM

    def __init__(self, out: TextIO, as_json: bool) -> None:
        self.out = out
        self.as_json = as_json

    async def deliver(self, key: ConversationKey, actions: Sequence[Send | Edit],
                      reply_to: object | None) -> None:
        for action in actions:
            if self.as_json:
                self.out.write(json.dumps(self._json(action), ensure_ascii=False) + "\n")
            else:
                self.out.write(self._plain(action) + "\n\n")
        self.out.flush()

    async def deliver_to_room(self, room: str, text: str, document: Document | None) -> str:
        self.out.write(f"[desk {room}]\n{plain(text)}\n\n")
        self.out.flush()
        return room

    @staticmethod
    def _json(action: Send | Edit) -> dict[str, object]:
        item: dict[str, object] = {
            "type": "message",
            "text": plain(action.text),
            "choices": [{"id": c.id, "label": c.label} for c in action.choices],
        }
        if isinstance(action, Edit):
            item["replaces_previous"] = True
        if isinstance(action, Send) and action.document:
            doc = action.document
            item["document"] = {"filename": doc.filename, "title": doc.title, "content": doc.content}
        return item

    @staticmethod
    def _plain(action: Send | Edit) -> str:
        lines = [plain(action.text)]
        for number, choice in enumerate(action.choices, start=1):
            lines.append(f"  {number}. {choice.label}")
        if isinstance(action, Send) and action.document:
            doc = action.document
            bar = "-" * 60
            if doc.mime.startswith("text/"):
                lines.append(f"\n{bar}\n{doc.title} ({doc.filename})\n{bar}\n{doc.content.rstrip()}\n{bar}")
            else:  # a terminal cannot open a Word file; the bot sends its text as a message too
                lines.append(f"[{doc.title}: {doc.filename}]")
        return "\n".join(lines)


async def run_console(core: Core, *, user: str = "local", lang: str | None = None,
                      as_json: bool = False, stdin: TextIO | None = None,
                      stdout: TextIO | None = None) -> None:
    """Chat on stdin/stdout until end of input."""
    inp = stdin or sys.stdin
    if isinstance(inp, io.TextIOWrapper):
        # Bytes that are not valid in the terminal's encoding become U+FFFD: strict decoding
        # ended the chat with a traceback, surrogateescape gave strings no database accepts.
        inp.reconfigure(errors="replace")
    out = stdout or sys.stdout
    outlet = ConsoleOutlet(out, as_json)
    core.register(outlet)
    await core.start()
    key = ConversationKey(PLATFORM, user, user)
    loop = asyncio.get_running_loop()
    if not as_json:
        out.write(core.flows.render(lang or core.settings.default_lang, "console.hint", {}) + "\n\n")
        out.flush()
    try:
        while True:
            try:
                line = await loop.run_in_executor(None, inp.readline)
            except OSError:  # the terminal went away: its SIGHUP reloads the flows now, so end here
                break
            if line == "":
                break
            if not line.strip():
                if as_json:
                    out.write('{"type": "waiting"}\n')
                    out.flush()
                continue
            await core.handle(Incoming(key, parse_line(line), lang_hint=lang))
            if as_json:
                out.write('{"type": "waiting"}\n')
            else:
                out.write("> ")
            out.flush()
    finally:
        await core.stop()
