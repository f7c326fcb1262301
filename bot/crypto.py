"""Encryption at rest: what a user typed is stored only as ciphertext.

The store hands every sensitive value (conversation state with the saved
answers, outbox payloads, reports, relay text) to a `Codec`. With keys
configured that is `FernetCodec`: `cryptography`'s MultiFernet (AES-128-CBC
plus HMAC-SHA256, authenticated), the first key encrypts and every key
decrypts, which is what makes rotation possible:

1. put a new key first in WEGWIJZER_ENCRYPTION_KEYS (keep the old one after it)
   and restart;
2. run `python -m bot rotate-keys`: every stored value is re-encrypted with the
   new key (and values written before encryption was switched on get encrypted);
3. remove the old key and restart.

Without keys the bot still runs (for a trial or the console) and says so once
at start; stored values are then plain JSON. A database that holds ciphertext
is never read as if it were plain: `UnkeyedCodec` refuses with a clear error.

Never log a key, a plaintext or a ciphertext from here.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import ConfigurationError
from bot.schema import EncryptedColumn

log = logging.getLogger(__name__)

#: Plaintext the store keeps is always JSON, so it starts with one of these.
_PLAIN_STARTS = (b"{", b"[", b'"')
#: Every Fernet token starts with the version byte 0x80, "gA" in base64.
_TOKEN_START = b"gAAAAA"


class KeyProblem(ConfigurationError):
    """Something is wrong with the configured keys or the data they should open."""


class MissingKey(KeyProblem):
    """The database holds encrypted data but no key is configured."""


class WrongKey(KeyProblem):
    """None of the configured keys opens a stored value."""


class SettingsWithKeys(Protocol):
    @property
    def encryption_keys(self) -> Any: ...


def _as_bytes(blob: bytes | str | memoryview) -> bytes:
    if isinstance(blob, str):
        return blob.encode()
    return bytes(blob)


def is_encrypted(blob: bytes | str | memoryview) -> bool:
    return _as_bytes(blob).startswith(_TOKEN_START)


class UnkeyedCodec:
    """No key configured: store JSON as UTF-8, refuse to misread ciphertext."""

    encrypting = False

    def encode(self, text: str) -> bytes:
        return text.encode()

    def decode(self, blob: bytes) -> str:
        raw = _as_bytes(blob)
        if raw.startswith(_TOKEN_START):
            raise MissingKey("the database holds encrypted data: set WEGWIJZER_ENCRYPTION_KEYS "
                             "to the key(s) it was written with")
        return raw.decode()

    def rotate(self, blob: bytes) -> bytes | None:
        return None


class FernetCodec:
    """MultiFernet over the configured keys (first = current)."""

    encrypting = True

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise KeyProblem("no keys given")
        try:
            fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError) as exc:
            raise KeyProblem("an encryption key is not a valid Fernet key "
                            "(32 url-safe base64-encoded bytes; make one with `python -m bot new-key`)") from exc
        self._current = fernets[0]
        self._fernet = MultiFernet(fernets)

    def encode(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decode(self, blob: bytes) -> str:
        raw = _as_bytes(blob)
        if raw[:1] in _PLAIN_STARTS:
            return raw.decode()  # written before encryption was switched on
        try:
            return self._fernet.decrypt(raw).decode()
        except InvalidToken as exc:
            raise WrongKey("none of the configured keys opens a stored value: was a key removed "
                           "before `python -m bot rotate-keys` finished?") from exc

    def rotate(self, blob: bytes) -> bytes | None:
        """The value encrypted with the current key (None: it already is)."""
        raw = _as_bytes(blob)
        if raw[:1] in _PLAIN_STARTS:
            return self._fernet.encrypt(raw)
        try:
            self._current.decrypt(raw)
            return None
        except InvalidToken:
            pass
        try:
            rotated = self._fernet.rotate(raw)
        except InvalidToken as exc:
            raise WrongKey("none of the configured keys opens a stored value") from exc
        return rotated


Codec = UnkeyedCodec | FernetCodec

_warned = False


def parse_keys(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


def codec_from_settings(settings: SettingsWithKeys) -> Codec:
    """The codec the store uses: Fernet with the configured keys, or unkeyed (warned once)."""
    global _warned
    secret = settings.encryption_keys
    value = secret.get_secret_value() if secret is not None else ""
    keys = parse_keys(value)
    if keys:
        return FernetCodec(keys)
    if not _warned:
        log.warning("no WEGWIJZER_ENCRYPTION_KEYS: saved answers, reports and relay text are stored "
                    "unencrypted (fine for a trial, not for real users; see docs/KEY-ROTATION.md)")
        _warned = True
    return UnkeyedCodec()


def new_key() -> str:
    return Fernet.generate_key().decode()


# ---------------------------------------------------------------- rotation


#: The id key behind the pseudonyms (bot/pseudonyms.py); every feature's own encrypted
#: columns are in its Tables (bot/schema.py) and reach rotation through the store's schema.
ID_KEY_COLUMN = EncryptedColumn("secrets", "value", "name")


def table_names(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def rotate_batch(db: sqlite3.Connection, codec: FernetCodec, column: EncryptedColumn,
                 after: Any, limit: int = 500) -> tuple[int, Any]:
    """Re-encrypt up to `limit` rows after primary key `after`; return (changed, last key seen)."""
    if column.table not in table_names(db):
        return 0, None
    q_select = (f"SELECT {column.pk}, {column.column} FROM {column.table} "  # noqa: S608 - fixed names
                f"WHERE {column.column} IS NOT NULL AND ({column.pk} > ? OR ? IS NULL) "
                f"ORDER BY {column.pk} LIMIT ?")
    rows = db.execute(q_select, (after, after, limit)).fetchall()
    changed = 0
    q_update = f"UPDATE {column.table} SET {column.column} = ? WHERE {column.pk} = ?"  # noqa: S608
    for pk, blob in rows:
        rotated = codec.rotate(blob)
        if rotated is not None:
            db.execute(q_update, (rotated, pk))
            changed += 1
    return changed, (rows[-1][0] if rows else None)


async def rotate_store(store: Any, codec: FernetCodec,
                       progress: Callable[[str, int], None] | None = None) -> int:
    """Re-encrypt every stored value with the current key, in small transactions.

    Safe while the bot runs with the same key list: each batch is one short
    write transaction, and a value the bot writes meanwhile is already
    encrypted with the current key.
    """
    total = 0
    for column in [*store.schema.encrypted, ID_KEY_COLUMN]:
        after: Any = None
        while True:
            changed, after = await store.execute(rotate_batch, codec, column, after)
            total += changed
            if after is None:
                break
        if progress:
            progress(f"{column.table}.{column.column}", total)
    return total
