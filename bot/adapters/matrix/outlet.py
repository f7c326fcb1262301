"""Messages out: a turn's actions as room events, each shown once however often it is retried.

Why apart: what may be said in a room is decided elsewhere (membership.py);
this part only gets events onto the homeserver and keeps its promises about
them. A turn becomes the fewest events that read well (render.py); a
document is uploaded first (encrypted in an encrypted room) and shown inline
when no upload is possible. A send keeps its transaction id until the
homeserver confirms it, also across the outbox's later retry and a restart
(journal.py), so the homeserver stores it once however often we ask; cut off
halfway, it tells the core how many actions were fully shown, so only the
rest comes back. Posts to desk rooms go the same way, so a card whose file
failed is not posted again when the desk retries it.

Messages are sent with ignore_unverified_devices=True (see the README: the
bot talks to anonymous members of the public, so there is nobody to verify;
it still shares keys only with the devices the homeserver lists for the
room's members). It never logs message text or room ids.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

from nio import AsyncClient, LocalProtocolError, RoomSendResponse, SendRetryError, UploadResponse

from bot.adapters.base import DeliveryFailed
from bot.adapters.matrix.journal import SendJournal, intro_key, part_key
from bot.adapters.matrix.render import FileMessage, Outgoing, document_fallback, file_content, render_parts
from bot.adapters.matrix.retry import Retryable, RetryPolicy, classify
from bot.events import Document, Edit, Send
from bot.letters import file_bytes


class MatrixOutlet:
    """Posts events to rooms through the retry policy, with the send journal's memory."""

    def __init__(
        self,
        client: AsyncClient,
        retry: RetryPolicy,
        journal: SendJournal,
        ready: asyncio.Event,
    ) -> None:
        self.client = client
        self.retry = retry
        self._journal = journal
        #: set by the sync loop once the first sync arrived
        self._ready = ready

    async def wait_ready(self) -> None:
        """Deliveries wait for the first sync: before it nio knows no room."""
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), self.retry.give_up_after)
        except TimeoutError as err:
            raise DeliveryFailed("matrix is not connected") from err

    async def show(self, room: str, actions: Sequence[Send | Edit]) -> str:
        """Post actions as events; the id of the first one (possibly shown by an earlier attempt).

        Cut off halfway, it tells the caller how many actions were fully
        shown (DeliveryFailed.delivered), so the core's outbox re-sends only
        the rest. A document whose introduction was shown but whose file was
        not counts as not shown; the journal keeps its introduction from
        appearing twice when that action comes again.
        """
        first = intro_key(room, actions[0]) if actions else ""
        earlier = self._journal.intro_shown(first) if actions else None
        if earlier is not None:
            head = actions[0]
            document = head.document if isinstance(head, Send) else None
            actions = [Send("", token=head.token, document=document), *actions[1:]]
        shown, last, last_id, first_id = 0, None, "", earlier
        occurrences: Counter[Outgoing] = Counter()
        try:
            for part in render_parts(actions):
                event_id = await self._post(room, part.message, part_key(room, part.message, occurrences[part.message]))
                first_id = event_id if first_id is None else first_id
                occurrences[part.message] += 1
                shown, last, last_id = part.completes, part, event_id
        except DeliveryFailed as exc:
            exc.delivered = shown
            if earlier is not None and shown:
                self._journal.confirmed(first)
            if last is not None and last.intro_of == shown:
                self._journal.mark_intro_shown(intro_key(room, actions[shown]), last_id)
            raise
        if earlier is not None:
            self._journal.confirmed(first)
        return first_id or ""

    async def _post(self, room_id: str, message: Outgoing, key: str) -> str:
        """Send one event; its transaction id is kept until the homeserver confirms it."""
        await self.wait_ready()
        if isinstance(message, FileMessage):
            try:
                content = await self._upload(room_id, message.document)
            except DeliveryFailed:
                content = document_fallback(message.document).content()
        else:
            content = message.content()
        tx_id = self._journal.transaction_id(key)
        event_id = await self.retry.run("send", lambda: self._room_send(room_id, content, tx_id))
        self._journal.confirmed(key)
        return event_id

    async def _room_send(self, room_id: str, content: dict[str, Any], tx_id: str) -> str:
        try:
            resp = await self.client.room_send(
                room_id,
                "m.room.message",
                content,
                tx_id=tx_id,
                ignore_unverified_devices=True,
            )
        except (LocalProtocolError, SendRetryError) as err:
            if room_id not in self.client.rooms:
                # Just joined (nio learns the room from the next sync), or not
                # a member at all: wait a little, give up at the deadline.
                raise Retryable(0.5, "room not known yet") from err
            raise DeliveryFailed(f"cannot send to this room: {type(err).__name__}") from err
        if isinstance(resp, RoomSendResponse):
            return str(resp.event_id)
        raise classify(resp)

    async def _upload(self, room_id: str, document: Document) -> dict[str, Any]:
        """The m.file content of an uploaded document (its keys when the room is encrypted)."""
        data = file_bytes(document)
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)

        async def attempt() -> dict[str, Any]:
            resp, keys = await self.client.upload(
                io.BytesIO(data),
                content_type="application/octet-stream" if encrypt else document.mime,
                filename=document.filename,
                encrypt=encrypt,
                filesize=len(data),
            )
            if not isinstance(resp, UploadResponse):
                raise classify(resp)
            content = file_content(document, len(data))
            if encrypt and keys is not None:
                content["file"] = {**keys, "url": resp.content_uri}
            else:
                content["url"] = resp.content_uri
            return content

        return await self.retry.run("upload", attempt)
