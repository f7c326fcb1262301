"""Fault: `python -m bot` on Telegram killed with SIGKILL under load, three times, and restarted.

The product runs exactly as deployed (a subprocess, settings from the environment,
the Telegram adapter long-polling the fake Bot API on 127.0.0.1, AIORateLimiter on).
Twelve users talk at once; whenever the bot has handled another batch of updates it
is killed at a random moment (seeded) and started again on the same database while
the users wait for their answers. Then:

- every conversation continues and ends where an uninterrupted one ends;
- no update is lost: Telegram saw every update confirmed, every button answered;
- no update is handled twice: each user's answers, in order, are exactly those of the
  uninterrupted user, with nothing extra and nothing missing.

One thing a crash can do by design: a reply Telegram accepted in the instant before
the kill, whose outbox row was not yet dropped, is sent again at start (at-least-once:
Telegram has no idempotency key, and losing a reply would be worse), before that
conversation's next turn. Chats are handled side by side, so every turn in flight at
the kill may repeat: the messages of that one turn again, right after the part already
shown. The test allows at most one such repeat per user per kill and counts them.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app import load_flows
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_fixtures import QuickUser, bot_process_env, telegram

__all__ = ["telegram"]  # the fixture, used by name below

JSON = dict[str, Any]
USERS = 12
KILL_AFTER = (10, 25, 40)  # confirmed updates before each kill


def collapse(texts: list[str], longest: int = 4) -> tuple[list[str], int]:
    """Texts with immediate repeats of a run of messages (one turn's) removed, and how many runs.

    A turn killed after showing A and B of A, B, C is sent again whole: A B A B C.
    """
    out = list(texts)
    runs = 0
    i = 0
    while i < len(out):
        for k in range(min(longest, (len(out) - i) // 2), 0, -1):
            if out[i:i + k] == out[i + k:i + 2 * k]:
                del out[i:i + k]
                runs += 1
                break
        else:
            i += 1
    return out, runs




async def test_sigkill_under_load_loses_nothing_and_handles_nothing_twice(telegram: FakeTelegram, tmp_path: Path) -> None:
    tg = telegram
    rng = random.Random(8)
    env = bot_process_env(tg, tmp_path / "wegwijzer.sqlite3")
    flows = load_flows(Settings(_env_file=None))  # type: ignore[call-arg]

    def text(key: str) -> str:
        return flows.render("nl", key, {})

    steps: list[Callable[[QuickUser], None]] = [
        lambda u: u.command("start"),
        lambda u: u.presses(text("main.role.parent")),
        lambda u: u.presses(text("main.parent.deadline")),
        lambda u: u.presses(text("termijn.appeal")),
        lambda u: u.says("gisteren"),
        lambda u: u.presses(text("sys.yes")),  # "Ik lees: ... Klopt dat?"
    ]

    # Each process's stderr is read as it comes: a pipe nobody reads fills up (64 KB) and the bot,
    # blocked on a log line, would hang like a lost message (a CI run once waited 120 s here).
    errors: list[bytearray] = []
    drains: list[asyncio.Task[None]] = []

    async def drain(stream: asyncio.StreamReader, into: bytearray) -> None:
        while chunk := await stream.read(65536):
            into.extend(chunk)

    async def launch() -> asyncio.subprocess.Process:
        calls_before = tg.calls["getUpdates"]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        errors.append(bytearray())
        drains.append(asyncio.create_task(drain(process.stderr, errors[-1])))
        await tg.wait_until(lambda: tg.calls["getUpdates"] > calls_before, timeout=60)
        return process

    process = await launch()
    try:
        # the uninterrupted conversation: what every user must end up having seen
        reference = QuickUser(tg, "Referentie")
        expected: list[list[str]] = []  # the texts each step adds
        for step in steps:
            before = len(reference.texts)
            step(reference)
            await tg.wait_confirmed(reference.updates[-1], timeout=30)
            await tg.wait_until(lambda n=before: len(reference.texts) > n, timeout=30)
            await asyncio.sleep(0.05)  # a step may send more than one message
            expected.append(reference.texts[before:])
        assert expected[-1][0].startswith("Zo reken ik de termijn:"), expected  # after the date echo: the rule

        users = [QuickUser(tg, f"Ouder {i}") for i in range(USERS)]

        async def converse(user: QuickUser) -> None:
            seen: list[str] = []
            for step, adds in zip(steps, expected, strict=True):
                await asyncio.sleep(rng.uniform(0, 0.01))
                step(user)
                seen += adds
                try:
                    await tg.wait_until(lambda s=list(seen): collapse(user.texts)[0][:len(s)] == s, timeout=120)
                except TimeoutError:  # say what this person saw and what the bot logged, not only "timeout"
                    log = bytes(errors[-1]).decode(errors="replace")[-2000:] if errors else ""
                    raise AssertionError(f"{user.user['first_name']} waited 120 s: wanted {seen}, saw "
                                         f"{collapse(user.texts)[0]}; the running bot's log ends:\n{log}") from None

        def confirmed() -> int:
            return sum(tg.is_confirmed(u) for user in users for u in user.updates)

        async def killer() -> int:
            nonlocal process
            kills = 0
            for threshold in KILL_AFTER:
                await tg.wait_until(lambda t=threshold: confirmed() >= t, timeout=120)
                await asyncio.sleep(rng.uniform(0, 0.03))  # somewhere inside a turn, a send, an ack ...
                process.kill()
                await process.wait()
                kills += 1
                await asyncio.sleep(rng.uniform(0.05, 0.3))  # down for a moment while users wait
                process = await launch()
            return kills

        kills, *_ = await asyncio.wait_for(asyncio.gather(killer(), *(converse(u) for u in users)), timeout=300)
        assert kills == len(KILL_AFTER)

        everything = [u for user in users for u in user.updates]
        await tg.wait_until(lambda: all(tg.is_confirmed(u) for u in everything), timeout=60)  # else: lost
        want = [t for adds in expected for t in adds]
        repeats = 0
        for user in users:
            texts, again = collapse(user.texts)
            assert texts == want, f"{user.user['first_name']} saw {texts}"
            assert again <= kills, f"{user.user['first_name']}: {again} repeated turns for {kills} kills"
            repeats += again
        redelivered = sum(tg.deliveries[u["update_id"]] > 1 for u in everything)
        print(f"kills={kills} repeats={repeats} updates handed out again after a kill={redelivered}")
        assert tg.pending_updates == []
        assert tg.unanswered_callbacks == []
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=60)
        await asyncio.wait_for(asyncio.gather(*drains), timeout=10)
    err = bytes(errors[-1])
    assert process.returncode == 0, err.decode()[-3000:]
    assert b"Traceback" not in err, err.decode()[-3000:]
