"""Where the CPU time per update goes, by component (`python -m bench.run --breakdown`).

Why it is built this way:

- **Per thread, CPU time.** A turn runs on up to two threads: the event loop (PTB, the
  adapter, the core, and on SQLite the transaction too whenever the write lock is free at once)
  and the store's worker thread (the transaction, with the engine, the crisis check and the
  state's encoding inside it, when it had to wait for the lock; PostgreSQL always). cProfile
  only sees the thread that enabled it, so each of the two gets its own profiler, both timed
  with `time.thread_time`: waiting (the loop idle while the store works, the worker idle between
  turns) costs nothing, and other processes on a loaded machine do not show up as our time.
- **Self time, charged to a component by where the code lives** (`COMPONENTS`: first
  match of the file path, then of `file:function`). Code that belongs to nobody in
  particular (built-ins such as `json.dumps`, `re`, SQLite's `execute`; the standard
  library's json, copy, enum, dataclasses, typing) is "neutral": its self time is charged to whoever called it, split by how much
  of it each caller caused (cProfile keeps that per caller). So `json.dumps` called from
  `State.to_json` counts as state encoding, and the same built-in called by PTB counts as PTB.
- **Scaled to an unprofiled run.** A profiler slows small Python calls far more than C
  code, so shares from the profiled run are scaled to the CPU time per update that each
  thread used in a separate run of the same configuration without the profiler. The
  µs column is an estimate, the shares are the finding; the threads' totals are measured.
  What runs on neither thread (SQLite's WAL checkpointer) is one row of its own.
"""

from __future__ import annotations

import pstats
from collections.abc import Iterable
from typing import Any

#: (component, patterns): a function belongs to the first component one of whose patterns
#: occurs in "file:function" (file with forward slashes). Order matters: specific first.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("benchmark driver and fake Bot API (not the product)", ("/bench/",)),
    ("crisis check", ("/bot/crisis",)),
    ("state encoding (State to/from JSON, copy)", ("/bot/state.py",)),
    ("store: outbox payloads (encode/decode)", ("/bot/core/outbox.py",)),
    ("store: ack (drop delivered replies)", ("/bot/store.py:ack", "/bot/store.py:write")),
    ("store: thread hop (queue, wake-up)", ("/bot/store.py:_call", "/bot/store.py:bound",
                                           "/bot/store.py:_write", "/bot/store.py:execute",
                                           "/bot/store.py:call", "/bot/store.py:_run",
                                           "/bot/store.py:_resolve", "/bot/store.py:_reject",
                                           "/bot/store_thread.py:call", "/bot/store_thread.py:_run",
                                           "/bot/store_thread.py:_resolve", "/bot/store_thread.py:_reject",
                                           "/bot/store_sqlite.py:call", "/bot/store_sqlite.py:bound",
                                           "/queue.py", "/threading.py",
                                           "/concurrent/", "/asyncio/futures.py",
                                           "_read_from_self", "_write_to_self",
                                           "call_soon_threadsafe")),
    ("store: transactions (SQL, BEGIN/COMMIT of turn and ack, codec)", ("/bot/store", "/bot/crypto.py",
                                                                        "sqlite3/", "/psycopg")),
    ("engine: templates (Jinja, texts)", ("/bot/texts.py", "/jinja2/", "/markupsafe/", "/bot/dates.py")),
    ("engine: steps (flows, expressions, events)", ("/bot/engine/", "/bot/flows/", "/bot/expressions.py",
                                                    "/bot/events.py", "/bot/directory.py",
                                                    "/bot/municipalities.py", "/bot/graph.py")),
    ("core (locks, flood check, hooks, turn)", ("/bot/core/", "/bot/flood.py", "/bot/clock.py",
                                                "/asyncio/locks.py", "/bot/privacy.py", "/bot/desk",
                                                "/bot/timers.py", "/bot/moderation.py", "/bot/audit.py")),
    ("adapter (lanes, limiter, keyboards, splitting, retries)", ("/bot/adapters/", "/tenacity/",
                                                                 "/aiolimiter/", "/html/")),
    ("PTB: parsing and serialising (Update.de_json, Bot API calls)", ("/telegram/",)),
    ("event loop (asyncio tasks, callbacks, selector)", ("/asyncio/", "/selectors.py")),
]

