"""Fault: two `python -m bot` processes serve one Matrix bot from one PostgreSQL; the one syncing is SIGKILLed.

Each process has a data folder of its own, as on two hosts; only the database is shared. A parent
talks to the bot in an end-to-end encrypted private chat from a real matrix-nio client on a real
Synapse. The process holding the Matrix lease is killed with SIGKILL (no clean stop, no lease
given back, no last snapshot); the parent writes while no process syncs. The other process takes
the lease, restores the device from the database (bot/handover.py) and must be the same device:
it decrypts what the parent sent with the Megolm session the parent shared with the first
process, answers in the conversation where it was, and the parent's client knows no new device.
Then it stops cleanly and the first host comes back with its old folder: it takes the lease at
once and is the same device again, as the second left it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.parse
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, bot_env
from tests.postgres import Cluster, free_port, read
from tests.synapse import MatrixUser, Registered, Synapse, synapse_server
from tests.test_fault_takeover import lease_of, wait_lease
from tests.test_matrix_conversation import BY_NUMBER, console_says

__all__ = ["synapse_server"]  # the fixture, used by name below


def bot_devices(server: Synapse, viewer: Registered, bot: str) -> dict[str, dict[str, str]]:
    """The bot's devices with published keys, as the parent's client asks for them: device -> its keys."""
    keys = server.request("POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot: []}},
                          token=viewer.access_token)
    return {device: info["keys"] for device, info in keys["device_keys"].get(bot, {}).items()}


def senders(server: Synapse, viewer: Registered, room: str, bot: str) -> list[tuple[str, str]]:
    """(device id, curve25519 key) of every encrypted event the bot sent in the room."""
    quoted = urllib.parse.quote(room)
    events = server.request("GET", f"/_matrix/client/v3/rooms/{quoted}/messages?dir=f&limit=100",
                            token=viewer.access_token)["chunk"]
    return [(e["content"]["device_id"], e["content"]["sender_key"]) for e in events
            if e["sender"] == bot and e["type"] == "m.room.encrypted"]


async def test_sigkill_of_the_syncing_process_hands_the_same_device_to_the_other(
        synapse: Synapse, pg_cluster: Cluster, tmp_path: Path) -> None:
    expected = await console_says(tmp_path, BY_NUMBER)
    bot, parent = synapse.register("bot"), synapse.register("parent")
    url = pg_cluster.new_database()
    ports = [free_port(), free_port()]
    processes: list[asyncio.subprocess.Process] = []

    async def launch(n: int) -> asyncio.subprocess.Process:
        folder = tmp_path / f"host{n}"
        folder.mkdir(exist_ok=True)
        env = bot_env(
            WEGWIJZER_DB=url, WEGWIJZER_MATRIX_HOMESERVER=synapse.url, WEGWIJZER_MATRIX_USER=bot.user_id,
            WEGWIJZER_MATRIX_PASSWORD=bot.password, WEGWIJZER_MATRIX_STORE=str(folder / "matrix"),
            WEGWIJZER_ENCRYPTION_KEYS=keys, WEGWIJZER_HEALTH_PORT=str(ports[n]), WEGWIJZER_FLOOD_PER_MINUTE="0",
            WEGWIJZER_FLOWS_DIR=str(FIXTURE_FLOWS), WEGWIJZER_LOCALES_DIR=str(FIXTURE_LOCALES))
        log = (tmp_path / f"run{len(processes)}.log").open("wb")
        process = await asyncio.create_subprocess_exec(PYTHON, "-m", "bot", env=env, cwd=folder,
                                                       stdout=log, stderr=log)
        log.close()
        processes.append(process)
        return process

    keys = Fernet.generate_key().decode()
    # The waits below are generous bounds, not time budgets: on a loaded CI machine two bot
    # processes, Synapse and PostgreSQL share two cores (a 30 s wait failed once in a full run).
    first = await launch(0)
    try:
        await wait_lease(ports[0], "held")
        await launch(1)
        await wait_lease(ports[1], "standby")
        async with MatrixUser(synapse, parent, tmp_path / "parent") as user:
            room = await user.open_direct_chat(bot.user_id, encrypted=True)
            assert (await user.wait_for(room, 1, timeout=60))[0].body == expected[0]
            assert (await user.reply_to(room, BY_NUMBER[0], timeout=60)).body == expected[1]
            [(device, before)] = bot_devices(synapse, parent, bot.user_id).items()
            session = json.loads((tmp_path / "host0" / "matrix" / "session.json").read_text())
            assert session["device_id"] == device

            first.kill()  # SIGKILL: no lease given back, no last snapshot
            await first.wait()
            # Said while nobody syncs, encrypted with the Megolm session the parent shared with
            # the first process's device: only the same device can read it.
            await user.say(room, BY_NUMBER[1])
            assert [s.body for s in await user.wait_for(room, 3, timeout=90)] == expected[:3]
            assert await lease_of(ports[1]) == "held"
            assert (await user.reply_to(room, BY_NUMBER[2], timeout=60)).body == expected[3]

            second = processes[1]
            second.send_signal(signal.SIGTERM)  # a clean stop: the newest copy saved, the lease given back
            assert await asyncio.wait_for(second.wait(), timeout=60) == 0
            await launch(0)  # the first host again, its folder as the SIGKILL left it
            await wait_lease(ports[0], "held")
            assert (await user.reply_to(room, BY_NUMBER[3], timeout=60)).body == expected[4]
            await asyncio.sleep(1)  # time for anything said twice to show
            seen = user.from_others(room)
            assert [s.body for s in seen] == expected, "each answer once, where the conversation was"
            assert all(s.encrypted for s in seen)

            # The same device: its id, its identity keys, and nothing new for the parent's client to trust.
            assert bot_devices(synapse, parent, bot.user_id) == {device: before}
            for host in ("host0", "host1"):
                assert json.loads((tmp_path / host / "matrix" / "session.json").read_text())["device_id"] == device
            assert {d for d, _ in senders(synapse, parent, room, bot.user_id)} == {device}
            assert {k for _, k in senders(synapse, parent, room, bot.user_id)} == {before[f"curve25519:{device}"]}
            known = {d.id: d.ed25519 for d in user.client.device_store.active_user_devices(bot.user_id)}
            assert known == {device: before[f"ed25519:{device}"]}, "the parent's client knows one device of the bot"
        own: dict[str, Any] = synapse.request("GET", "/_matrix/client/v3/devices", token=bot.access_token)
        assert len(own["devices"]) == 2, "the registration's device and one login, never one per process"
        assert read(url, "SELECT count(*) FROM handover_files WHERE path LIKE ?", "%/session.json") == [(1,)]
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=60)
    assert [p.returncode for p in processes] == [-signal.SIGKILL, 0, 0]
    token = session["access_token"]
    for n in range(len(processes)):
        output = (tmp_path / f"run{n}.log").read_text()
        assert "Traceback" not in output, output[-3000:]
        assert token not in output and bot.password not in output, "a secret in the log"
        for line in BY_NUMBER:
            assert line not in output.split("\n")
