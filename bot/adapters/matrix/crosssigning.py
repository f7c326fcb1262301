"""Cross-signing for the bot's own device, built on matrix-nio's primitives.

Why this exists: Element no longer shows messages from devices that their
owner has not cross-signed, and matrix-nio has no cross-signing (its issue
#229). So the bot bootstraps its own identity: a master key, a self-signing
key (signs our devices) and a user-signing key (would sign other users; we
never do, but clients expect the triple), uploads them, and signs its own
device with the self-signing key.

Rules this module follows (Matrix client-server spec, "Signing JSON" and
"Cross-signing"):
- a signature covers the *canonical JSON* of the object without its
  `signatures` and `unsigned` members: keys sorted by code point, no
  insignificant whitespace, UTF-8 (`nio.Api.to_canonical_json`, the same
  function nio signs device keys with);
- signatures are unpadded base64 ed25519 signatures under
  `signatures[user_id]["ed25519:<key id>"]`, where a cross-signing key's id
  is its own unpadded base64 public key and a device's id is its device id;
- the self-signing and user-signing keys are signed by the master key; the
  device is signed by the self-signing key; the master key is signed by the
  device (so our own device vouches for the identity, as Element does).

The ed25519 arithmetic comes from pycryptodome, which matrix-nio already
depends on (vodozemac's Python binding exposes no standalone signing key).

What it must never do: replace a cross-signing identity it does not hold the
private keys for, unless told to (that would silently break every
verification a human made of this account); log a private key.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa
from nio import AsyncClient
from nio.api import Api
from unpaddedbase64 import decode_base64, encode_base64

from bot.errors import PlatformError

log = logging.getLogger(__name__)

KEYS_FILE = "cross_signing.json"


class CrossSigningError(PlatformError):
    """The homeserver refused our keys or signatures."""


class CrossSigningState(Enum):
    """What `ensure_cross_signed` found or did (for logs and tests)."""

    CREATED = "created"  # new identity uploaded, device signed
    SIGNED_DEVICE = "signed_device"  # identity existed; this device newly signed
    ALREADY_DONE = "already_done"  # nothing to do
    FOREIGN_IDENTITY = "foreign_identity"  # server has a master key we do not hold
    NEEDS_PASSWORD = "needs_password"  # server demands user-interactive auth


def canonical_json(value: dict[str, Any]) -> bytes:
    """The bytes a Matrix signature covers (nio's own canonicaliser, so both agree)."""
    return str(Api.to_canonical_json(value)).encode("utf-8")


class SigningKey:
    """An ed25519 key pair identified the Matrix way (by its public key)."""

    def __init__(self, seed: bytes | None = None) -> None:
        self._key = eddsa.import_private_key(seed) if seed is not None else ECC.generate(curve="ed25519")

    @property
    def seed(self) -> bytes:
        seed: bytes = self._key.seed
        return seed

    @property
    def public(self) -> str:
        """Unpadded base64 of the raw public key; also the key's id."""
        raw: bytes = self._key.public_key().export_key(format="raw")
        return encode_base64(raw)

    def sign(self, message: bytes) -> str:
        return encode_base64(eddsa.new(self._key, "rfc8032").sign(message))


def sign_json(value: dict[str, Any], key: SigningKey, user_id: str, key_id: str) -> dict[str, Any]:
    """A copy of `value` carrying a new signature; existing signatures are kept."""
    signed = dict(value)
    signatures = {u: dict(s) for u, s in signed.pop("signatures", {}).items()}
    unsigned = signed.pop("unsigned", None)
    signature = key.sign(canonical_json(signed))
    signatures.setdefault(user_id, {})[f"ed25519:{key_id}"] = signature
    signed["signatures"] = signatures
    if unsigned is not None:
        signed["unsigned"] = unsigned
    return signed


def verify_json(value: dict[str, Any], public_key: str, user_id: str, key_id: str) -> bool:
    """Whether `value` holds a valid signature by `public_key` under `ed25519:<key_id>`."""
    try:
        signature = decode_base64(value["signatures"][user_id][f"ed25519:{key_id}"])
    except (KeyError, TypeError, ValueError):
        return False
    body = {k: v for k, v in value.items() if k not in ("signatures", "unsigned")}
    try:
        verifier = eddsa.new(eddsa.import_public_key(decode_base64(public_key)), "rfc8032")
        verifier.verify(canonical_json(body), signature)
    except ValueError:
        return False
    return True


def cross_signing_key(user_id: str, usage: str, key: SigningKey) -> dict[str, Any]:
    """The unsigned CrossSigningKey object the spec defines."""
    return {
        "user_id": user_id,
        "usage": [usage],
        "keys": {f"ed25519:{key.public}": key.public},
    }


def key_of(obj: dict[str, Any] | None) -> str | None:
    """The single public key in a CrossSigningKey object from /keys/query."""
    if not obj:
        return None
    keys = list(obj.get("keys", {}).values())
    return str(keys[0]) if len(keys) == 1 else None


@dataclass(frozen=True)
class CrossSigningKeys:
    """The three private keys; kept only in the bot's store directory."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        return cls(user_id, SigningKey(), SigningKey(), SigningKey())

    def public_objects(self) -> dict[str, dict[str, Any]]:
        """The upload body for /keys/device_signing/upload (without auth)."""
        uid = self.user_id
        master = cross_signing_key(uid, "master", self.master)
        ssk = cross_signing_key(uid, "self_signing", self.self_signing)
        usk = cross_signing_key(uid, "user_signing", self.user_signing)
        return {
            "master_key": master,
            "self_signing_key": sign_json(ssk, self.master, uid, self.master.public),
            "user_signing_key": sign_json(usk, self.master, uid, self.master.public),
        }

    # ---------------------------------------------------------- persistence

    def save(self, directory: Path) -> None:
        """Write atomically with mode 0600: a crash never leaves half a key file."""
        payload = {
            "version": 1,
            "user_id": self.user_id,
            "master": encode_base64(self.master.seed),
            "self_signing": encode_base64(self.self_signing.seed),
            "user_signing": encode_base64(self.user_signing.seed),
        }
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".cross_signing.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, directory / KEYS_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, directory: Path, user_id: str) -> CrossSigningKeys | None:
        path = directory / KEYS_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        if data.get("user_id") != user_id:
            log.warning("cross-signing keys in %s belong to another account; ignored", path)
            return None
        return cls(
            user_id,
            SigningKey(decode_base64(data["master"])),
            SigningKey(decode_base64(data["self_signing"])),
            SigningKey(decode_base64(data["user_signing"])),
        )


# ------------------------------------------------------------------ HTTP


async def _request(client: AsyncClient, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One JSON request with the client's token: nio has no call for these endpoints."""
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {client.access_token}",
    }
    resp = await client.send(method, path, json.dumps(body), headers)
    try:
        data = await resp.json(content_type=None)
    finally:
        resp.release()
    return resp.status, data if isinstance(data, dict) else {}


