"""The benchmark's PostgreSQL path keeps running: one and two bot processes on the bench's own cluster.

A tiny size, run as a person runs it (`python -m bench.run`, which starts and removes its own
PostgreSQL on 127.0.0.1); what is checked is that every conversation went through and the figures
are there, in the side-by-side table too. How fast it was is the benchmark's business, never
asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.peers import report

ROOT = Path(__file__).resolve().parent.parent
USERS = 10
FIGURES = ("updates_per_s", "p50_ms", "p99_ms", "cpu_us_per_update", "db_server_cpu_us_per_update",
           "db_bytes_per_conv", "rss_per_conv_kb", "startup_s")


def test_the_telegram_path_runs_on_postgresql_with_one_and_with_two_processes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--backend", "postgresql", "--procs", "1", "2", "--path", "telegram",
         "--users", str(USERS), "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    runs = {line["label"]: line for line in lines if "label" in line and not line.get("summary")}
    assert sorted(runs) == ["telegram-pg", "telegram-pg-x2"]
    for label, procs in (("telegram-pg", 1), ("telegram-pg-x2", 2)):
        run = runs[label]
        assert (run["backend"], run["procs"], run["users"]) == ("postgresql", procs, USERS)
        # every user got the workload's transcript, every call was made once, nothing left behind
        assert run["calls"] == {"sendMessage": 3 * USERS, "editMessageText": 2 * USERS,
                                "answerCallbackQuery": 3 * USERS}
        assert run["conversations_at_step3"] == USERS
        assert run["valid"], run
        for figure in FIGURES:
            assert isinstance(run[figure], int | float), figure

    table = report(USERS, runs, [])
    assert "| telegram-pg | yes, every turn, fsync |" in table
    assert "| telegram-pg-x2 | yes, every turn, fsync |" in table
    assert "Telegram path updates/s on PostgreSQL: two processes ÷ one" in table
