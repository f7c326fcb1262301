"""The benchmark on PostgreSQL (`python -m bench.run --backend postgresql --procs 1 2`).

Why it looks like this:
- **Its own cluster.** The bench starts a throwaway PostgreSQL on 127.0.0.1 (the tests' way,
  tests/postgres.py: `initdb` in a temporary folder, `pg_ctl`), but with PostgreSQL's default
  durability (fsync on, `synchronous_commit` on: every turn's commit is on disk before its reply,
  as a deployment runs it), and removes it at the end. Each run gets a fresh database.
- **One or more real bot processes.** On the Telegram path each is a webhook worker as on
  `main` (its inbox and the conversation lock every worker on one PostgreSQL shares with its
  deliveries, `TelegramAdapter.open_inbox`), fed what the webhook server hands on for each POST
  (`_receive`) without the HTTP; the core path calls `Core.handle` as on SQLite, without that
  shared lock. Every run, also with one process, is driven from here:
  each process (`bench.run --one --db-url ... --part j --procs N`) takes the users i with
  i % N == j, with update ids of its own, and waits at a barrier (a line on stdout, "go" on
  stdin) before each round, so all processes run round k together as one process would, and
  nothing is measured while the database is read between rounds. The processes split the users
  as a front that routes each chat to one worker would (the workers' shared lock and inbox cost
  the same whichever worker a chat's update reaches; a round-robin front would also need the
  fake Bot API's message ids shared between processes).
- **What only the driver can see:** the database's size (`pg_database_size`) and rows at step 3
  and at the end, and the CPU time of the PostgreSQL server's processes, which on SQLite is part
  of the bot's own CPU and here is not: reported apart (`db_server_cpu_us_per_update`).
- The throughput of N processes is the sum of their updates over the sum of the rounds' wall
  time (a round lasts until its slowest process is done); p50/p99 over every process's turns.

Never asserts a time; network only to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bench.workload import STEPS
from tests.postgres import Cluster

ROOT = Path(__file__).resolve().parent.parent


class BenchCluster(Cluster):
    """The tests' throwaway cluster with PostgreSQL's default durability (fsync on every commit)."""

    SERVER_OPTIONS = "-c max_connections=50"

    def postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])


@contextlib.contextmanager
def cluster() -> Iterator[BenchCluster]:
    """A running cluster for one sitting, removed at the end (also when a run fails)."""
    try:
        running = BenchCluster().start()
    except BaseException as exc:  # tests.postgres says what is missing with pytest's Failed
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise SystemExit(f"bench: could not start PostgreSQL: {exc}") from None
    try:
        yield running
    finally:
        running.stop()


def server_cpu_s(postmaster: int) -> float:
    """CPU seconds of the server: the postmaster, its running children and the children it reaped."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        pid, parent = int(entry), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif parent == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _read(url: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def _next_line(child: subprocess.Popen[str]) -> dict[str, Any] | None:
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("{"):
            found: dict[str, Any] = json.loads(line)
            return found
    return None


def run(running: BenchCluster, users: int, path: str, procs: int, encrypt: bool) -> dict[str, Any] | None:
    """One run with `procs` bot processes on a fresh database; the merged metrics, or None when one crashed."""
    url = running.new_database()
    postmaster = running.postmaster()
    with tempfile.TemporaryDirectory(prefix="wegwijzer-bench-pg-") as tmp:
        logs: list[IO[str]] = []
        children = []
        for part in range(procs):
            log = open(os.path.join(tmp, f"{part}.log"), "w+")  # noqa: SIM115 (closed below)
            logs.append(log)
            children.append(subprocess.Popen(
                [sys.executable, "-m", "bench.run", "--one", "--users", str(users), "--path", path,
                 "--db-url", url, "--part", str(part), "--procs", str(procs),
                 "--latencies", os.path.join(tmp, f"{part}.latencies"), *(["--encrypt"] if encrypt else [])],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True))
        measured: dict[str, Any] = {}
        try:
            for barrier in [f"round{k}" for k in range(1, STEPS + 1)] + ["done"]:
                lines = [_next_line(child) for child in children]
                if any(line is None or line.get("barrier") != barrier for line in lines):
                    return None
                if barrier == "round1":
                    measured["db_base"] = _read(url, "SELECT pg_database_size(current_database())")
                    measured["server_cpu"] = server_cpu_s(postmaster)
                elif barrier == "round4":  # every conversation parked, waiting for the free text
                    measured["db_step3"] = _read(url, "SELECT pg_database_size(current_database())")
                    measured["parked"] = _read(url, "SELECT count(*) FROM conversations")
                elif barrier == "done":
                    measured["server_cpu"] = server_cpu_s(postmaster) - measured["server_cpu"]
                    measured["open_after"] = _read(url, "SELECT count(*) FROM conversations")
                    measured["queued_after"] = _read(url, "SELECT count(*) FROM outbox")
                    measured["inbox_after"] = _read(url, "SELECT count(*) FROM inbox")  # webhook updates not handled
                for child in children:
                    assert child.stdin is not None
                    child.stdin.write("go\n")
                    child.stdin.flush()
            results = [_next_line(child) for child in children]
            for child in children:
                child.wait(timeout=120)
            if any(r is None for r in results) or any(child.returncode for child in children):
                return None
            latencies = array("d")
            for part in range(procs):
                with open(os.path.join(tmp, f"{part}.latencies"), "rb") as saved:
                    latencies.frombytes(saved.read())
            return merge([r for r in results if r is not None], latencies, measured, users)
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            for log in logs:
                if any(child.returncode for child in children):
                    log.seek(0)
                    sys.stderr.write(log.read()[-3000:])
                log.close()


