"""Features and services: what the core promises the desk, timers, privacy, moderation and the adapters."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.app import FEATURES, SCHEMA, build_core
from bot.core import Core
from bot.events import ConversationKey, Incoming, Schedule, Send, Text
from bot.features import NO_TABLES, ActionWriter, Feature, Hooks
from bot.schema import Tables
from bot.settings import Settings
from bot.store import Store
from bot.testing import CaptureOutlet
from tests.conftest import load_fixture_flows


class Recorder:
    """A service that notes when it starts and stops, and what the core owed at that moment."""

    def __init__(self, core: Core, said: list[str]) -> None:
        self.core, self.said = core, said

    async def start(self) -> None:
        self.said.append(f"start (owed loaded: {self.core.delivery.owed_loaded})")

    async def stop(self) -> None:
        self.said.append("stop")


class SecondTimers(Feature):
    tables: ClassVar[Tables] = NO_TABLES

    def writers(self) -> Mapping[type, ActionWriter]:
        return {Schedule: lambda db, incoming, action, turn: ()}


async def bot_core(tmp_path: Path) -> Core:
    return await build_core(Settings(_env_file=None, db=tmp_path / "db.sqlite3", watch_flows=False),  # type: ignore[call-arg]
                            load_fixture_flows())


async def test_the_bot_runs_the_desk_timers_privacy_and_moderation_as_features(tmp_path):
    core = await bot_core(tmp_path)
    try:
        assert [type(f).__name__ for f in core.features] == ["Moderation", "Timers", "SafetyDesk", "Privacy"]
        assert [kind.__name__ for kind in FEATURES] == ["Moderation", "Timers", "SafetyDesk", "Privacy"]
    finally:
        await core.store.close()


async def test_two_features_cannot_both_carry_out_one_action(tmp_path):
    core = await bot_core(tmp_path)
    try:
        with pytest.raises(ValueError, match="Schedule"):
            core.add(SecondTimers())
        assert not any(isinstance(f, SecondTimers) for f in core.features)
    finally:
        await core.store.close()


async def test_a_feature_added_twice_sees_each_turn_once(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3", schema=SCHEMA)
    core = Core(Settings(_env_file=None, db=tmp_path / "db.sqlite3", flood_per_minute=0),  # type: ignore[call-arg]
                store, load_fixture_flows())
    seen: list[str] = []
    watcher = Hooks(watch=lambda incoming, turn: seen.append(incoming.key.user))
    core.add(watcher)
    core.add(watcher)
    try:
        await core.handle(Incoming(ConversationKey("console", "anna", "anna"), Text("hallo"), update_id="u1"))
        assert seen == ["anna"]
    finally:
        await store.close()


async def test_an_intercepting_feature_answers_outside_the_flows_and_the_engine_never_runs(tmp_path):
    core = await bot_core(tmp_path)
    turns: list[Any] = []
    core.add(Hooks(watch=lambda incoming, turn: turns.append(turn)))

    async def pong() -> list[Send]:
        return [Send("pong")]

    core.add(Hooks(answer=lambda incoming: pong if incoming.event == Text("ping") else None), first=True)
    outlet = CaptureOutlet(platform="telegram")
    core.register(outlet)
    anna = ConversationKey("telegram", "anna", "anna")
    try:
        answer = await core.handle(Incoming(anna, Text("ping"), update_id="u1"))
        assert [a.text for a in answer or []] == ["pong"] == outlet.texts("anna")
        assert turns == []  # no turn: the conversation is untouched
        assert await core.store.state(str(anna)) is None
    finally:
        await core.store.close()


async def test_services_start_after_the_owed_replies_are_known_and_stop_before_the_core(tmp_path):
    core = await bot_core(tmp_path)
    said: list[str] = []
    core.services.append(Recorder(core, said))
    try:
        await core.start()
        await core.stop()
    finally:
        await core.store.close()
    assert said == ["start (owed loaded: True)", "stop"]
