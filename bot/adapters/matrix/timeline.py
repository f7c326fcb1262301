"""Updates in: what the events of a room's timeline mean to the core, with no I/O.

Why apart: which events become an `Incoming`, with which update id, is the
part of receiving that decides "each update at most once, the bot never
answers history", and it can be read without a sync loop around it.
Everything before the bot's own join in a room is skipped; the join itself
becomes a /start for the person to greet (the sync loop asks the rooms who
that is). A message's update id is "mx:<event id>", so the core drops a
replay; a reply names the message it answers in extra["reply_to"], for the
desk's relay. Media, stickers and messages that could not be decrypted
become Unsupported, so the person hears that the bot could not read them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from nio import MegolmEvent, RoomMemberEvent, RoomMessageEmote, RoomMessageMedia, RoomMessageText, StickerEvent
from nio.events.room_events import Event as NioEvent
from nio.events.room_events import RoomEncryptedMedia, RoomMessageUnknown

from bot.adapters.matrix.config import PLATFORM
from bot.adapters.matrix.render import parse_text
from bot.events import Command, ConversationKey, Event, Incoming, Unsupported


def read_timeline(
    room_id: str, events: Sequence[NioEvent], me: str, greeted: Callable[[str], str | None]
) -> Iterator[Incoming]:
    """Timeline events -> Incoming, skipping everything before our own join.

    `greeted(room_id)` names the person a join of ours greets (None: nobody).
    """
    joined_at = None
    for index, event in enumerate(events):
        if (
            isinstance(event, RoomMemberEvent)
            and event.state_key == me
            and event.membership == "join"
            and event.prev_membership != "join"
        ):
            joined_at = index
    if joined_at is not None:
        join = events[joined_at]
        events = events[joined_at + 1 :]
        user = greeted(room_id)
        if user is not None:
            yield Incoming(key=ConversationKey(PLATFORM, room_id, user), event=Command("start"),
                           update_id=f"mx:{join.event_id}")
    for event in events:
        if getattr(event, "sender", me) == me:
            continue
        meaning = meaning_of(event)
        if meaning is None:
            continue
        replied = event.source.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {})
        yield Incoming(
            key=ConversationKey(PLATFORM, room_id, event.sender),
            event=meaning,
            update_id=f"mx:{event.event_id}",
            reply_to=event.event_id,
            # The desk relays a member's reply to the message it answers.
            extra={"reply_to": str(replied["event_id"])} if "event_id" in replied else {},
        )


def meaning_of(event: NioEvent) -> Event | None:
    """What a timeline event means to the engine (None: not for the engine)."""
    if isinstance(event, RoomMessageText | RoomMessageEmote):
        relates = event.source.get("content", {}).get("m.relates_to", {})
        if relates.get("rel_type") == "m.replace":
            return None  # an edit of an earlier message: answered already
        return parse_text(event.body, is_reply="m.in_reply_to" in relates)
    if isinstance(event, RoomMessageMedia | RoomEncryptedMedia):
        return Unsupported(event.source.get("content", {}).get("msgtype", "m.file")[2:])
    if isinstance(event, StickerEvent):
        return Unsupported("sticker")
    if isinstance(event, RoomMessageUnknown):
        return Unsupported(event.msgtype.removeprefix("m."))
    if isinstance(event, MegolmEvent):
        # Could not decrypt (keys never arrived): say we could not read it.
        return Unsupported("encrypted")
    return None
