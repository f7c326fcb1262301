"""A real Synapse homeserver on 127.0.0.1 for the Matrix adapter tests.

Why a real server: the things that break a Matrix bot in production (device
keys, to-device messages, cross-signing signatures, 429s, a homeserver that
restarts) are exactly what a fake would get wrong. Synapse is AGPL and lives
in its own virtualenv (`.ci/install-synapse`); this module only *runs* it as a
subprocess and talks HTTP to it. Nothing here or in bot/ imports synapse.

One server per test session (it starts in about a second on a fresh SQLite
database); tests isolate themselves with fresh users and rooms. Every rate
limit is relaxed so tests are fast; the 429 test makes one user strict through
the admin API (`override_ratelimit`) instead of running a second server.

If the Synapse interpreter is missing the tests fail with instructions rather
than skip: CI installs it, so a skip would hide a broken install step.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "WEGWIJZER_TEST_SYNAPSE"
DEFAULT_PYTHON = REPO_ROOT / ".venv-synapse" / "bin" / "python"
SERVER_NAME = "localhost"

#: Generous enough that no test ever waits on a limiter by accident.
_RELAXED = {"per_second": 10_000, "burst_count": 10_000}


def synapse_python() -> Path:
    """The interpreter of the Synapse venv, or a failure that says how to get one."""
    configured = os.environ.get(ENV_VAR)
    python = Path(configured) if configured else DEFAULT_PYTHON
    if not python.exists():
        pytest.fail(
            f"Synapse is not installed: {python} does not exist. "
            f"Run `.ci/install-synapse` (creates .venv-synapse) and/or set "
            f"{ENV_VAR}=<venv>/bin/python.",
            pytrace=False,
        )
    return python


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def homeserver_config(data_dir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """A throwaway config: local only, no federation, no phoning home, no limits."""
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(data_dir / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(data_dir / "homeserver.db")},
        },
        "log_config": str(data_dir / "log.yaml"),
        "media_store_path": str(data_dir / "media"),
        "signing_key_path": str(data_dir / "signing.key"),
        "registration_shared_secret": shared_secret,
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "bcrypt_rounds": 4,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        "rc_message": _RELAXED,
        "rc_registration": _RELAXED,
        "rc_registration_token_validity": _RELAXED,
        "rc_login": {
            "address": _RELAXED,
            "account": _RELAXED,
            "failed_attempts": _RELAXED,
        },
        "rc_admin_redaction": _RELAXED,
        "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
        "rc_joins_per_room": _RELAXED,
        "rc_3pid_validation": _RELAXED,
        "rc_invites": {
            "per_room": _RELAXED,
            "per_user": _RELAXED,
            "per_issuer": _RELAXED,
        },
        "rc_third_party_invite": _RELAXED,
        "rc_media_create": _RELAXED,
        "rc_key_requests": _RELAXED,
        "rc_presence": {"per_user": _RELAXED},
        "rc_delayed_event_mgmt": _RELAXED,
        "rc_room_creation": _RELAXED,
        "rc_reports": _RELAXED,
        "rc_user_directory": _RELAXED,
        "rc_profile": _RELAXED,
    }


_LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s %(name)s %(levelname)s %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {path}
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


@dataclass
class Registered:
    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    """One homeserver process that can be stopped and started on the same port and data."""

    def __init__(self, python: Path, data_dir: Path, overrides: dict[str, Any] | None = None) -> None:
        self.python = python
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._admin: Registered | None = None
        self._counter = 0
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "log.yaml").write_text(_LOG_CONFIG.format(path=json.dumps(str(data_dir / "homeserver.log"))))
        self.config_path = data_dir / "homeserver.yaml"
        # JSON is valid YAML: no YAML library needed in the test venv.
        config = homeserver_config(data_dir, self.port, self.shared_secret) | (overrides or {})
        self.config_path.write_text(json.dumps(config, indent=2))
        self._run("--generate-keys")

    # ------------------------------------------------------------ lifecycle

    def _run(self, *extra: str) -> None:
        subprocess.run(
            [
                str(self.python),
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config_path),
                *extra,
            ],
            check=True,
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers /versions."""
        assert self.process is None, "already running"
        stderr = open(self.data_dir / "stderr.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                str(self.python),
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.config_path),
            ],
            cwd=self.data_dir,
            stdout=stderr,
            stderr=stderr,
        )
        stderr.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"Synapse exited at start; see {self.data_dir}/stderr.log and homeserver.log")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {timeout} s")

    def stop(self) -> None:
        """SIGTERM and wait: Synapse stops in a few ms and frees the port."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        # The port must be free before a restart binds it again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ------------------------------------------------------------ HTTP helpers

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                result: dict[str, Any] = json.loads(resp.read() or b"{}")
                return result
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: {err.code} {err.read()!r}") from err

    def register(self, prefix: str = "user", *, admin: bool = False) -> Registered:
        """A fresh account through the shared-secret admin API (HMAC-SHA1 over the nonce)."""
        self._counter += 1
        localpart = f"{prefix}{self._counter}_{secrets.token_hex(3)}"
        password = secrets.token_urlsafe(12)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        message = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self.shared_secret.encode(), message.encode(), hashlib.sha1)
        result = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return Registered(
            user_id=result["user_id"],
            localpart=localpart,
            password=password,
            access_token=result["access_token"],
            device_id=result["device_id"],
        )

    def login(self, account: Registered) -> Registered:
        """The same account on a new device, as a password login elsewhere makes one."""
        result = self.request(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": account.localpart},
                "password": account.password,
            },
        )
        return dataclasses.replace(account, access_token=result["access_token"], device_id=result["device_id"])

    @property
    def admin(self) -> Registered:
        if self._admin is None:
            self._admin = self.register("admin", admin=True)
        return self._admin

    def set_message_ratelimit(self, user_id: str, per_second: float, burst: int) -> None:
        """Make one user strict (the server stays relaxed for everyone else)."""
        quoted = urllib.parse.quote(user_id)
        self.request(
            "POST",
            f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
            {"messages_per_second": per_second, "burst_count": burst},
            token=self.admin.access_token,
        )


_SERVER: Synapse | None = None


@contextlib.contextmanager
def own_synapse(data_dir: Path, **overrides: Any) -> Iterator[Synapse]:
    """A homeserver of one test's own, for a setting the shared one must not have."""
    server = Synapse(synapse_python(), data_dir, overrides)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", name="synapse")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """The session's homeserver, started once even if several modules import this fixture."""
    global _SERVER
    owner = _SERVER is None
    if _SERVER is None:
        _SERVER = Synapse(synapse_python(), tmp_path_factory.mktemp("synapse"))
        _SERVER.start()
    server = _SERVER
    if not server.running:
        server.start()
    yield server
    if owner:
        server.stop()
        _SERVER = None


