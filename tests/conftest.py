"""Shared fixtures: a database path, the fixture flow set and a fixed moment.

Kept small on purpose; other test files may import the constants below.
The fixture flow set (tests/fixtures/flows + tests/fixtures/locales) is
independent of the shipped content and uses every step kind at least once.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine import TurnContext
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from tests.postgres import Cluster, Database

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
FIXTURE_FLOWS = FIXTURES / "flows"
FIXTURE_LOCALES = FIXTURES / "locales"
#: The day every engine test lives on (a Sunday; 29 November 2026).
TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 10, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))


def load_fixture_flows(flows: Path = FIXTURE_FLOWS, locales: Path = FIXTURE_LOCALES) -> FlowSet:
    """The fixture flow set, loaded the way the bot loads its own."""
    return load_flowset(flows, locales, root=flows.parent, today=TODAY)


def bot_env(**extra: str) -> dict[str, str]:
    """Environment for `python -m bot ...` subprocesses: importable from anywhere, no WEGWIJZER_* leaks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEGWIJZER_")}
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


#: The interpreter of the venv running the tests (for subprocesses).
PYTHON = sys.executable


#: Lines the crisis tests want in the terminal summary (per-class figures), kept on the config.
CRISIS_REPORT = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def crisis_report(pytestconfig: pytest.Config) -> list[str]:
    """Append lines here: they are printed at the end of the run, in the normal `make test` output."""
    return pytestconfig.stash.setdefault(CRISIS_REPORT, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(CRISIS_REPORT, [])
    if lines:
        terminalreporter.section("crisis detector")
        for line in lines:
            terminalreporter.write_line(line)


class _Bugs(logging.Handler):
    """Collects what the core logs as a bug (the engine raised): the user got an apology, the test must fail."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("bug:"):
            self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_engine_bugs(request: pytest.FixtureRequest) -> Iterator[None]:
    """A bug in the engine surfaces in every test that goes through the core, not only as an apology.

    A test that provokes one on purpose says so with `@pytest.mark.engine_bug`."""
    bugs = _Bugs()
    logger = logging.getLogger("bot.core")
    logger.addHandler(bugs)
    try:
        yield
    finally:
        logger.removeHandler(bugs)
    if bugs.seen and request.node.get_closest_marker("engine_bug") is None:
        pytest.fail("the engine raised (a bug, logged by the core):\n" + "\n".join(bugs.seen))


@pytest.fixture(scope="session")
def flowset() -> FlowSet:
    return load_fixture_flows()


@pytest.fixture
def ctx() -> TurnContext:
    return TurnContext(today=TODAY, now=NOW, default_lang="nl")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wegwijzer.sqlite3"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL for the session (tests/postgres.py); started on first use."""
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_own_cluster() -> Iterator[Cluster]:
    """A PostgreSQL of one test's own, for a test that kills it (Cluster.kill, Cluster.resume): the
    session's cluster and every other test's database stay up."""
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """The store's database on each backend: a fresh SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return Database("sqlite", tmp_path / "wegwijzer.sqlite3")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return Database("postgresql", cluster.new_database())
