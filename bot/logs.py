"""Logging for `python -m bot`: our level from WEGWIJZER_LOG_LEVEL, libraries kept quiet, secrets redacted.

Why the libraries are held at WARNING even when ours is DEBUG: at DEBUG, python-telegram-bot
logs every request and answer (what users typed, their ids) and httpx every URL, which holds
the bot token; nio and aiohttp are as talkative. Our own DEBUG lines never carry what a user
wrote. Why a redacting filter on top: a token may still reach a record another way (an
exception's message, a library's warning, someone setting a library's logger to DEBUG by
hand), so every record a handler writes has the configured secrets and anything shaped like
a Telegram token replaced first.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable

#: Libraries whose loggers stay at WARNING (or above, when ours is higher) whatever our level.
LIBRARIES = ("telegram", "httpx", "httpcore", "hpack", "aiohttp", "aiohttp.access", "nio", "peewee",
             "aiosqlite", "watchfiles", "asyncio", "urllib3", "matrix_nio")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
#: A Telegram bot token, also inside a Bot API URL (".../bot123456:AA.../getMe").
_TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


def failure(exc: BaseException) -> str:
    """An exception for the log without its message, which may quote what a user typed: its type and code path."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{type(exc).__module__}.{type(exc).__qualname__}\n{frames}".rstrip()


class RedactSecrets(logging.Filter):
    """Replaces the deployment's secrets, and anything shaped like a bot token, in each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _TELEGRAM_TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's broken format string: keep the bare message
            message = str(record.msg)
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Set our level, hold the libraries at WARNING, and redact on every handler of the root logger.

    Called at start with INFO (settings not read yet), and again once the settings name
    the level and the secrets.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=FORMAT, stream=sys.stderr)
    number = logging.getLevelName(level.upper())
    root.setLevel(number)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, number))
    redact = RedactSecrets(secrets)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(redact)
