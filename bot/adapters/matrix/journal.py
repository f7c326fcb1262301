"""What the adapter must remember between a failed delivery and its retry.

Why: the core keeps a turn it could not deliver in its outbox and hands it to
`deliver` again later (possibly after a restart), but it does not say which
outbox row it is. Two things would then show a message twice:

- A send whose request reached the homeserver but whose answer did not (a
  dropped connection, a crash). Matrix stores a PUT /send once per
  transaction id (Synapse remembers them per device for about a day), so
  the retry must use the same id. The journal keeps the transaction id of
  every send not yet confirmed, keyed by room and message; the retry of that
  message reuses it and the homeserver answers with the event it already
  has. A confirmed send is forgotten at once, so the same words sent later
  (a second /help) are a new message, never swallowed.
- A document whose introduction was shown but whose file was not: the core
  re-sends that whole action (and the desk re-posts that whole post), and
  the journal says its introduction is already on screen, and as which
  event, so only the file follows and the desk still gets the card's id.

Entries are keyed by a hash of the room and the message, never by its text.
The file is rewritten (atomically, 0600) on every change but not fsynced:
it must survive the bot's crash, not a power cut. A journal that cannot be
written only loses that protection, never a message.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

from bot.adapters.matrix.render import FileMessage, Outgoing
from bot.clock import SYSTEM, Now
from bot.events import Edit, Send
from bot.private_files import write_private

log = logging.getLogger(__name__)

JOURNAL_FILE = "pending_sends.json"
#: Synapse forgets transaction ids after a day; older entries only take room.
KEEP_FOR = 24 * 3600.0
#: A room that refuses for good must not grow the file without bound.
MAX_ENTRIES = 1000


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:32]


def part_key(room: str, message: Outgoing, occurrence: int) -> str:
    """The same message of the same turn in the same room, however it is retried.

    A document is known by what it says, not by its upload (each attempt
    uploads anew); `occurrence` tells apart equal messages in one turn.
    """
    if isinstance(message, FileMessage):
        doc = message.document
        return _digest("file", room, doc.filename, doc.title, doc.content, doc.mime, occurrence)
    return _digest("text", room, message.body, occurrence)


def intro_key(room: str, action: Send | Edit) -> str:
    document = action.document if isinstance(action, Send) else None
    doc = (document.filename, document.title, document.content) if document else None
    labels = [choice.label for choice in action.choices]
    return _digest("intro", room, action.text, labels, doc)


class SendJournal:
    """Unconfirmed transaction ids and shown introductions, in one small file."""

    def __init__(self, store: Path, clock: Now = SYSTEM) -> None:
        self.path = store / JOURNAL_FILE
        self.clock = clock
        self._entries: dict[str, dict[str, Any]] = {}
        self.load()

    def load(self) -> None:
        """Read the file again (another process's, handed over with the device: bot/handover.py)."""
        self._entries = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(self.path.read_text())
            if isinstance(loaded, dict):
                self._entries = loaded

    def transaction_id(self, key: str) -> str:
        """The id this send used before (unconfirmed), or a new one remembered before it is used."""
        entry = self._entries.get(key)
        if entry is not None and isinstance(entry.get("tx"), str):
            return str(entry["tx"])
        tx = f"ww{uuid.uuid4().hex}"
        self._entries[key] = {"tx": tx, "at": self.clock().timestamp()}
        self._save()
        return tx

    def confirmed(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._save()

    def mark_intro_shown(self, key: str, event_id: str) -> None:
        """The introduction is on screen as `event_id` (a desk keeps that id to know replies to it)."""
        self._entries[key] = {"intro": True, "event": event_id, "at": self.clock().timestamp()}
        self._save()

    def intro_shown(self, key: str) -> str | None:
        """The event id of an introduction already shown ("" if not known), None if it was not shown."""
        entry = self._entries.get(key, {})
        return str(entry.get("event", "")) if entry.get("intro") else None

    def _save(self) -> None:
        now = self.clock().timestamp()
        fresh = {
            key: entry
            for key, entry in self._entries.items()
            if now - float(entry.get("at", 0)) < KEEP_FOR
        }
        newest = sorted(fresh.items(), key=lambda item: float(item[1].get("at", 0)))[-MAX_ENTRIES:]
        self._entries = dict(newest)
        try:
            write_private(self.path, json.dumps(self._entries), durable=False)
        except OSError as err:
            log.warning("matrix send journal not written (%s): a retry may show a message twice", type(err).__name__)
