"""What the Matrix adapter is configured with, read once from the WEGWIJZER_MATRIX_* settings.

Why apart: every part of the adapter (the device, the sync loop, the rooms,
the outlet) reads the same settings, and none of them should import another
just to learn the homeserver or the desk rooms. It holds no state and does
no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import PlatformError

if TYPE_CHECKING:
    from bot.settings import Settings

PLATFORM = "matrix"


class MatrixLoginError(PlatformError):
    """The configured credentials do not give us a session."""


@dataclass(frozen=True)
class MatrixConfig:
    """What the adapter needs; built from the WEGWIJZER_MATRIX_* settings."""

    homeserver: str
    user: str
    store: Path
    password: str | None = None
    access_token: str | None = None
    device_id: str | None = None
    device_name: str = "Wegwijzer"
    #: rooms the bot posts reports to: joined when invited, never answered
    desk_rooms: frozenset[str] = frozenset()
    #: long-poll time of one /sync
    sync_timeout_ms: int = 30_000
    #: how long one delivery may keep retrying before DeliveryFailed
    give_up_after: float = 120.0
    #: longest wait between reconnect attempts
    max_backoff: float = 15.0
    #: greet with /start when joining a direct chat
    greet_on_join: bool = True


def config_from_settings(settings: Settings) -> MatrixConfig:
    """The WEGWIJZER_MATRIX_* settings; the store defaults to a folder next to the DB."""
    if not (settings.matrix_homeserver and settings.matrix_user):
        raise MatrixLoginError("set WEGWIJZER_MATRIX_HOMESERVER and WEGWIJZER_MATRIX_USER")
    password = settings.matrix_password
    token = settings.matrix_access_token
    return MatrixConfig(
        homeserver=settings.matrix_homeserver.rstrip("/"),
        user=settings.matrix_user,
        store=settings.matrix_store or settings.data_dir / "matrix-store",
        password=password.get_secret_value() if password else None,
        access_token=token.get_secret_value() if token else None,
        device_id=settings.matrix_device_id,
        desk_rooms=frozenset(room for _, room in settings.desk_rooms(PLATFORM)),
    )