if __name__ == "__main__":  # a manual smoke test: python tests/synapse.py
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        began = time.monotonic()
        hs = Synapse(DEFAULT_PYTHON if len(sys.argv) < 2 else Path(sys.argv[1]), Path(tmp))
        hs.start()
        print(f"up after {time.monotonic() - began:.1f}s at {hs.url}")
        print(hs.register("alice"))
        hs.restart()
        print(hs.request("GET", "/_matrix/client/versions")["versions"][-1])
        hs.stop()


# ---------------------------------------------------------------- what others see


def assert_cross_signed(keys: dict[str, Any], user_id: str, device_id: str) -> None:
    """As a client checks it: master -> self-signing key -> device, all valid signatures."""
    from bot.adapters.matrix.crosssigning import key_of, verify_json

    master = keys["master_keys"][user_id]
    ssk = keys["self_signing_keys"][user_id]
    master_pub, ssk_pub = key_of(master), key_of(ssk)
    assert master_pub and ssk_pub
    assert master["usage"] == ["master"] and ssk["usage"] == ["self_signing"]
    assert verify_json(ssk, master_pub, user_id, master_pub)
    device = keys["device_keys"][user_id][device_id]
    assert verify_json(device, ssk_pub, user_id, ssk_pub)


# ---------------------------------------------------------------- a user's client


@dataclass
class Seen:
    """A message the user's client shows: who sent it, its text or file name."""

    sender: str
    body: str
    html: str | None = None
    msgtype: str = "m.text"
    file_text: str | None = None
    filename: str | None = None
    encrypted: bool = False


