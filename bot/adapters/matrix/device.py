"""The bot's one Matrix device for life: its session, its published keys, its cross-signature.

Why apart: this is everything that makes the bot the *same* device after a
restart, a revoked token or a logout elsewhere, and nothing else. The access
token and device id (session.json), nio's crypto store and the
cross-signing keys live in the store directory (0700, files 0600); a restart
restores them instead of logging in again, because a new device means new
keys that every user's client must learn (and, without cross-signing,
distrust). A revoked token logs in again *as the same device*, so its keys
and cross-signature stay valid; keys the server forgot (a logout deletes
them) are published again, the same ones.

It must never log the password or the access token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import ClientError
from nio import AsyncClient, LoginResponse, WhoamiResponse

from bot.adapters.matrix.config import MatrixConfig, MatrixLoginError
from bot.adapters.matrix.crosssigning import (
    CrossSigningError,
    CrossSigningState,
    ensure_cross_signed,
    query_own_keys,
)
from bot.adapters.matrix.retry import Retryable
from bot.private_files import write_private

log = logging.getLogger(__name__)

SESSION_FILE = "session.json"

#: Answers that no retry will change: the credentials themselves are wrong.
_REFUSED = ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_UNKNOWN_TOKEN", "M_INVALID_USERNAME")


class Device:
    """Logs the client in (or restores it) and keeps its keys where clients can trust them."""

    def __init__(self, config: MatrixConfig, client: AsyncClient) -> None:
        self.config = config
        self.client = client
        self.cross_signing: CrossSigningState | None = None
        #: after one-time keys were uploaded: saved for the next lease holder at once (bot/handover.py)
        self.after_upload: Callable[[], Awaitable[None]] | None = None

    async def connect(self) -> None:
        """Log in (or restore), publish device keys, cross-sign this device."""
        await self._login()
        for path in self.config.store.glob("*.db*"):  # nio's crypto store: ours alone
            path.chmod(0o600)
        assert self.client.olm is not None
        if not self.client.should_upload_keys and not await self._published():
            # The server forgot this device (logged out, so its keys were
            # deleted) while we still hold them: publish the same identity
            # again rather than become a new device users must learn.
            self.client.olm.account.shared = False
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        try:
            self.cross_signing = await ensure_cross_signed(self.client, self.config.store, self.config.password)
        except (CrossSigningError, ClientError, TimeoutError) as err:
            # Encryption still works; only clients that hide unverified
            # devices will not show the bot until the next start.
            log.warning("cross-signing not set up: %s", err)
        log.info(
            "matrix device ready (cross-signing: %s)",
            self.cross_signing.value if self.cross_signing else "unknown",
        )

    async def keep_keys(self) -> None:
        """What nio's sync_forever does between syncs to keep encryption working."""
        client = self.client
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
            if self.after_upload is not None:
                await self.after_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _published(self) -> bool:
        keys = await query_own_keys(self.client)
        return str(self.client.device_id) in keys.get("device_keys", {}).get(str(self.client.user_id), {})

    async def _login(self) -> None:
        """A saved session if it still works, else the configured token or password (then saved)."""
        if await self._restore():
            return
        if self.config.access_token:
            await self._use_token(self.config.access_token)
        elif self.config.password:
            await self._log_in(self.config.password)
        else:
            raise MatrixLoginError("set WEGWIJZER_MATRIX_PASSWORD or WEGWIJZER_MATRIX_ACCESS_TOKEN")
        write_private(
            self.config.store / SESSION_FILE,
            json.dumps(
                {
                    "homeserver": self.config.homeserver,
                    "user_id": self.client.user_id,
                    "device_id": self.client.device_id,
                    "access_token": self.client.access_token,
                }
            ),
        )

    async def _restore(self) -> bool:
        """Whether the saved session still works; a revoked one leaves its device id for the next login."""
        session_file = self.config.store / SESSION_FILE
        saved = json.loads(session_file.read_text()) if session_file.exists() else None
        if not saved or saved.get("homeserver") != self.config.homeserver:
            return False
        self.client.restore_login(saved["user_id"], saved["device_id"], saved["access_token"])
        who = await self.client.whoami()
        if isinstance(who, WhoamiResponse):
            return True
        if who.status_code != "M_UNKNOWN_TOKEN":
            raise Retryable(None, f"whoami: {who.status_code}")
        # The token was revoked: log in again *as the same device*, so
        # its keys and its cross-signature stay valid.
        self.client.access_token = ""
        self.client.device_id = saved["device_id"]
        return False

    async def _use_token(self, token: str) -> None:
        self.client.access_token = token
        who = await self.client.whoami()
        if not isinstance(who, WhoamiResponse):
            if who.status_code in _REFUSED:
                raise MatrixLoginError(f"the access token was refused: {who.status_code}")
            raise Retryable(None, f"whoami: {who.status_code}")
        device_id = who.device_id or self.config.device_id
        if not device_id:
            raise MatrixLoginError("set WEGWIJZER_MATRIX_DEVICE_ID for this access token")
        self.client.restore_login(who.user_id, device_id, token)

    async def _log_in(self, password: str) -> None:
        resp = await self.client.login(password, self.config.device_name)
        if not isinstance(resp, LoginResponse):
            if resp.status_code in _REFUSED:
                raise MatrixLoginError(f"login failed: {resp.status_code}")
            raise Retryable((resp.retry_after_ms or 0) / 1000 or None, f"login: {resp.status_code}")
