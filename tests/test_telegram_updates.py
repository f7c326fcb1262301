"""What each kind of Telegram update means to the core, and how long texts are cut.

Plain function calls on real Update objects (parsed by python-telegram-bot from
the JSON the fake server would send), no network.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.adapters.telegram import TEXT_KEYS, GroupCall, MessageRef, read_update, split_text, utf16_len
from bot.app import load_flows
from bot.events import Choice, Command, ConversationKey, Incoming, Text, Unsupported
from bot.settings import Settings
from tests.fakes.telegram_api import FakeTelegram

tg = FakeTelegram()  # used only to build updates exactly as the fake server sends them
BOT_ID = tg.bot_user["id"]
BOT = tg.bot_user["username"]
parent = tg.new_user("Ouder", language_code="nl-NL")
group = tg.new_group()


def read(update: dict[str, Any]) -> Incoming | GroupCall | None:
    return read_update(Update.de_json(update, None), BOT_ID, BOT)


def event_of(update: dict[str, Any]) -> object:
    found = read(update)
    assert isinstance(found, Incoming)
    return found.event


def test_a_private_text_becomes_text_with_the_conversation_key() -> None:
    update = tg.send_text(parent, "Mijn dochter is uit huis geplaatst")
    found = read(update)
    assert found == Incoming(
        key=ConversationKey("telegram", str(parent["id"]), str(parent["id"])),
        event=Text("Mijn dochter is uit huis geplaatst"),
        update_id=f"tg:{update['update_id']}",
        lang_hint="nl-NL",
    )


def test_commands_and_deep_links() -> None:
    assert event_of(tg.send_command(parent, "start", "termijn")) == Command("start", "termijn")
    assert event_of(tg.send_command(parent, "Hulp")) == Command("hulp", "")
    assert event_of(tg.send_command(parent, "start", addressed=True)) == Command("start", "")
    other_bot = {"type": "bot_command", "offset": 0, "length": 16}
    assert read(tg.send_text(parent, "/start@other_bot", entities=[other_bot])) is None
    assert event_of(tg.send_text(parent, "/start zonder entity")) == Text("/start zonder entity")


def test_a_button_press_carries_its_question_token_and_message() -> None:
    tg.send_text(parent, "hallo")
    question = tg._bot_message(  # what the bot sent earlier
        parent["id"],
        {
            "text": "Klopt dit?",
            "reply_markup": {"inline_keyboard": [[{"text": "Verder waar ik was", "callback_data": "_crisis:go:suicide"}]]},
        },
        {},
    )
    press = tg.press(parent, question["message_id"], "_crisis:go:suicide")
    found = read(press)
    assert isinstance(found, Incoming)
    # a token has no colon, a choice id may: the crisis buttons were read as ("suicide", "_crisis:go"), a
    # stale press, and "Verder waar ik was" or "Nee, ga verder" did nothing on Telegram (fixes32a)
    assert found.event == Choice("go:suicide", "_crisis")
    assert found.reply_to == MessageRef(parent["id"], question["message_id"], press["callback_query"]["id"])


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "location", "document", "video", "contact"])
def test_what_the_bot_cannot_read(kind: str) -> None:
    assert event_of(tg.send_media(parent, kind, caption="kijk" if kind == "photo" else None)) == Unsupported(kind)


def test_updates_that_are_not_a_turn() -> None:
    sent = tg.send_text(parent, "eerst zo")
    assert read(tg.edit_text(parent, sent["message"]["message_id"], "toch anders")) is None
    assert read({"update_id": 1, "channel_post": {**sent["message"], "chat": {"id": -100, "type": "channel"}}}) is None
    pinned = {**sent["message"], "pinned_message": {"message_id": 1, "date": 0, "chat": sent["message"]["chat"]}}
    del pinned["text"]
    assert read({"update_id": 2, "message": pinned}) is None


def test_in_a_group_only_being_addressed_counts_and_never_as_a_turn() -> None:
    assert read(tg.send_text(parent, "Weet iemand hoe dit zit?", chat=group)) is None
    mention = tg.mention(parent, group, "help")
    assert read(mention) == GroupCall(group["id"], mention["message"]["message_id"], "nl-NL")
    assert isinstance(read(tg.send_command(parent, "start", chat=group)), GroupCall)
    assert isinstance(read(tg.send_command(parent, "start", chat=group, addressed=True)), GroupCall)
    text_mention = {"type": "text_mention", "offset": 0, "length": 9, "user": tg.bot_user}
    assert isinstance(read(tg.send_text(parent, "Wegwijzer, hoi", chat=group, entities=[text_mention])), GroupCall)
    bot_post = tg._bot_message(group["id"], {"text": "Hallo groep"}, {})
    assert isinstance(read(tg.send_text(parent, "dank je", chat=group, reply_to=bot_post["message_id"])), GroupCall)


def test_short_texts_stay_whole() -> None:
    assert split_text("  Hallo\n\nDaar  ") == ["Hallo\n\nDaar"]
    assert split_text("   ") == []


def test_long_texts_are_cut_at_paragraphs_then_lines_then_words() -> None:
    paragraphs = ["a" * 60, "b" * 30, "c" * 30]
    assert split_text("\n\n".join(paragraphs), limit=100) == ["a" * 60 + "\n\n" + "b" * 30, "c" * 30]
    assert split_text("x" * 60 + "\n" + "y" * 60, limit=100) == ["x" * 60, "y" * 60]
    sixteen_words = " ".join(["woord"] * 16)  # 95 characters: a 17th does not fit in 100
    assert split_text("woord " * 40, limit=100) == [sixteen_words, sixteen_words, " ".join(["woord"] * 8)]


def test_the_limit_counts_utf16_like_telegram_and_never_cuts_an_emoji_in_half() -> None:
    text = "\U0001f600" * 150  # 300 UTF-16 units, no spaces
    chunks = split_text(text, limit=101)
    assert "".join(chunks) == text
    assert all(utf16_len(c) <= 101 for c in chunks)
    assert [utf16_len(c) for c in chunks] == [100, 100, 100]


def test_every_text_telegram_shows_exists_in_every_language() -> None:
    locales = load_flows(Settings(_env_file=None)).locales  # type: ignore[call-arg]
    missing = [(lang, key) for lang in locales.languages for key in TEXT_KEYS if not locales.has(lang, key)]
    assert missing == []
