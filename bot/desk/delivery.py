"""Posting in desk rooms: desk_outbox goes out through each platform's outlet, retried until taken.

Apart because it is the desk's only loop and its only talk with the platforms:
a post waits (with backoff, also across a restart) until the platform accepts
it, and one room's posts keep their order. Everything else only queues posts
and wakes this loop.

Never log a post's text or a room id.
"""

from __future__ import annotations

import logging

from bot.desk import cases
from bot.desk.cases import Post, desk_parts
from bot.desk.shared import DeskShared
from bot.events import Document
from bot.periodic import every

log = logging.getLogger(__name__)

#: Seconds between delivery rounds when nothing wakes the loop.
DELIVERY_TICK = 2.0
#: Longest wait between two attempts to post in a desk room.
MAX_BACKOFF = 300


class RoomDelivery:
    """Posts what is due in the desk rooms, one round at a time."""

    def __init__(self, shared: DeskShared) -> None:
        self.shared = shared
        self._no_outlet: set[str] = set()

    async def deliver_pending(self) -> int:
        """Post what is due in desk_outbox; return how many posts the platforms took."""
        store = self.shared.core.store
        posts: list[Post] = await store.execute(cases.due_posts, self.shared.codec, self.shared.now(), write=False)
        blocked: set[str] = set()
        done = 0
        for post in posts:
            if post.desk in blocked:
                continue  # keep one room's posts in order
            if await self._post(post):
                done += 1
            else:
                blocked.add(post.desk)
        if done:
            log.info("posted %d desk message(s)", done)
        return done

    async def _post(self, post: Post) -> bool:
        """Post one message; False when it has to wait (no outlet, or not accepted: retried later)."""
        platform, room = desk_parts(post.desk)
        outlet = self.shared.core.outlets.get(platform)
        store = self.shared.core.store
        if outlet is None:
            if platform not in self._no_outlet:
                log.warning("desk on %s, but that platform is not running; posts wait", platform)
                self._no_outlet.add(platform)
            return False
        document = Document(*post.document) if post.document else None
        try:
            message_id = await outlet.deliver_to_room(room, post.text, document)
        except Exception as exc:  # DeliveryFailed, or anything a platform library raises
            delay = min(MAX_BACKOFF, 5 * 2 ** min(post.attempts, 10))
            log.warning("desk post (%s) on %s not accepted (%s); retry in %d s",
                        post.what, platform, type(exc).__name__, delay)
            await store.execute(cases.retry_later, post.id, delay, self.shared.now())
            return False
        await store.execute(cases.posted, post, str(message_id or ""), self.shared.now())
        return True

    async def loop(self) -> None:
        await every(DELIVERY_TICK, self.deliver_pending, "desk delivery round", wake=self.shared.woken)