#: Code whose self time is charged to its callers (see the module docstring).
NEUTRAL: tuple[str, ...] = (
    "~:", "/json/", "/re/", "/re.py", "/sre_", "/copy.py", "/enum.py", "/dataclasses.py", "/typing.py",
    "/functools.py", "/abc.py", "/contextlib.py", "/datetime.py", "/zoneinfo/", "/unicodedata",
    "/collections/", "/weakref.py", "/_weakrefset.py", "/base64.py", "/hashlib.py", "/hmac.py",
)

OTHER = "other"
OTHER_THREADS = "other threads (SQLite WAL checkpointer)"

Func = tuple[str, int, str]


def _label(func: Func) -> str:
    file, _line, name = func
    return f"{file.replace(chr(92), '/')}:{name}"


def _own_component(label: str) -> str | None:
    if any(pattern in label for pattern in NEUTRAL):
        return None
    for component, patterns in COMPONENTS:
        if any(pattern in label for pattern in patterns):
            return component
    return OTHER


def attribute(stats: pstats.Stats) -> dict[str, float]:
    """Seconds of self time per component (neutral code charged to its callers)."""
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    shares: dict[Func, dict[str, float]] = {}

    def share_of(func: Func, seen: frozenset[Func]) -> dict[str, float]:
        """Which components `func`'s self time belongs to, as fractions."""
        if func in shares:
            return shares[func]
        own = _own_component(_label(func))
        if own is not None:
            result = {own: 1.0}
        else:
            callers = table[func][4] if func in table else {}
            weights = {caller: info[2] for caller, info in callers.items() if caller not in seen}
            total = sum(weights.values())
            if not weights or total <= 0:
                weights = {caller: float(info[0]) for caller, info in callers.items() if caller not in seen}
                total = sum(weights.values())
            result = {}
            if total <= 0:
                result = {OTHER: 1.0}
            else:
                for caller, weight in weights.items():
                    for component, fraction in share_of(caller, seen | {func}).items():
                        result[component] = result.get(component, 0.0) + fraction * weight / total
        if not seen:
            shares[func] = result
        return result

    seconds: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, _callers) in table.items():
        for component, fraction in share_of(func, frozenset()).items():
            seconds[component] = seconds.get(component, 0.0) + tt * fraction
    return seconds


def breakdown(profiles: Iterable[tuple[str, float]], other_us: float) -> list[tuple[str, float]]:
    """(component, µs per update): each thread's profile scaled to that thread's measured CPU.

    `profiles` gives (cProfile dump, measured µs per update of that thread, unprofiled).
    """
    rows: dict[str, float] = {}
    for path, measured_us in profiles:
        seconds = attribute(pstats.Stats(path))
        total = sum(seconds.values())
        if total <= 0:
            continue
        for component, value in seconds.items():
            rows[component] = rows.get(component, 0.0) + measured_us * value / total
    if other_us > 0:
        rows[OTHER_THREADS] = other_us
    order = [name for name, _ in COMPONENTS] + [OTHER, OTHER_THREADS]
    return [(name, rows[name]) for name in order if name in rows]


def table(path: str, users: int, rows: list[tuple[str, float]], cpu_us: float) -> str:
    """A Markdown table: component, µs per update, share of the process's CPU."""
    total = sum(us for _, us in rows) or 1.0
    lines = [f"{path} path, U={users:,}: {cpu_us:,.0f} µs CPU per update (unprofiled run)", "",
             "| component | µs/update | share |", "|---|---:|---:|"]
    lines += [f"| {name} | {us:,.0f} | {us / total * 100:.1f} % |" for name, us in rows]
    return "\n".join(lines)
