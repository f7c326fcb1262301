"""A small flow set on disk and a real core around it, for the moderator-tool tests.

The flow set is written fresh into each test's tmp_path, so a test can edit,
break and reload it like a moderator would. Only the engine's own system
texts (locales/<lang>/system.yaml) and the answers to moderators
(moderation.yaml) are copied from the shipped locales: they are what the bot
says on its own (unknown command, flow changed, reloaded ...). The system
texts show numbers from the directory (`{{ d.alarm_112.phone }}`), so the
directory's crisis lines (flows/directory/crisis.yaml) and their card words
(locales/<lang>/directory.yaml) come along: a kit never types a number itself.
Shared by test_reload, test_stats_audit and test_scenarios_runner.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters.console import PLATFORM, parse_line
from bot.app import build_core
from bot.core import Core
from bot.settings import ROOT, Settings
from bot.testing import CaptureOutlet, ChatClient

MAIN_FLOW = """\
flow: main
title: kit.title
start: role
steps:
  role:
    choose: kit.role
    options:
      - id: parent
        label: kit.parent
        set: {role: parent}
        next: name
      - id: other
        label: kit.other
        set: {role: other}
        next: bye
  name:
    ask: kit.name
    type: text
    save: name
    next: thanks
  thanks:
    say: kit.thanks
    next: bye
  bye:
    end: kit.bye
"""

TEXTS = {
    "nl": """\
kit:
  title: Testmenu
  role: Wie ben jij?
  parent: Ouder of verzorger
  other: Iemand anders
  name: Hoe heet je?
  thanks: Dank je, {{ name }}.
  bye: Tot ziens.
""",
    "en": """\
kit:
  title: Test menu
  role: Who are you?
  parent: Parent or carer
  other: Someone else
  name: What is your name?
  thanks: Thank you, {{ name }}.
  bye: Goodbye.
""",
}


def _shipped(configured: Path, name: str) -> Path:
    return configured if configured.is_dir() else ROOT / name


def shipped_locales() -> Path:
    """The locales the bot ships (or the ones WEGWIJZER_LOCALES_DIR points at)."""
    return _shipped(Settings().locales_dir, "locales")


def shipped_flows() -> Path:
    """The flows the bot ships (or the ones WEGWIJZER_FLOWS_DIR points at), with flows/directory/."""
    return _shipped(Settings().flows_dir, "flows")


def write_flowset(root: Path) -> tuple[Path, Path]:
    """flows/main.yaml, flows/directory/crisis.yaml and locales/<lang>/{kit,system,moderation,directory}.yaml
    under root; returns (flows, locales)."""
    flows, locales = root / "flows", root / "locales"
    (flows / "directory").mkdir(parents=True)
    (flows / "main.yaml").write_text(MAIN_FLOW, encoding="utf-8")
    shutil.copy(shipped_flows() / "directory" / "crisis.yaml", flows / "directory" / "crisis.yaml")
    for lang, text in TEXTS.items():
        (locales / lang).mkdir(parents=True)
        (locales / lang / "kit.yaml").write_text(text, encoding="utf-8")
        for name in ("system.yaml", "moderation.yaml", "directory.yaml"):
            shutil.copy(shipped_locales() / lang / name, locales / lang / name)
    return flows, locales


def edit(path: Path, old: str, new: str) -> None:
    """Change a file the way a moderator's editor would."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@dataclass
class Bot:
    """A running core on the kit's flow set, talked to as console users."""

    core: Core
    outlet: CaptureOutlet
    root: Path
    client: ChatClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = ChatClient(self.core, self.outlet)

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def locales_dir(self) -> Path:
        return self.root / "locales"

    async def send(self, user: str, line: str, *, update_id: str | None = None) -> list[str]:
        """What `user` sees after typing `line`: every message's text, then its choices."""
        await self.client.send(user, parse_line(line), update_id=update_id)
        messages, _ = self.outlet.take()
        seen = []
        for message in messages:
            seen.append(message.text)
            seen += [f"[{c.label}]" for c in message.choices]
        return seen

    def text(self, key: str, lang: str = "nl", **variables: object) -> str:
        """A text as the running flow set renders it (so tests follow wording changes of system texts)."""
        return self.core.flows.render(lang, key, variables)

    async def close(self) -> None:
        await self.core.stop()
        await self.core.store.close()


async def start_bot(root: Path, *, moderators: tuple[str, ...] = ("console:mod",)) -> Bot:
    flows, locales = write_flowset(root)
    settings = Settings(db=root / "bot.sqlite3", flows_dir=flows, locales_dir=locales,
                        moderators=list(moderators), watch_flows=False)
    core = await build_core(settings)
    outlet = CaptureOutlet(platform=PLATFORM)
    core.register(outlet)
    return Bot(core, outlet, root)
