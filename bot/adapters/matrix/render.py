"""Matrix message formatting, both ways, with no I/O.

Why its own module: what a user sees and what a typed line means are the
parts of the adapter worth testing without a homeserver.

Out: Matrix clients have no inline buttons, so a question's choices become a
numbered list in the message itself; the engine accepts the number or the
words of a label as a Text answer. A turn's texts are grouped into one event
(homeservers throttle senders, and one message reads better than four
bubbles); a document becomes its own `m.file` event after the text that
introduces it. A text carries the locale texts' markup (bot/markup.py: `**Kop**`
heading lines, `- ` list lines); `body` is its plain text and `formatted_body`
its HTML, with every line HTML-escaped before our own tags are put around it
(so every user-provided value is escaped): we never pass through markup we did
not write. Every event
carries an empty `m.mentions`: the bot never means to ping anyone, so a
relayed "@room" or a desk member's name in a user's text notifies nobody
(clients that follow intentional mentions, Matrix 1.7, stop matching bodies).

In: a line starting with "/" or "!" is a command ("!" because Element
intercepts unknown slash commands); a reply's quoted fallback is stripped so
the engine sees only what the user typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.events import ChoiceButton, Command, Document, Edit, Event, Send, Text
from bot.markup import matrix_html, plain


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A text event; `body` is the text with its markup (bot/markup.py), as the engine wrote it."""

    body: str

    def content(self) -> dict[str, Any]:
        return {
            "msgtype": "m.text",
            "body": plain(self.body),
            "format": "org.matrix.custom.html",
            "formatted_body": to_html(self.body),
            "m.mentions": {},
        }


@dataclass(frozen=True, slots=True)
class FileMessage:
    document: Document


Outgoing = TextMessage | FileMessage


def to_html(text: str) -> str:
    """Every line escaped, then our markup and line breaks: nothing the user typed becomes markup."""
    return matrix_html(text)


def numbered(text: str, choices: Sequence[ChoiceButton]) -> str:
    if not choices:
        return text
    lines = [f"{number}. {choice.label}" for number, choice in enumerate(choices, 1)]
    return f"{text}\n\n" + "\n".join(lines) if text else "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Part:
    """One event of a turn and what showing it achieves.

    `completes`: how many of the turn's actions are fully shown once this
    event and every one before it are (a delivery cut off halfway reports
    that to the core, which then re-sends only the rest). `intro_of`: the
    index of the action whose text this event shows without that action's
    document, which follows as the next event.
    """

    message: Outgoing
    completes: int
    intro_of: int | None = None


def render_parts(actions: Sequence[Send | Edit]) -> list[Part]:
    """A turn's actions as the fewest events that still read well, each with its progress."""
    out: list[Part] = []
    pending: list[str] = []

    def flush(completes: int, intro_of: int | None = None) -> None:
        if pending:
            out.append(Part(TextMessage("\n\n".join(pending)), completes, intro_of))
            pending.clear()

    for index, action in enumerate(actions):
        text = numbered(action.text, action.choices)
        if text:
            pending.append(text)
        document = action.document if isinstance(action, Send) else None
        if document is not None:
            flush(index, index if text else None)
            out.append(Part(FileMessage(document), index + 1))
    flush(len(actions))
    return out


def render(actions: Sequence[Send | Edit]) -> list[Outgoing]:
    """A turn's actions as the fewest events that still read well."""
    return [part.message for part in render_parts(actions)]


def document_fallback(document: Document) -> TextMessage:
    """The document inline, for when an upload is impossible."""
    return TextMessage(f"{document.title}\n\n{document.content}")


def file_content(document: Document, size: int) -> dict[str, Any]:
    """An m.file content without its url/file (the caller adds where it lives).

    `body` carries the caption (what the file is and what to do with it; the
    title when there is none) and `filename` the file's name, as the spec
    allows since v1.10; older clients show the caption as the name.
    """
    return {
        "msgtype": "m.file",
        "body": document.caption or document.title,
        "filename": document.filename,
        "info": {"mimetype": _mime(document), "size": size},
        "m.mentions": {},
    }


def _mime(document: Document) -> str:
    mime = document.mime
    if mime.startswith("text/") and "charset" not in mime:
        mime += "; charset=utf-8"
    return mime


def strip_reply_fallback(body: str) -> str:
    """Drop the "> <@user> quoted" lines a client puts before a reply's own text."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and lines[index] == "":
        return "\n".join(lines[index + 1 :])
    return body


def parse_text(body: str, is_reply: bool = False) -> Event:
    """What the user's line means for the engine: a command or free text."""
    text = strip_reply_fallback(body) if is_reply else body
    stripped = text.strip()
    if len(stripped) > 1 and stripped[0] in "/!" and stripped[1].isalpha():
        name, _, args = stripped[1:].partition(" ")
        return Command(name.lower(), args.strip())
    return Text(text)
