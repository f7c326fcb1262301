"""The no-network Bot API of WORKLOAD.md §4 for python-telegram-bot.

`FakeBotRequest` is a `telegram.request.BaseRequest`, the documented extension point:
PTB serialises each call exactly as it would for HTTPXRequest
(`request_data.json_parameters`, what would go on the wire) and parses the body this
returns, so PTB's own request and response work stays inside the measurement. The answers
have the shapes Telegram's have (§4).
"""

from __future__ import annotations

import html
import json
from typing import Any

from telegram.request import BaseRequest

from bench.fakeapi import Recorder
from bench.workload import BOT_USER, DATE, GET_ME, Keyboard, chat, index_of

JSON = dict[str, Any]


def _rows(markup: JSON | None) -> Keyboard | None:
    if not markup:
        return None
    return tuple(tuple((b["text"], b.get("callback_data", "")) for b in row) for row in markup["inline_keyboard"])


class FakeBotRequest(BaseRequest):
    """python-telegram-bot's request layer, answered in memory like the Bot API would."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: Any = None, read_timeout: Any = None,
                         write_timeout: Any = None, connect_timeout: Any = None,
                         pool_timeout: Any = None) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[1]
        params: dict[str, str] = request_data.json_parameters if request_data is not None else {}
        result: Any
        if name == "answerCallbackQuery":
            query_id = int(params["callback_query_id"])
            self.recorder.record(name, query_id % 10**10, None, None)
            result = True
        elif name in ("sendMessage", "editMessageText"):
            chat_id = int(params["chat_id"])
            i = index_of(chat_id)
            text = params["text"]
            if params.get("parse_mode") == "HTML" and "&" in text:
                text = html.unescape(text)
            markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
            message_id = self.recorder.bot_message(i) if name == "sendMessage" else int(params["message_id"])
            result = {"message_id": message_id, "from": BOT_USER, "chat": chat(i), "date": DATE, "text": text}
            if markup:
                result["reply_markup"] = markup
            if name == "editMessageText":
                result["edit_date"] = DATE
            self.recorder.record(name, i, text, _rows(markup))
        elif name == "sendChatAction":  # the typing hint of a turn slower than 0.3 s: a hint, not a reply
            result = True
        elif name == "getMe":
            result = GET_ME
        elif name in ("setMyCommands", "deleteWebhook", "deleteMyCommands"):
            self.recorder.record(name, -1, None, None)
            result = True
        else:
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            return 404, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()
