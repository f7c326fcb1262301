"""The peers beside the bot, in one run (`python -m bench.run --peers`).

Absolute figures drift by 30 % or more between days on a shared machine, so a figure of
the bot is only compared with a peer's from the same sitting: this runs the peers of
`../shared/bench/peers/` (python-telegram-bot without persistence, aiogram with memory
storage, aiogram with Redis when a `redis-server` can be started) interleaved with the
bot's own paths, and prints the ratios the speed issue asks for.

The peers' libraries (aiogram, redis) go into a venv of their own under `.cache/`, made
from the peers' pinned `requirements.txt`, never into the product's dependencies.
Redis is started on 127.0.0.1 only, with the settings of WORKLOAD.md §5 (AOF everysec,
no snapshots), in a temporary folder, and stopped by its process id at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: (label, script, persistence): the peers measured beside the bot
PEERS: list[tuple[str, str, str]] = [
    ("ptb-none", "ptb_flow.py", "none"),
    ("aiogram-memory", "aiogram_flow.py", "memory"),
    ("aiogram-redis", "aiogram_flow.py", "redis"),
]
REDIS_PORT = 6399


def peers_dir() -> Path | None:
    """WEGWIJZER_BENCH_PEERS, else `shared/bench/peers` beside the checkout (or beside its parent)."""
    configured = os.environ.get("WEGWIJZER_BENCH_PEERS")
    candidates = [Path(configured)] if configured else [
        ROOT.parent / "shared" / "bench" / "peers", ROOT.parent.parent / "shared" / "bench" / "peers"]
    return next((path for path in candidates if (path / "ptb_flow.py").exists()), None)


def peers_python(peers: Path) -> Path:
    """The peers' own venv (made once, pinned by their requirements.txt)."""
    home = ROOT / ".cache" / "bench-peers-venv"
    python = home / "bin" / "python"
    stamp = home / ".installed"
    requirements = peers / "requirements.txt"
    if not stamp.exists() or stamp.read_text() != requirements.read_text():
        venv.create(home, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True)
        stamp.write_text(requirements.read_text())
    return python


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(port: int = REDIS_PORT) -> Iterator[int | None]:
    """A throw-away redis-server on 127.0.0.1 (its pid), or None when there is none to start."""
    binary = shutil.which("redis-server")
    if binary is None or _ping(port):  # none installed, or the port is taken by someone else's
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="wegwijzer-redis-") as folder:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", folder, "--appendonly", "yes",
             "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes", "--daemonize", "no",
             "--logfile", os.path.join(folder, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(50):
                if _ping(port):
                    break
                time.sleep(0.1)
            yield process.pid if _ping(port) else None
        finally:
            process.terminate()
            process.wait(timeout=10)


def run_peer(python: Path, peers: Path, script: str, persistence: str, users: int,
             redis_pid: int | None) -> dict[str, Any] | None:
    """One peer run in a fresh process: its JSON line."""
    extra = ["--redis-url", f"redis://127.0.0.1:{REDIS_PORT}/0", "--redis-pid", str(redis_pid)] \
        if persistence == "redis" else []
    done = subprocess.run([str(python), script, "--users", str(users), "--persistence", persistence, *extra],
                          cwd=peers, capture_output=True, text=True, check=False)
    line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not line.startswith("{"):
        sys.stderr.write(done.stderr[-2000:])
        return None
    result: dict[str, Any] = json.loads(line)
    return result


def ratios(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, float | None]]:
    """(what, target, ratio) from one sitting's medians."""
    def value(label: str, metric: str) -> float | None:
        found = results.get(label, {}).get(metric)
        return float(found) if found else None

    def over(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    tg = value("telegram", "updates_per_s")
    found = [
        ("Telegram path updates/s ÷ PTB (no persistence)", "≥ 0.6", over(tg, value("ptb-none", "updates_per_s"))),
        ("Telegram path updates/s ÷ aiogram + Redis", "≥ 2", over(tg, value("aiogram-redis", "updates_per_s"))),
        ("Telegram path updates/s ÷ aiogram (memory)", "–", over(tg, value("aiogram-memory", "updates_per_s"))),
        ("core path CPU/update ÷ ptb-floor CPU/update", "≤ 0.4",
         over(value("core", "cpu_us_per_update"), value("ptb-floor", "cpu_us_per_update"))),
        ("Telegram path p99 ÷ PTB p99", "≤ 1.5", over(value("telegram", "p99_ms"), value("ptb-none", "p99_ms"))),
        ("Telegram path start-up ÷ ptb-floor start-up", "–",
         over(value("telegram", "startup_s"), value("ptb-floor", "startup_s"))),
    ]
    for path, name in (("telegram", "Telegram path"), ("core", "core path")):  # PostgreSQL, when it ran
        one, two = value(f"{path}-pg", "updates_per_s"), value(f"{path}-pg-x2", "updates_per_s")
        found += [(f"{name} updates/s: PostgreSQL ÷ SQLite", "–", over(one, value(path, "updates_per_s"))),
                  (f"{name} updates/s on PostgreSQL: two processes ÷ one", "–", over(two, one)),
                  (f"{name} p99: PostgreSQL ÷ SQLite", "–",
                   over(value(f"{path}-pg", "p99_ms"), value(path, "p99_ms")))] if one else []
    return found


def report(users: int, results: dict[str, dict[str, Any]], notes: list[str]) -> str:
    """The side-by-side table (medians) and the ratios, as Markdown."""
    lines = [f"Side by side, U={users:,} (one sitting; medians of the runs of each)", "",
             "| system | durable per update | updates/s | p50 ms | p99 ms | CPU µs/update | + database server "
             "µs/update | DB B/conv | start-up s | valid |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    durable = {"telegram": "yes, every turn", "core": "yes, every turn", "ptb-floor": "–",
               "ptb-none": "no", "aiogram-memory": "no", "aiogram-redis": "about 1 s (AOF everysec)"}

    def figure(value: object) -> str:
        return f"{value:,.0f}" if isinstance(value, int | float) and value else "–"

    for label, result in results.items():
        valid = result.get("valid", result.get("calls_ok") and result.get("transcripts_ok"))
        on_disk = "yes, every turn, fsync" if "-pg" in label else durable.get(label, "")
        lines.append(f"| {label} | {on_disk} | {result['updates_per_s']:,.0f} | "
                     f"{result['p50_ms']:.2f} | {result['p99_ms']:.2f} | {figure(result.get('cpu_us_per_update'))} | "
                     f"{figure(result.get('db_server_cpu_us_per_update'))} | "
                     f"{figure(result.get('db_bytes_per_conv'))} | "
                     f"{result.get('startup_s', 0):.2f} | {'yes' if valid else 'NO'} |")
    lines += ["", "| ratio | target | this run |", "|---|---|---:|"]
    lines += [f"| {what} | {target} | {'–' if ratio is None else f'{ratio:.2f}'} |"
              for what, target, ratio in ratios(results)]
    lines += [f"\nNote: {note}" for note in notes]
    return "\n".join(lines)