async def query_own_keys(client: AsyncClient) -> dict[str, Any]:
    status, data = await _request(
        client,
        "POST",
        "/_matrix/client/v3/keys/query",
        {"device_keys": {client.user_id: []}},
    )
    if status != 200:
        raise CrossSigningError(f"keys/query answered {status}: {data.get('errcode')}")
    return data


async def upload_identity(client: AsyncClient, keys: CrossSigningKeys, password: str | None) -> bool:
    """Upload the three public keys; answer user-interactive auth with the password.

    Returns False when the server wants authentication we cannot give.
    Synapse lets a first upload through without UIA (MSC3967); a replacement
    always needs it.
    """
    path = "/_matrix/client/v3/keys/device_signing/upload"
    body = keys.public_objects()
    status, data = await _request(client, "POST", path, body)
    if status == 401 and "flows" in data:
        stages = {s for flow in data["flows"] for s in flow.get("stages", [])}
        if password is None or "m.login.password" not in stages:
            return False
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": client.user_id},
            "password": password,
            "session": data.get("session"),
        }
        status, data = await _request(client, "POST", path, {**body, "auth": auth})
    if status != 200:
        raise CrossSigningError(f"device_signing/upload answered {status}: {data.get('errcode')}")
    return True


async def upload_signatures(client: AsyncClient, signed: dict[str, dict[str, Any]]) -> None:
    status, data = await _request(
        client,
        "POST",
        "/_matrix/client/v3/keys/signatures/upload",
        {client.user_id: signed},
    )
    if status != 200 or data.get("failures"):
        raise CrossSigningError(f"signatures/upload answered {status}: {data.get('failures')}")