class MatrixUser:
    """A person with a real matrix-nio client (and its own crypto store).

    It syncs in the background like Element does, decrypts what it can, and
    collects the messages of every room, so tests assert on what the user sees.
    """

    def __init__(self, server: Synapse, account: Registered, store: Path) -> None:
        from nio import AsyncClient, AsyncClientConfig
        from nio.store import SqliteStore

        store.mkdir(parents=True, exist_ok=True)
        self.server = server
        self.account = account
        self.client = AsyncClient(
            server.url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=AsyncClientConfig(store=SqliteStore, encryption_enabled=True, max_timeouts=None),
        )
        self.client.restore_login(account.user_id, account.device_id, account.access_token)
        self.seen: dict[str, list[Seen]] = {}
        #: per room, who the homeserver said was typing, each time it said so (m.typing)
        self.typing: dict[str, list[list[str]]] = {}
        self._task: Any = None
        self._changed: Any = None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    async def __aenter__(self) -> Self:
        import asyncio

        from nio import MegolmEvent, RoomEncryptedFile, RoomMessageFile, RoomMessageText

        self._changed = asyncio.Condition()
        await self.client.keys_upload()

        async def on_message(room: Any, event: Any) -> None:
            if isinstance(event, RoomMessageText):
                seen = Seen(
                    event.sender,
                    event.body,
                    event.formatted_body,
                    encrypted=bool(event.decrypted),
                )
            elif isinstance(event, RoomMessageFile | RoomEncryptedFile):
                seen = Seen(
                    event.sender,
                    event.body,
                    msgtype="m.file",
                    file_text=await self._download(event),
                    filename=event.source.get("content", {}).get("filename"),
                    encrypted=isinstance(event, RoomEncryptedFile),
                )
            elif isinstance(event, MegolmEvent):
                seen = Seen(event.sender, "<undecryptable>", msgtype="m.room.encrypted")
            else:
                return
            self.seen.setdefault(room.room_id, []).append(seen)
            async with self._changed:
                self._changed.notify_all()

        self.client.add_event_callback(on_message, (RoomMessageText, RoomMessageFile, RoomEncryptedFile, MegolmEvent))

        from nio import TypingNoticeEvent

        async def on_typing(room: Any, event: Any) -> None:
            self.typing.setdefault(room.room_id, []).append(list(event.users))
            async with self._changed:
                self._changed.notify_all()

        self.client.add_ephemeral_callback(on_typing, TypingNoticeEvent)
        await self.client.sync(timeout=0, full_state=True)
        self._task = asyncio.create_task(self.client.sync_forever(timeout=300))
        return self

    async def __aexit__(self, *exc: object) -> None:
        import asyncio
        import contextlib

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _download(self, event: Any) -> str | None:
        from nio import DownloadResponse
        from nio.crypto import decrypt_attachment

        resp = await self.client.download(event.url)
        if not isinstance(resp, DownloadResponse):
            return None
        data = resp.body
        if hasattr(event, "key"):
            data = decrypt_attachment(data, event.key["k"], event.hashes["sha256"], event.iv)
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:  # a Word file: no text to read here, its name and caption still count
            return None

    async def open_direct_chat(self, bot: str, *, encrypted: bool = False) -> str:
        """Like Element's "start chat": a private room, the bot invited as direct."""
        from nio import RoomCreateResponse, RoomPreset

        initial_state = []
        if encrypted:
            initial_state.append(
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            )
        resp = await self.client.room_create(
            is_direct=True,
            invite=[bot],
            preset=RoomPreset.trusted_private_chat,
            initial_state=initial_state,
        )
        assert isinstance(resp, RoomCreateResponse), resp
        self.seen.setdefault(resp.room_id, [])
        return str(resp.room_id)

    async def say(self, room_id: str, text: str) -> str:
        from nio import RoomSendResponse

        for _ in range(50):  # the room may not be in this client's sync yet
            if room_id in self.client.rooms:
                break
            import asyncio

            await asyncio.sleep(0.05)
        resp = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": text},
            ignore_unverified_devices=True,
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    def from_others(self, room_id: str) -> list[Seen]:
        return [s for s in self.seen.get(room_id, []) if s.sender != self.user_id]

    async def wait_for(self, room_id: str, count: int, timeout: float = 15.0) -> list[Seen]:
        """The first `count` messages others sent in the room (fails after `timeout`)."""
        import asyncio

        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: len(self.from_others(room_id)) >= count),
                    timeout,
                )
            except TimeoutError:
                got = [s.body for s in self.from_others(room_id)]
                raise AssertionError(f"expected {count} messages, saw {len(got)}: {got}") from None
        return self.from_others(room_id)[:count]

    async def reply_to(self, room_id: str, text: str, timeout: float = 15.0) -> Seen:
        """Say `text` and return the bot's next message."""
        before = len(self.from_others(room_id))
        await self.say(room_id, text)
        return (await self.wait_for(room_id, before + 1, timeout))[before]


# ---------------------------------------------------------------- a network that fails


class FlakyLink:
    """A TCP relay between the bot and Synapse that can lose one answer and then go dark.

    Why: the worst moment for "shown exactly once" is a request the homeserver
    carried out whose answer never came back (a dropped connection, a crash).
    The homeserver stays real; only the wire between fails, the way it does in
    production. `lose_answer(pattern, nth)`: the nth request from now whose
    first bytes match `pattern` reaches Synapse, its answer is thrown away and
    every connection is cut and refused until `heal()`.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.dark = False
        self.lost = asyncio.Event()
        self._pattern: re.Pattern[bytes] | None = None
        self._left = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()

    def lose_answer(self, pattern: bytes, nth: int = 1) -> None:
        self._pattern, self._left = re.compile(pattern), nth

    def heal(self) -> None:
        self.dark = False

    def _cut(self) -> None:
        self.dark = True
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.dark:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        doomed = asyncio.Event()  # this connection's next answer is lost

        async def requests() -> None:
            while data := await reader.read(65536):
                if self._pattern is not None and self._pattern.match(data):
                    self._left -= 1
                    if self._left == 0:
                        self._pattern = None
                        doomed.set()
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def answers() -> None:
            while data := await up_reader.read(65536):
                if doomed.is_set():
                    self._cut()
                    self.lost.set()
                    return
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(requests(), answers())
        for end in (writer, up_writer):
            end.close()
            self._writers.discard(end)
