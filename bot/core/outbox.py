"""What a turn's replies look like in the outbox, and in which order they go out.

Why apart from the core: the same payload is written inside the turn's transaction,
read back when a previous run left it unsent, and shown by the console's JSON mode,
so its shape lives in one place that needs neither the event loop nor the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.events import Action, ChoiceButton, Document, Edit, LinkPreview, Send
from bot.state import dumps, loads


def encode_outbound(actions: Sequence[Send | Edit]) -> str:
    """Serialise messages for the outbox (and for the console's JSON mode)."""
    items = []
    for action in actions:
        item: dict[str, Any] = {"t": "edit" if isinstance(action, Edit) else "send", "text": action.text}
        if action.choices:
            item["choices"] = [[c.id, c.label] for c in action.choices]
        if action.token:
            item["token"] = action.token
        if isinstance(action, Send) and action.document:
            doc = action.document
            item["doc"] = [doc.filename, doc.title, doc.content, doc.mime, doc.caption]
        if action.preview is not None:
            item["preview"] = [action.preview.url, action.preview.above]
        items.append(item)
    return dumps(items)


def decode_outbound(payload: str) -> list[Send | Edit]:
    out: list[Send | Edit] = []
    for item in loads(payload):
        choices = tuple(ChoiceButton(cid, label) for cid, label in item.get("choices", []))
        preview = LinkPreview(*item["preview"]) if "preview" in item else None
        if item["t"] == "edit":
            out.append(Edit(item["text"], choices, item.get("token", ""), preview))
        else:
            doc = Document(*item["doc"]) if "doc" in item else None
            out.append(Send(item["text"], choices, item.get("token", ""), doc, preview))
    return out


def in_turn_order(actions: Sequence[Action], written: dict[int, list[Send]], *,
                  own: bool = True) -> list[Send | Edit]:
    """The turn's messages with what a writer said placed right after the action it wrote.

    A report's confirmation ("passed to the desk, reference WW-...") belongs where the
    report step was, before the flow's closing words and its next question ("Can I do
    anything else?"): appended at the end it would come after that question. `own=False`:
    the turn's own messages are not sent (a stale press answered on the button), the
    writers' still are.
    """
    out: list[Send | Edit] = []
    for index, action in enumerate(actions):
        if own and isinstance(action, Send | Edit):
            out.append(action)
        out.extend(written.get(index, ()))
    return out
