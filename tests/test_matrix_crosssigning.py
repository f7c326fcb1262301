"""The bot's device is cross-signed as another user's client sees it, and stays so.

Checked the way Element checks it: a *second* account asks /keys/query and
verifies, with the public keys the server hands out, that the self-signing
key is signed by the master key and the bot's device by the self-signing key.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig
from nio.store import SqliteStore

from bot.adapters.matrix.crosssigning import (
    KEYS_FILE,
    CrossSigningKeys,
    CrossSigningState,
    SigningKey,
    canonical_json,
    ensure_cross_signed,
    key_of,
    sign_json,
    verify_json,
)
from tests.synapse import (  # noqa: F401 - fixture
    Registered,
    Synapse,
    assert_cross_signed,
    synapse_server,
)


def test_canonical_json_follows_the_spec_examples() -> None:
    # The spec's own examples ("Canonical JSON" in the appendices).
    assert canonical_json({"one": 1, "two": "Two"}) == b'{"one":1,"two":"Two"}'
    assert canonical_json({"b": "2", "a": "1"}) == b'{"a":"1","b":"2"}'
    assert canonical_json({"a": "\u65e5\u672c\u8a9e"}) == '{"a":"日本語"}'.encode()
    assert canonical_json({"\u672c": 2, "\u65e5": 1}) == '{"日":1,"本":2}'.encode()
    assert canonical_json({"a": "\u0000"}) == b'{"a":"\\u0000"}'


def test_signing_ignores_signatures_and_unsigned_and_keeps_others() -> None:
    key, other = SigningKey(), SigningKey()
    obj = {"a": 1, "unsigned": {"x": 1}, "signatures": {"@o:hs": {"ed25519:X": "sig"}}}
    signed = sign_json(obj, key, "@u:hs", key.public)
    assert signed["signatures"]["@o:hs"] == {"ed25519:X": "sig"}
    assert signed["unsigned"] == {"x": 1}
    assert verify_json(signed, key.public, "@u:hs", key.public)
    assert not verify_json(signed, other.public, "@u:hs", key.public)
    tampered = {**signed, "a": 2}
    assert not verify_json(tampered, key.public, "@u:hs", key.public)


def test_seed_round_trip_keeps_the_public_key() -> None:
    key = SigningKey()
    assert SigningKey(key.seed).public == key.public


async def bot_client(server: Synapse, account: Registered, store: Path) -> AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(
        server.url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store),
        config=AsyncClientConfig(store=SqliteStore, encryption_enabled=True),
    )
    client.restore_login(account.user_id, account.device_id, account.access_token)
    await client.keys_upload()
    return client


async def seen_by(server: Synapse, viewer: Registered, user_id: str) -> dict[str, Any]:
    return server.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {user_id: []}},
        token=viewer.access_token,
    )


def assert_device_vouches_for_master(own: dict[str, Any], user_id: str, device_id: str) -> None:
    """As Element's own devices do; Synapse shows these signatures to their owner only."""
    master = own["master_keys"][user_id]
    device_key = own["device_keys"][user_id][device_id]["keys"][f"ed25519:{device_id}"]
    assert verify_json(master, device_key, user_id, device_id)


@pytest.mark.asyncio
async def test_bootstrap_is_seen_by_another_user_and_is_idempotent(
    synapse: Synapse,
    tmp_path: Path,
) -> None:
    bot, viewer = synapse.register("bot"), synapse.register("parent")
    client = await bot_client(synapse, bot, tmp_path / "store")
    try:
        state = await ensure_cross_signed(client, tmp_path / "store", bot.password)
        assert state is CrossSigningState.CREATED
        first = await seen_by(synapse, viewer, bot.user_id)
        assert_cross_signed(first, bot.user_id, bot.device_id)
        assert_device_vouches_for_master(await seen_by(synapse, bot, bot.user_id), bot.user_id, bot.device_id)
        # The private keys are on disk, readable by the bot's user only.
        mode = stat.S_IMODE((tmp_path / "store" / KEYS_FILE).stat().st_mode)
        assert mode == 0o600

        # A restart: nothing is uploaded again, the identity is the same.
        again = await ensure_cross_signed(client, tmp_path / "store", bot.password)
        assert again is CrossSigningState.ALREADY_DONE
        second = await seen_by(synapse, viewer, bot.user_id)
        assert key_of(second["master_keys"][bot.user_id]) == key_of(first["master_keys"][bot.user_id])
    finally:
        await client.close()

    # A second device of the same account (e.g. the store was lost) gets signed
    # by the same identity, without a password prompt.
    other = synapse.login(bot)
    client2 = await bot_client(synapse, other, tmp_path / "store2")
    try:
        keys = CrossSigningKeys.load(tmp_path / "store", bot.user_id)
        assert keys is not None
        keys.save(tmp_path / "store2")
        state = await ensure_cross_signed(client2, tmp_path / "store2", None)
        assert state is CrossSigningState.SIGNED_DEVICE
        assert_cross_signed(await seen_by(synapse, viewer, bot.user_id), bot.user_id, other.device_id)
    finally:
        await client2.close()


@pytest.mark.asyncio
async def test_a_foreign_identity_is_left_alone(synapse: Synapse, tmp_path: Path) -> None:
    bot = synapse.register("bot")
    client = await bot_client(synapse, bot, tmp_path / "a")
    try:
        assert await ensure_cross_signed(client, tmp_path / "a", bot.password) is (CrossSigningState.CREATED)
        # Same account, a store without the private keys: we must not reset it.
        state = await ensure_cross_signed(client, tmp_path / "b", bot.password)
        assert state is CrossSigningState.FOREIGN_IDENTITY
        # Unless told to; replacing needs user-interactive auth by password.
        assert await ensure_cross_signed(client, tmp_path / "c", None, replace_foreign=True) is (CrossSigningState.NEEDS_PASSWORD)
        assert await ensure_cross_signed(client, tmp_path / "c", bot.password, replace_foreign=True) is CrossSigningState.CREATED
        keys = CrossSigningKeys.load(tmp_path / "c", bot.user_id)
        assert keys is not None
        seen = await seen_by(synapse, synapse.register("viewer"), bot.user_id)
        assert key_of(seen["master_keys"][bot.user_id]) == keys.master.public
        assert_cross_signed(seen, bot.user_id, bot.device_id)
    finally:
        await client.close()