# ------------------------------------------------------------------ the bootstrap


async def ensure_cross_signed(
    client: AsyncClient,
    store_dir: Path,
    password: str | None,
    *,
    replace_foreign: bool = False,
) -> CrossSigningState:
    """Make sure this device is signed by our self-signing key; idempotent.

    Called after every login/restore. When the server already holds the
    master key we stored, nothing is uploaded again; when only the device's
    signature is missing (a new device), only that is uploaded.
    """
    assert client.olm is not None, "encryption must be enabled and the store loaded"
    stored = CrossSigningKeys.load(store_dir, client.user_id)
    data = await query_own_keys(client)
    state = CrossSigningState.ALREADY_DONE
    if not _server_holds(data, client.user_id, stored):
        keys = _identity_to_publish(data, client.user_id, stored, store_dir, replace_foreign=replace_foreign)
        if keys is None:
            log.warning(
                "this Matrix account already has a cross-signing identity whose private keys "
                "the bot does not hold; the bot's device stays unsigned"
            )
            return CrossSigningState.FOREIGN_IDENTITY
        if not await upload_identity(client, keys, password):
            log.warning("cross-signing needs the account password (WEGWIJZER_MATRIX_PASSWORD)")
            return CrossSigningState.NEEDS_PASSWORD
        stored, state = keys, CrossSigningState.CREATED
        data = await query_own_keys(client)
    assert stored is not None
    uploads = _missing_signatures(client, data, stored)
    if not uploads:
        return state
    await upload_signatures(client, uploads)
    if state is CrossSigningState.CREATED:
        return state
    return CrossSigningState.SIGNED_DEVICE


def _server_key(data: dict[str, Any], kind: str, user_id: str) -> str | None:
    """The public key of one of the account's cross-signing keys on the server (`kind`: master_keys ...)."""
    return key_of(data.get(kind, {}).get(user_id))


def _server_holds(data: dict[str, Any], user_id: str, stored: CrossSigningKeys | None) -> bool:
    """Whether the server's master and self-signing keys are the ones we hold the private halves of."""
    return (
        stored is not None
        and _server_key(data, "master_keys", user_id) == stored.master.public
        and _server_key(data, "self_signing_keys", user_id) == stored.self_signing.public
    )


def _identity_to_publish(
    data: dict[str, Any],
    user_id: str,
    stored: CrossSigningKeys | None,
    store_dir: Path,
    *,
    replace_foreign: bool,
) -> CrossSigningKeys | None:
    """The keys to upload: ours when the server has none or our master key, else new ones.

    None when the server holds a master key we do not have and we were not
    told to replace it: replacing would break every verification a human made.
    """
    server_master = _server_key(data, "master_keys", user_id)
    ours = stored is not None and server_master == stored.master.public
    if server_master is not None and not ours and not replace_foreign:
        return None
    if stored is not None and server_master in (None, stored.master.public):
        return stored
    keys = CrossSigningKeys.generate(user_id)
    # Saved before the upload: a crash in between must not leave the
    # server holding public keys whose private halves are lost.
    keys.save(store_dir)
    return keys


def _missing_signatures(client: AsyncClient, data: dict[str, Any], keys: CrossSigningKeys) -> dict[str, dict[str, Any]]:
    """The signatures still to upload: our self-signing key's on this device, this device's on the master key."""
    user_id, device_id = client.user_id, client.device_id
    device = data.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None:
        raise CrossSigningError("the homeserver does not know this device's keys yet")
    ssk = keys.self_signing
    master_obj = data.get("master_keys", {}).get(user_id) or {}
    uploads: dict[str, dict[str, Any]] = {}
    if not verify_json(device, ssk.public, user_id, ssk.public):
        body = {k: v for k, v in device.items() if k != "unsigned"}
        uploads[device_id] = sign_json(body, ssk, user_id, ssk.public)
    if not verify_json(master_obj, client.olm.account.identity_keys["ed25519"], user_id, device_id):
        master_body = {k: v for k, v in master_obj.items() if k not in ("unsigned", "signatures")}
        signature = client.olm.sign_json(master_body)
        master_body["signatures"] = {user_id: {f"ed25519:{device_id}": signature}}
        uploads[keys.master.public] = master_body
    return uploads