def merge(results: list[dict[str, Any]], latencies: array[float], measured: dict[str, Any],
          users: int) -> dict[str, Any]:
    """The processes' lines as one run's line: totals, not averages of averages."""
    from bench.run import _nearest_rank

    first = results[0]
    updates = STEPS * users
    rounds = [max(r["round_s"][k] for r in results) for k in range(STEPS)]
    ordered = sorted(latencies)

    def per_update(field: str) -> float:  # each process's figure is over its own updates
        return round(sum(r[field] * r["updates"] for r in results) / updates, 1)

    parked = measured["parked"]
    state_cleared_ok = parked == users and measured["open_after"] == measured["queued_after"] == measured["inbox_after"] == 0
    calls = {method: sum(r["calls"][method] for r in results) for method in first["calls"]}
    merged = {
        **first,
        "procs": len(results),
        "users": users,
        "updates": updates,
        "updates_per_s": round(updates / sum(rounds), 1),
        "busy_updates_per_s": round(updates / sum(latencies), 1),
        "p50_ms": round(_nearest_rank(ordered, 50) * 1000, 3),
        "p90_ms": round(_nearest_rank(ordered, 90) * 1000, 3),
        "p99_ms": round(_nearest_rank(ordered, 99) * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "cpu_us_per_update": per_update("cpu_us_per_update"),
        "cpu_main_us_per_update": per_update("cpu_main_us_per_update"),
        "cpu_store_us_per_update": per_update("cpu_store_us_per_update"),
        "cpu_other_us_per_update": per_update("cpu_other_us_per_update"),
        "db_server_cpu_us_per_update": round(measured["server_cpu"] / updates * 1e6, 1),
        "db_statements_per_update": round(sum(r.get("db_statements_per_update", 0) * r["updates"] for r in results)
                                          / updates, 2),
        "db_round_trips_per_update": round(sum(r.get("db_round_trips_per_update", 0) * r["updates"] for r in results)
                                           / updates, 2),
        "rss_base_mb": round(sum(r["rss_base_mb"] for r in results), 2),
        "rss_step3_mb": round(sum(r["rss_step3_mb"] for r in results), 2),
        "rss_per_conv_kb": round(sum(r["rss_step3_mb"] - r["rss_base_mb"] for r in results) * 1024 / users, 3),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),  # of one process
        "db_bytes_per_conv": round((measured["db_step3"] - measured["db_base"]) / users, 1),
        "db_file_bytes_step3": measured["db_step3"],
        "startup_s": max(r["startup_s"] for r in results),
        "calls": calls,
        "calls_ok": all(r["calls_ok"] for r in results),
        "transcripts_ok": all(r["transcripts_ok"] for r in results),
        "state_cleared_ok": state_cleared_ok,
        "conversations_at_step3": parked,
        "round_s": [round(s, 4) for s in rounds],
        "loadavg_1m": max(r["loadavg_1m"] for r in results),
    }
    merged["valid"] = merged["calls_ok"] and merged["transcripts_ok"] and state_cleared_ok
    return merged
