"""The benchmark: workload "guided-complaint" (v1) through the real core and SQLite store.

    .venv/bin/python -m bench.run                        # both paths, U=1,000 and 10,000, 3 runs each
    .venv/bin/python -m bench.run --users 1000 --path telegram --repeat 1
    .venv/bin/python -m bench.run --one --users 1000 --path core --profile /tmp/core.prof
    .venv/bin/python -m bench.run --breakdown --users 1000   # CPU per update by component (bench/breakdown.py)
    .venv/bin/python -m bench.run --peers                    # + the peers in the same sitting (bench/peers.py)
    .venv/bin/python -m bench.run --backend sqlite postgresql --procs 1 2   # + PostgreSQL, 1 and 2 processes

Two paths, one JSON line per run (each run in a fresh process, so RSS figures are its own):

- `telegram`: the product's Telegram adapter on python-telegram-bot: every Update dict is
  parsed by PTB (`Update.de_json`) and handed to the adapter's dispatch entry point
  (`TelegramAdapter.process`, what its polling loop and webhook call); PTB's request layer
  is replaced in memory by a `BaseRequest` subclass (bench/tgrequest.py); no rate limiter.
- `core`: the same conversations as `Incoming` events straight into `Core.handle`, replies
  counted by a sink outlet (bench/fakeapi.py): what the core, engine and store cost alone.

Both use the product's object graph (`bot.app.build_core`: flows loaded and validated,
SQLite file on disk in WAL mode with the product's default `synchronous`, or with
`--backend postgresql` a throwaway PostgreSQL cluster and one or more bot processes
(bench/postgres.py), migrations, extensions) and start it as the product does (`Core.start`: its background loops run);
every turn commits state + handled mark + outbox in one transaction before its reply
is sent. After all runs a summary line gives the median of each metric and
how far each target is met or missed. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Targets from issue 8 (Telegram path; memory, database and startup on both paths).
TARGETS: dict[str, tuple[str, float]] = {
    "updates_per_s": (">=", 4500.0),
    "p99_ms": ("<=", 1.0),
    "rss_per_conv_kb": ("<=", 0.5),
    "db_bytes_per_conv": ("<=", 1024.0),
    "startup_s": ("<", 1.0),
    "crisis_check_us_p50": ("<=", 200.0),
}


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _status(field: str) -> float:
    """A VmRSS-style line of /proc/self/status, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _nearest_rank(sorted_values: list[float], percent: float) -> float:
    index = max(0, -(-len(sorted_values) * percent // 100) - 1)
    return sorted_values[int(index)]


# ======================================================================== one run


async def run_once(users: int, path: str, db_dir: Path, synchronous: str, profile: str | None,
                   encrypt: bool = False, profile_dir: str | None = None, db_url: str | None = None,
                   part: int = 0, procs: int = 1, latencies_file: str | None = None) -> dict[str, Any]:
    """One run in this process; returns the metrics of WORKLOAD.md §6.

    `profile_dir`: profile the measured rounds per thread in CPU time (bench/breakdown.py):
    `main.prof` (event loop) and `store.prof` (the store's worker thread).
    `db_url`: PostgreSQL, driven by bench/postgres.py: this process takes the users i with
    i % procs == part, waits for the driver before each round, leaves the database's size and
    rows to the driver and writes its latencies to `latencies_file`.
    """
    t0 = time.perf_counter()  # before importing the framework (§6 startup_s)
    from bench.fakeapi import Recorder, SinkOutlet
    from bench.workload import FIRST_UPDATE_ID, STEPS, WARMUP_USERS, Updates, complaint, expected_transcript
    from bot.app import build_core
    from bot.events import Choice, Command, ConversationKey, Incoming, Text
    from bot.settings import Settings

    db = db_dir / "bench.sqlite3"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        db=db_url or db,
        db_synchronous=synchronous,
        flows_dir=HERE / "flows",
        locales_dir=HERE / "locales",
        entry_flow="guided_complaint",
        telegram_token="123456789:AAHfakefakefakefakefakefakefakefak",
        telegram_rate_limit=False,
        encryption_keys=_fernet_key() if encrypt else None,
    )
    core = await build_core(settings) if path != "ptb-floor" else None
    total = users + WARMUP_USERS
    mine = range(part, users, procs)  # the users this process serves (all of them in one process)
    watched = tuple(sorted({i for i in (0, 1, users - 1) if i % procs == part}))
    recorder = Recorder(total, watched)
    updates = Updates(recorder.next_message_id, recorder.last_bot_message)
    updates.update_id += part * 10**8  # "handled" is one table for every process: ids of its own

    dispatch: Callable[[int, int], Awaitable[object]]
    if path == "ptb-floor":
        from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

        from bench.tgrequest import FakeBotRequest
        from bench.workload import (
            CONFIRM_KB,
            DESCRIBE_QUESTION,
            ORG_KB,
            ORG_QUESTION,
            ROLE_KB,
            WELCOME_TEXT,
            Keyboard,
            confirm_text,
            route_text,
        )

        floor_bot = Bot(settings.telegram_token.get_secret_value(),  # type: ignore[union-attr]
                        request=FakeBotRequest(recorder), get_updates_request=FakeBotRequest(recorder))
        await floor_bot.initialize()
        startup_s = time.perf_counter() - t0

        def markup(kb: Keyboard) -> InlineKeyboardMarkup:
            return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in kb])

        role_kb, org_kb, confirm_kb = markup(ROLE_KB), markup(ORG_KB), markup(CONFIRM_KB)
        floor_update: list[dict[str, Any]] = [{}]

        def build(k: int, i: int) -> None:
            floor_update[0] = updates.step(k, i)

        async def dispatch_floor(k: int, i: int) -> object:
            """PTB alone: parse the update, make the workload's calls; no core, no store, no adapter."""
            update = Update.de_json(floor_update[0], floor_bot)
            chat_id = update.effective_chat.id  # type: ignore[union-attr]
            query = update.callback_query
            if query is not None:
                await query.answer()
                message_id = query.message.message_id  # type: ignore[union-attr]
            if k == 1:
                await floor_bot.send_message(chat_id, WELCOME_TEXT, parse_mode="HTML", reply_markup=role_kb)
            elif k == 2:
                await floor_bot.edit_message_text(ORG_QUESTION, chat_id, message_id, parse_mode="HTML",
                                                  reply_markup=org_kb)
            elif k == 3:
                await floor_bot.edit_message_text(DESCRIBE_QUESTION, chat_id, message_id, parse_mode="HTML")
            elif k == 4:
                text = update.effective_message.text  # type: ignore[union-attr]
                if text is not None and 10 <= len(text.strip()) <= 1000:
                    await floor_bot.send_message(chat_id, confirm_text(i), parse_mode="HTML", reply_markup=confirm_kb)
            else:
                await floor_bot.send_message(chat_id, route_text(i), parse_mode="HTML")
            return None

        dispatch = dispatch_floor
    elif path == "telegram":
        assert core is not None
        from telegram import Update
        from telegram.ext import ExtBot

        from bench.tgrequest import FakeBotRequest
        from bot.adapters.telegram import TelegramAdapter

        adapter = TelegramAdapter(settings, core)
        adapter.bot = ExtBot(settings.telegram_token.get_secret_value(),  # type: ignore[union-attr]
                             request=FakeBotRequest(recorder), get_updates_request=FakeBotRequest(recorder))
        adapter.outlet.bot = adapter.bot  # the outlet sends the replies: through the same fake
        await adapter.bot.initialize()  # getMe
        bot = adapter.bot
        if db_url is not None:  # on PostgreSQL a webhook worker: its inbox and the lock all workers share
            adapter._inbox = await adapter.open_inbox()
        await core.start()  # as bot.app does once the platforms are up (its loops run during the run)
        startup_s = time.perf_counter() - t0
        process = adapter.process
        receive = adapter._receive  # what the webhook server calls for each POST (its HTTP not measured)
        de_json = Update.de_json
        pending: list[dict[str, Any]] = [{}]

        def build(k: int, i: int) -> None:
            pending[0] = updates.step(k, i)

        async def dispatch_telegram(k: int, i: int) -> object:
            if db_url is not None:
                await receive(de_json(pending[0], bot), pending[0])
            else:
                await process(de_json(pending[0], bot))
            return None

        dispatch = dispatch_telegram
    else:
        assert core is not None
        startup_s = time.perf_counter() - t0
        sink = SinkOutlet(recorder)  # imports PTB for the keyboard layout: not the core's start-up
        core.register(sink)
        core_started = time.perf_counter()
        await core.start()
        startup_s += time.perf_counter() - core_started
        handle = core.handle
        next_update = [FIRST_UPDATE_ID + part * 10**8]
        events = {2: Choice("parent", "role"), 3: Choice("gi", "org"), 5: Choice("yes", "confirm")}
        start = Command("start", "")
        incoming: list[Incoming | None] = [None]

        def build(k: int, i: int) -> None:
            chat_id = 5000000000 + i
            key = ConversationKey("telegram", str(chat_id), str(chat_id))
            uid = next_update[0]
            next_update[0] = uid + 1
            if k == 1:
                recorder.next_message_id[i] += 1  # the user's /start
                incoming[0] = Incoming(key, start, f"tg:{uid}", "nl")
            elif k == 4:
                recorder.next_message_id[i] += 1  # the user's complaint
                incoming[0] = Incoming(key, Text(complaint(i)), f"tg:{uid}", "nl")
            else:
                incoming[0] = Incoming(key, events[k], f"tg:{uid}", "nl", reply_to=(chat_id, recorder.last_bot_message[i]))

        async def dispatch_core(k: int, i: int) -> object:
            event = incoming[0]
            assert event is not None
            if isinstance(event.event, Choice):  # what the adapter does first: stop the button's spinner
                recorder.record("answerCallbackQuery", i, None, None)
            return await handle(event)

        dispatch = dispatch_core

    async def barrier(tag: str) -> None:
        """With the driver of bench/postgres.py: say where this process is, wait until it says go."""
        if db_url is None:
            return
        print(json.dumps({"barrier": tag}), flush=True)
        if not await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline):
            raise SystemExit("bench: the driver went away")

    async def checkpoint() -> int:
        if core is None or db_url is not None:  # PostgreSQL: the driver measures the database
            return 0
        await core.store.execute(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall(), write=False)
        return os.path.getsize(db)

    async def count(sql: str) -> int:
        if core is None or db_url is not None:
            return 0
        return int(await core.store.execute(lambda c: c.execute(sql).fetchone()[0], write=False))

    # warm-up: users U..U+19, all five rounds interleaved (not measured)
    for k in range(1, STEPS + 1):
        for i in range(users + part, total, procs):
            build(k, i)
            await dispatch(k, i)
    recorder.reset()
    db_base = await checkpoint()
    gc.collect()
    rss_base = _status("VmRSS")

    latencies = array("d", bytes(8 * STEPS * len(mine)))
    rounds: list[float] = []
    n = 0
    wall = 0.0
    rss_step3 = 0.0
    db_step3 = 0
    parked = 0
    import cProfile

    profiler = None
    store_profiler = None
    if profile:
        profiler = cProfile.Profile()
    elif profile_dir:
        # CPU time per thread: waiting for the other thread is not cost (bench/breakdown.py)
        profiler = cProfile.Profile(time.thread_time)
        store_profiler = cProfile.Profile(time.thread_time) if core is not None else None

    async def store_thread(fn: Callable[[], Any]) -> Any:
        """Run fn on the store's worker thread (its CPU clock, its profiler)."""
        if core is None:
            return 0.0
        return await core.store.execute(lambda _db: fn(), write=False)

    async def profiling(on: bool) -> None:
        if profiler is not None:
            profiler.enable() if on else profiler.disable()
        if store_profiler is not None:
            await store_thread(store_profiler.enable if on else store_profiler.disable)

    def db_counts() -> tuple[int, int]:
        """PostgreSQL: statements and round trips of the store's connection so far (bot/store_postgres_sql.py)."""
        conn = getattr(core.store.backend, "_db", None) if core is not None else None
        return (conn.statements, conn.round_trips) if hasattr(conn, "round_trips") else (0, 0)

    db_counted = [0, 0]
    perf = time.perf_counter
    load_before = os.getloadavg()[0]
    cpu = cpu_main = cpu_store = 0.0
    for k in range(1, STEPS + 1):
        await barrier(f"round{k}")
        store_started = await store_thread(time.thread_time)
        await profiling(True)
        counted = db_counts()
        cpu_started = time.process_time()
        main_started = time.thread_time()
        started = perf()
        for i in mine:
            build(k, i)
            t = perf()
            await dispatch(k, i)
            latencies[n] = perf() - t
            n += 1
        rounds.append(perf() - started)
        wall += rounds[-1]
        db_counted = [total + now - then for total, now, then in zip(db_counted, db_counts(), counted, strict=True)]
        cpu_main += time.thread_time() - main_started
        cpu += time.process_time() - cpu_started
        await profiling(False)
        cpu_store += await store_thread(time.thread_time) - store_started
        if k == 3:  # every conversation parked, waiting for the free text
            gc.collect()
            rss_step3 = _status("VmRSS")
            db_step3 = await checkpoint()
            parked = await count("SELECT count(*) FROM conversations")
    await barrier("done")
    if profiler is not None and profile:
        profiler.dump_stats(profile)
    elif profiler is not None and profile_dir:
        profiler.dump_stats(os.path.join(profile_dir, "main.prof"))
        if store_profiler is not None:
            store_profiler.dump_stats(os.path.join(profile_dir, "store.prof"))

    served = len(mine)
    expected = {"sendMessage": 3 * served, "editMessageText": 2 * served, "answerCallbackQuery": 3 * served}
    calls_ok = recorder.calls == expected and not recorder.other_calls
    transcripts_ok = all(recorder.transcripts[i] == expected_transcript(i) for i in watched)
    open_after = await count("SELECT count(*) FROM conversations")
    queued_after = await count("SELECT count(*) FROM outbox")
    # on PostgreSQL the driver counts (bench/postgres.py)
    state_cleared_ok = core is None or db_url is not None or (open_after == 0 and queued_after == 0 and parked == users)
    ordered = sorted(latencies)
    busy = sum(latencies)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {
        "path": path,
        "backend": "postgresql" if db_url else "sqlite",
        "users": users,
        "updates_per_s": round(STEPS * served / wall, 1),
        "busy_updates_per_s": round(STEPS * served / busy, 1),
        "p50_ms": round(_nearest_rank(ordered, 50) * 1000, 3),
        "p90_ms": round(_nearest_rank(ordered, 90) * 1000, 3),
        "p99_ms": round(_nearest_rank(ordered, 99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "cpu_us_per_update": round(cpu / (STEPS * served) * 1e6, 1),
        # the same, per thread: the event loop, the store's worker, the rest (WAL checkpointer)
        "cpu_main_us_per_update": round(cpu_main / (STEPS * served) * 1e6, 1),
        "cpu_store_us_per_update": round(cpu_store / (STEPS * served) * 1e6, 1),
        "cpu_other_us_per_update": round(max(0.0, cpu - cpu_main - cpu_store) / (STEPS * served) * 1e6, 1),
        "db_statements_per_update": round(db_counted[0] / (STEPS * served), 2),
        "db_round_trips_per_update": round(db_counted[1] / (STEPS * served), 2),
        "rss_base_mb": round(rss_base, 2),
        "rss_step3_mb": round(rss_step3, 2),
        "rss_per_conv_kb": round((rss_step3 - rss_base) * 1024 / users, 3),
        "peak_rss_mb": round(max(usage.ru_maxrss / 1024, _status("VmHWM")), 2),
        "db_bytes_per_conv": round((db_step3 - db_base) / users, 1),
        "startup_s": round(startup_s, 3),
        "valid": calls_ok and transcripts_ok and state_cleared_ok,
        "calls_ok": calls_ok,
        "transcripts_ok": transcripts_ok,
        "state_cleared_ok": state_cleared_ok,
        "calls": recorder.calls,
        "conversations_at_step3": parked,
        "db_file_bytes_step3": db_step3,
        "synchronous": synchronous if db_url is None else "PostgreSQL defaults (fsync, synchronous_commit on)",
        "encrypted": encrypt,
        "loadavg_1m": round(load_before, 2),
        "updates": STEPS * served,
        "round_s": rounds,
        "python": platform.python_version(),
    }
    if not transcripts_ok:
        for i in watched:
            got, want = recorder.transcripts[i], expected_transcript(i)
            if got != want:
                diff = next((j, g, w) for j, (g, w) in enumerate(zip(got + [None] * 8, want + [None] * 8, strict=False))
                            if g != w)
                result.setdefault("transcript_diff", {})[str(i)] = {"call": diff[0], "got": diff[1], "want": diff[2]}
                break
    if latencies_file is not None:
        with open(latencies_file, "wb") as saved:
            latencies.tofile(saved)
    if core is not None:
        if part == 0:  # one process measures the check alone (it would only compete with itself)
            result.update(crisis_check_cost(core.flows.crisis, [complaint(i) for i in mine]))
        await core.stop()
        await core.store.close()
    else:
        result["note"] = "PTB alone: no core, no store, no adapter; a ceiling, not the product"
    return result


def crisis_check_cost(detector: Any, texts: list[str]) -> dict[str, float]:
    """What the crisis check (rules, then the model) costs per free text, alone, in microseconds.

    The same call the engine makes for every typed message, on the workload's free texts
    (step 4), after the measured rounds: so it is in no latency above twice.
    """
    if detector is None:
        return {}
    for text in texts[:50]:  # warm caches (compiled patterns, the model's dicts)
        detector.assess(text)
    perf = time.perf_counter
    costs = []
    for text in texts:
        t = perf()
        detector.assess(text)
        costs.append(perf() - t)
    costs.sort()
    return {"crisis_check_us_p50": round(_nearest_rank(costs, 50) * 1e6, 1),
            "crisis_check_us_p99": round(_nearest_rank(costs, 99) * 1e6, 1)}


# ======================================================================== many runs


def judge(value: float, target: tuple[str, float]) -> dict[str, Any]:
    op, limit = target
    met = value >= limit if op == ">=" else (value <= limit if op == "<=" else value < limit)
    verdict: dict[str, Any] = {"value": value, "target": f"{op} {limit:g}", "met": met}
    if not met:
        if op == ">=":
            verdict["short_by"] = f"{(1 - value / limit) * 100:.1f}% ({limit - value:.1f} below)"
        else:
            verdict["over_by"] = f"{(value / limit - 1) * 100:.1f}% ({value - limit:.3f} above)"
    return verdict


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    first = runs[0]
    summary: dict[str, Any] = {"summary": True, "label": first.get("label", first["path"]), "path": first["path"],
                               "users": first["users"], "runs": len(runs)}
    for name, value in first.items():
        if isinstance(value, bool):
            summary[name] = all(r[name] for r in runs)
        elif isinstance(value, int | float):
            summary[name] = statistics.median(r[name] for r in runs)
    targets = {}
    if first["path"] != "ptb-floor":  # a reference, not the product
        for name, target in TARGETS.items():
            if first["path"] != "telegram" and name in ("updates_per_s", "p99_ms"):
                continue  # throughput and latency targets are for the Telegram path
            targets[name] = judge(summary[name], target)
    summary["targets"] = targets
    invalid = sorted({f"{key}: {value}" for r in runs for key, value in r.get("transcript_diff", {}).items()})
    if invalid:
        summary["transcript_diff"] = invalid[:3]
    return summary


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    return {"machine": True, "nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000], help="U, one run set per value")
    parser.add_argument("--path", choices=["telegram", "core", "ptb-floor", "all"], default="all",
                        help="telegram: the product's Telegram path; core: core+engine+store alone; "
                             "ptb-floor: python-telegram-bot alone (no bot), the ceiling for the Telegram path")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration (the summary is their median)")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL",
                        help="SQLite durability (the product's default is NORMAL)")
    parser.add_argument("--encrypt", action="store_true",
                        help="encryption at rest on (a fresh Fernet key), as a real deployment should run")
    parser.add_argument("--one", action="store_true", help="one run in this process (used by the driver)")
    parser.add_argument("--profile", help="with --one: write a cProfile of the measured rounds here")
    parser.add_argument("--profile-dir", help=argparse.SUPPRESS)  # with --one: per-thread CPU profiles
    parser.add_argument("--breakdown", action="store_true",
                        help="per path: one plain run and one profiled run; print the CPU time per update "
                             "by component (bench/breakdown.py)")
    parser.add_argument("--peers", action="store_true",
                        help="also run the peers of ../shared/bench/peers (PTB, aiogram, aiogram + Redis) in the "
                             "same sitting and print the ratios (bench/peers.py)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], nargs="+", default=["sqlite"],
                        help="where the bot's paths keep their data: SQLite (the default), and/or PostgreSQL on a "
                             "throwaway cluster on 127.0.0.1 that the bench starts and removes (bench/postgres.py)")
    parser.add_argument("--procs", type=int, nargs="+", default=[1],
                        help="on PostgreSQL: bot processes sharing the users, one run set per value (e.g. 1 2)")
    parser.add_argument("--db-url", help=argparse.SUPPRESS)  # with --one: PostgreSQL, driven by bench/postgres.py
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)  # with --db-url: this process's share
    parser.add_argument("--latencies", help=argparse.SUPPRESS)  # with --db-url: where to write the latencies
    args = parser.parse_args(argv)
    paths = ["telegram", "core", "ptb-floor"] if args.path == "all" else [args.path]

    if args.one:
        with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-") as tmp:
            result = asyncio.run(run_once(args.users[0], paths[0], Path(tmp), args.synchronous, args.profile,
                                          args.encrypt, args.profile_dir, args.db_url, args.part, args.procs[0],
                                          args.latencies))
        print(json.dumps(result, ensure_ascii=False), flush=True)
        return 0
    if args.breakdown and "postgresql" in args.backend:
        parser.error("--breakdown profiles one process on SQLite; leave out --backend postgresql")

    print(json.dumps(machine()), flush=True)
    configs = configurations(paths, args.backend, args.procs)
    with postgres_if(any(backend == "postgresql" for _, backend, _ in configs)) as cluster:
        if args.peers:
            return run_with_peers(args.users, configs, args.repeat, args.synchronous, args.encrypt, cluster)
        status = 0
        tables: list[str] = []
        for users in args.users:
            for config in configs:
                if args.breakdown:
                    done_breakdown = run_breakdown(users, config[0], args.synchronous, args.encrypt)
                    if done_breakdown is None:
                        status = 2
                    else:
                        tables.append(done_breakdown)
                    continue
                runs = []
                for _ in range(args.repeat):
                    result = run_config(users, config, args.synchronous, args.encrypt, cluster)
                    if result is None:
                        status = 2  # a run crashed; an invalid run still prints its line with "valid": false
                        break
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                    runs.append(result)
                if runs:
                    print(json.dumps(summarise(runs), ensure_ascii=False), flush=True)
    for text in tables:
        print("\n" + text, flush=True)
    return status


#: (path, backend, processes): one configuration of the bot's runs
Config = tuple[str, str, int]


def configurations(paths: list[str], backends: list[str], procs: list[int]) -> list[Config]:
    """Each path on each backend; on PostgreSQL once per number of processes; PTB alone once."""
    found: list[Config] = []
    for path in paths:
        if path == "ptb-floor":  # no store at all
            found.append((path, "sqlite", 1))
            continue
        for backend in backends:
            found += [(path, backend, 1)] if backend == "sqlite" else [(path, backend, n) for n in procs]
    return found


def label(config: Config) -> str:
    """telegram, telegram-pg, telegram-pg-x2 ..."""
    path, backend, procs = config
    if backend == "sqlite":
        return path
    return f"{path}-pg" if procs == 1 else f"{path}-pg-x{procs}"


@contextlib.contextmanager
def postgres_if(wanted: bool) -> Iterator[Any]:
    """The bench's own PostgreSQL for the sitting (bench/postgres.py), when a configuration needs one."""
    if not wanted:
        yield None
        return
    from bench.postgres import cluster

    with cluster() as running:
        yield running


def run_config(users: int, config: Config, synchronous: str, encrypt: bool, cluster: Any) -> dict[str, Any] | None:
    """One run of a configuration in fresh processes: its metrics (with `label`), or None when it crashed."""
    path, backend, procs = config
    if backend == "postgresql":
        from bench import postgres

        result = postgres.run(cluster, users, path, procs, encrypt)
    else:
        line = run_child(users, path, synchronous, encrypt)
        result = None if line is None else json.loads(line)
    return None if result is None else {"label": label(config), **result}


def run_child(users: int, path: str, synchronous: str, encrypt: bool, *extra: str) -> str | None:
    """One run in a fresh process; its JSON line, or None when it crashed."""
    command = [sys.executable, "-m", "bench.run", "--one", "--users", str(users), "--path", path,
               "--synchronous", synchronous, *(["--encrypt"] if encrypt else []), *extra]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not line.startswith("{"):
        sys.stderr.write(done.stderr)
        return None
    return line


def run_with_peers(users_list: list[int], configs: list[Config], repeat: int, synchronous: str, encrypt: bool,
                   cluster: Any) -> int:
    """The bot's paths and the peers, interleaved run by run, then one table of medians and ratios."""
    from bench.peers import PEERS, peers_dir, peers_python, redis_server, report, run_peer

    peers = peers_dir()
    notes: list[str] = []
    python = None
    if peers is None:
        notes.append("the peers were not found (set WEGWIJZER_BENCH_PEERS to ../shared/bench/peers); bot only")
    else:
        python = peers_python(peers)
    status = 0
    reports = []
    with redis_server() as redis_pid:
        if peers is not None and redis_pid is None:
            notes.append("no redis-server could be started on 127.0.0.1 (Debian: apt-get install redis-server): "
                         "aiogram + Redis skipped")
        for users in users_list:
            runs: dict[str, list[dict[str, Any]]] = {}
            for _ in range(repeat):
                for config in configs:
                    result = run_config(users, config, synchronous, encrypt, cluster)
                    if result is None:
                        status = 2
                        continue
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                    runs.setdefault(result["label"], []).append(result)
                for label, script, persistence in PEERS if peers is not None and python is not None else []:
                    if persistence == "redis" and redis_pid is None:
                        continue
                    result = run_peer(python, peers, script, persistence, users, redis_pid)
                    if result is None:
                        status = 2
                        continue
                    print(json.dumps({"peer": label, **result}, ensure_ascii=False), flush=True)
                    runs.setdefault(label, []).append(result)
            medians = {label: {key: (statistics.median(r[key] for r in found) if isinstance(value, int | float)
                                     and not isinstance(value, bool) else all(r.get(key) for r in found))
                               for key, value in found[0].items() if isinstance(value, int | float)}
                       for label, found in runs.items()}
            reports.append(report(users, medians, notes))
    for text in reports:
        print("\n" + text, flush=True)
    return status


def run_breakdown(users: int, path: str, synchronous: str, encrypt: bool) -> str | None:
    """A plain run (the threads' CPU per update) and a profiled one (the shares): the table."""
    from bench.breakdown import breakdown, table

    plain = run_child(users, path, synchronous, encrypt)
    if plain is None:
        return None
    print(plain, flush=True)
    measured = json.loads(plain)
    with tempfile.TemporaryDirectory(prefix="wegwijzer-profile-") as profiles:
        profiled = run_child(users, path, synchronous, encrypt, "--profile-dir", profiles)
        if profiled is None:
            return None
        threads = [(os.path.join(profiles, "main.prof"), measured["cpu_main_us_per_update"])]
        if os.path.exists(os.path.join(profiles, "store.prof")):
            threads.append((os.path.join(profiles, "store.prof"), measured["cpu_store_us_per_update"]))
        rows = breakdown(threads, measured["cpu_other_us_per_update"])
    print(json.dumps({"breakdown": True, "path": path, "users": users,
                      "cpu_us_per_update": measured["cpu_us_per_update"],
                      "components_us": {name: round(us, 1) for name, us in rows}}, ensure_ascii=False), flush=True)
    return table(path, users, rows, measured["cpu_us_per_update"])


if __name__ == "__main__":
    sys.exit(main())
