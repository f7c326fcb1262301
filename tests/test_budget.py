"""A moderator's runaway template or expression ends in an apology, not a stalled bot.

Both pass `check` (with sample answers they stay small) and only run away on
what one user types. Before, a loop like this held the store's one thread:
nobody else was answered and "stop" hung. Now the render or evaluation goes
over its budget, that user gets the engine's apology, and everyone, that user
included, is answered as usual afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.console import PLATFORM
from bot.app import build_core
from bot.settings import Settings
from bot.testing import CaptureOutlet
from tests.moderation_kit import Bot, edit, write_flowset

pytestmark = pytest.mark.asyncio

#: Two loops as long as the number the user typed: 10,000,000,000 turns for "100000".
LOOPS = "Dank je{% for i in range(name|int) %}{% for j in range(name|int) %}.{% endfor %}{% endfor %}"
#: Every "a" in the name replaced by the whole name, twice: 1 GB for 1,000 a's.
REPLACES = "name.replace('a', name).replace('a', name)"


async def running(root: Path) -> Bot:
    settings = Settings(db=root / "bot.sqlite3", flows_dir=root / "flows", locales_dir=root / "locales",
                        watch_flows=False)
    core = await build_core(settings)  # loads and checks the set: it passes
    outlet = CaptureOutlet(platform=PLATFORM)
    core.register(outlet)
    return Bot(core, outlet, root)


@pytest.fixture
async def looping(tmp_path: Path) -> AsyncIterator[Bot]:
    write_flowset(tmp_path)
    edit(tmp_path / "locales" / "nl" / "kit.yaml", "thanks: Dank je, {{ name }}.", f"thanks: '{LOOPS}'")
    bot = await running(tmp_path)
    yield bot
    await bot.close()


@pytest.fixture
async def replacing(tmp_path: Path) -> AsyncIterator[Bot]:
    write_flowset(tmp_path)
    edit(tmp_path / "flows" / "main.yaml", "    save: name\n    next: thanks\n",
         f"    save: name\n    next: shout\n  shout:\n    compute:\n      shout: \"{REPLACES}\"\n    next: thanks\n")
    bot = await running(tmp_path)
    yield bot
    await bot.close()


async def test_a_template_that_loops_on_what_a_user_typed_gets_the_apology(looping: Bot) -> None:
    await looping.send("parent", "/start")
    await looping.send("parent", "1")  # parent: "Hoe heet je?"
    said = await looping.send("parent", "100000")
    assert said[0] == looping.text("sys.error")
    # another user, and the same one, are answered as usual
    assert "Wie ben jij?" in await looping.send("other", "/start")
    assert "Wie ben jij?" in " ".join(await looping.send("parent", "/start"))
    assert "Wil je stoppen?" in " ".join(await looping.send("parent", "stop"))


async def test_an_expression_that_grows_with_what_a_user_typed_gets_the_apology(replacing: Bot) -> None:
    await replacing.send("parent", "/start")
    await replacing.send("parent", "1")
    said = await replacing.send("parent", "a" * 1000)  # the longest answer this question takes
    assert said[0] == replacing.text("sys.error")
    assert "Wie ben jij?" in await replacing.send("other", "/start")
    # a name without an "a" goes through the same expression as before
    assert await replacing.send("parent", "/start") and await replacing.send("parent", "1")
    assert await replacing.send("parent", "Jos") == ["Dank je, Jos.", "Tot ziens."]


async def test_ordinary_templates_and_expressions_are_not_refused() -> None:
    """The budget refuses runaway growth, not large numbers, short loops or a plain replace."""
    from bot.expressions import BASE_FUNCTIONS, evaluate, parse
    from bot.texts import ENV, render_bounded

    text = "{% for i in range(3) %}{{ i }}{% endfor %} {{ '%d' % amount }} {{ name|replace('a', 'e')|upper }}"
    assert render_bounded(ENV.from_string(text), {"amount": 150000, "name": "Jan"}) == "012 150000 JEN"
    assert evaluate(parse("str(amount) + lower(name).replace('a', 'e')"), {"amount": 150000, "name": "Jan"},
                    BASE_FUNCTIONS) == "150000jen"
