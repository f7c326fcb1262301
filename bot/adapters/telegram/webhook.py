"""Telegram updates by webhook: an aiohttp server Telegram POSTs each update to.

Why 2xx only once `receive` returned: Telegram sends again whatever is not
answered with a 2xx, so a crash before the update is safe (stored in the inbox,
bot/inbox.py, or handled) means a redelivery, and the inbox and the core's
handled-updates table keep that at-most-once. Several such servers (one per
worker process) may stand behind one URL. What it must never do: accept a call
without the secret token, or log a body (it may be what someone typed): a
malformed update is logged by its number only.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import ExtBot

from bot.adapters.telegram.updates import failure, read_raw_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def serve_webhook(
    url: str,
    secret: str,
    bot: ExtBot[Any],
    receive: Callable[[Update, dict[str, Any]], Awaitable[None]],
    on_skip: Callable[[], None],
    listen: str,
    port: int,
) -> web.AppRunner:
    """Serve POSTs from Telegram at `url`'s path; 200 only once `receive(update, body)` returned, 403 without
    the secret.

    `on_skip` counts an update that can never be read (it is answered 200, so Telegram stops sending it).
    The caller registers the webhook with Telegram once this returns, and cleans the runner up at stop.
    """

    async def post(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except ValueError:
            data = None
        update = read_raw_update(data, bot)
        if update is None:
            # 200, not 4xx: Telegram sends again whatever is not answered with a 2xx, and this
            # body will never become readable. Its number only: the rest may be what someone typed.
            number = data.get("update_id") if isinstance(data, dict) else None
            log.error("telegram: webhook update %s could not be read (malformed); skipped",
                      number if isinstance(number, int) else "without a number")
            on_skip()
            return web.Response(status=200)
        try:
            await receive(update, data)
        except Exception as exc:
            log.error("telegram: handling webhook update %s failed: %s", update.update_id, failure(exc))
            return web.Response(status=500)  # Telegram will send it again
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(urlsplit(url).path or "/", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    return runner
