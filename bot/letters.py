"""Letters as files a parent can edit on a phone: the bytes an adapter uploads for a Document.

Why here and not in the engine: a Document carries its letter as plain text (what the
chat shows, what the outbox stores, what a scenario test reads), and its `mime` says in
which format it is sent. Turning that text into a .docx is rendering, like escaping HTML
for Telegram, so each adapter asks this module for the file's bytes when it uploads. The
engine stays free of file formats and the outbox stays small text. python-docx is
imported only when a .docx is made: it is not needed to start the bot.

What it must never do: change what the letter says, or read or write files.
"""

from __future__ import annotations

from io import BytesIO

from bot.events import Document

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: A chat message a person reads on a phone is at most this long, also a letter's copy.
MESSAGE_LIMIT = 1000
_MIME_BY_SUFFIX = {".docx": DOCX_MIME, ".md": "text/markdown", ".txt": "text/plain"}


def mime_for(filename: str) -> str:
    """The media type a document's file name stands for (text/plain when unknown)."""
    for suffix, mime in _MIME_BY_SUFFIX.items():
        if filename.endswith(suffix):
            return mime
    return "text/plain"


def file_bytes(document: Document) -> bytes:
    """What to upload for `document`: a Word file for .docx, otherwise the text as UTF-8."""
    if document.mime == DOCX_MIME:
        return docx_bytes(document.title, document.content)
    return document.content.encode("utf-8")


def in_messages(heading: str, text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """A letter's text as chat messages of at most `limit` characters, cut between paragraphs.

    The first message starts with `heading`. A paragraph longer than a message (a long
    answer the parent typed) is cut at the last space that fits.
    """
    room = limit - len(heading) - 2
    messages: list[str] = []
    current = ""
    for paragraph in _paragraphs(text.strip(), room):
        joined = f"{current}\n\n{paragraph}" if current else paragraph
        if len(joined) <= room:
            current = joined
        else:
            messages.append(current)
            current = paragraph
    if current:
        messages.append(current)
    if not messages:
        return [heading]
    messages[0] = f"{heading}\n\n{messages[0]}"
    return messages


def _paragraphs(text: str, room: int) -> list[str]:
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        while len(paragraph) > room:
            cut = paragraph.rfind(" ", 0, room)
            cut = cut if cut > 0 else room
            out.append(paragraph[:cut].rstrip())
            paragraph = paragraph[cut:].lstrip()
        out.append(paragraph)
    return out


def docx_bytes(title: str, text: str) -> bytes:
    """The letter as a .docx: one paragraph per line, so it reads and edits like the chat text."""
    import docx  # imported here: only a letter needs it, and it costs start-up time
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = title
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)  # type: ignore[attr-defined]
    normal.paragraph_format.space_after = Pt(0)  # type: ignore[attr-defined]
    for line in text.rstrip("\n").split("\n"):
        document.add_paragraph(line)
    out = BytesIO()
    document.save(out)
    return out.getvalue()
