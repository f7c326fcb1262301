"""One root for the bot's errors; a bug is a bug, not an apology and a restart.

Before (issue 15), the engine caught `KeyError` along with its own errors: a card missing for
a language, a real bug, became "Sorry, let's start again" and the user lost their place,
and no test noticed. Now the engine answers only its own errors (`TurnError`) and failing
templates; a bug raises. A plain engine call shows it at once; through the core the user gets
an apology and keeps their place, and the log says "bug" with the code path but without the
exception's message, which may quote what the user typed.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from pathlib import Path

import pytest

import bot
from bot.adapters.console import PLATFORM
from bot.app import SCHEMA
from bot.core import Core
from bot.engine import handle
from bot.errors import ContentError, ProblemKind, TurnError, WegwijzerError
from bot.events import Choice, Command, ConversationKey, Incoming, Text
from bot.settings import Settings
from bot.store import Store
from bot.testing import CaptureOutlet
from tests.conftest import load_fixture_flows
from tests.test_engine import MENU, WELCOME, Chat, at_menu

#: A card the fixture's `lines` step shows.
CARD = "fixture_line"


def defined_exceptions() -> list[type[BaseException]]:
    """Every exception class a module of `bot` defines (a module needing a missing extra is skipped)."""
    found = []
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        found += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                  if cls.__module__ == info.name and issubclass(cls, BaseException)]
    return found


def test_every_error_the_bot_defines_has_the_one_root_and_a_kind() -> None:
    found = defined_exceptions()
    assert len(found) >= 17, [cls.__qualname__ for cls in found]
    strays = [f"{cls.__module__}.{cls.__qualname__}" for cls in found if not issubclass(cls, WegwijzerError)]
    assert strays == []
    assert all(isinstance(cls.kind, ProblemKind) for cls in found if cls is not WegwijzerError)


def test_the_names_stay_importable_where_they_are_used() -> None:
    from bot.budget import BudgetExceeded
    from bot.directory import DirectoryError
    from bot.engine import FlowError
    from bot.expressions import ExpressionError
    from bot.flows.problems import FlowSetInvalid

    assert issubclass(FlowError, TurnError) and issubclass(ExpressionError, TurnError)
    assert issubclass(BudgetExceeded, TurnError)
    assert issubclass(ExpressionError, ValueError)  # callers that catch ValueError still do
    assert issubclass(FlowSetInvalid, ContentError) and issubclass(DirectoryError, ContentError)


def test_a_bug_in_the_engine_raises_instead_of_an_apology_and_a_restart(ctx) -> None:
    fs = load_fixture_flows()
    del fs.cards[CARD]["nl"]  # the bug of issue 15: a card missing for the user's language
    chat = Chat(fs, ctx)
    at_menu(chat)
    with pytest.raises(KeyError):
        handle(fs, chat.state, Choice("lines", "menu"), ctx)


@pytest.mark.engine_bug
async def test_through_the_core_a_bug_is_logged_and_the_user_keeps_their_place(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fs = load_fixture_flows()
    del fs.cards[CARD]["nl"]
    db = tmp_path / "wegwijzer.sqlite3"
    core = Core(Settings(_env_file=None, db=db), await Store.open(db, schema=SCHEMA), fs)  # type: ignore[call-arg]
    outlet = CaptureOutlet(platform=PLATFORM)
    core.register(outlet)
    key = ConversationKey("console", "anna", "anna")

    async def say(event: Command | Choice | Text, update: str) -> list[str]:
        await core.handle(Incoming(key, event, update))
        return [m.text for m in outlet.take()[0]]

    try:
        assert await say(Command("start"), "u1") == [WELCOME, MENU]
        with caplog.at_level(logging.ERROR, logger="bot.core"):
            said = await say(Choice("lines", "menu"), "u2")
        assert said == [fs.render("nl", "sys.bug", {})]
        [logged] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("bug:")]
        assert "at main.menu on a Choice" in logged and "builtins.KeyError" in logged
        assert "'nl'" not in logged  # the exception's message is left out: it may quote a user
        # the conversation is where it was: the menu's buttons still work
        assert (await say(Choice("letter", "menu"), "u3"))[0] != fs.render("nl", "sys.bug", {})
        assert await core.store.pending_outbox() == []
    finally:
        await core.store.close()
