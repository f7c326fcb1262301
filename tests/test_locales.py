"""Which language a reply is in: one rule for the engine, the core, the desk, moderation and the adapters."""

from __future__ import annotations

from pathlib import Path

from bot.texts import load_locales

ROOT = Path(__file__).resolve().parent.parent


def test_the_first_language_we_have_texts_for_wins() -> None:
    locales, problems = load_locales(ROOT / "locales", ROOT)
    assert problems == []
    assert locales.pick("en", "nl") == "en"
    assert locales.pick("en-GB", "nl") == "en"  # an app's region is ignored
    assert locales.pick("EN") == "en"
    assert locales.pick(None, "de", "nl") == "nl"  # no German texts: the next candidate
    assert locales.pick("de", None) == "en"  # nothing fits: the first language there is
    assert locales.pick() == "en"
