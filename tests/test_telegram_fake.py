"""The fake Bot API server answers the real python-telegram-bot as Telegram would.

These checks keep the fake honest: if it accepted what Telegram refuses (an
unescaped "<", a 65-byte callback_data) the adapter tests would prove nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, Message
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram.error import BadRequest, Conflict, RetryAfter

from tests.fakes.telegram_api import TOKEN, FakeTelegram, render_html


@pytest_asyncio.fixture
async def tg_bot() -> AsyncIterator[tuple[FakeTelegram, Bot]]:
    async with FakeTelegram() as tg:
        bot = Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url)
        async with bot:
            yield tg, bot


def test_html_is_rendered_and_checked_like_telegram() -> None:
    assert render_html("  a &lt;b&gt; <b>vet</b> &amp; & x ") == (
        "a <b> vet & & x",
        [{"type": "bold", "offset": 6, "length": 3}],
    )
    for bad in ("a < b", "<blink>x</blink>", "<b>x</i>", "<b>open"):
        with pytest.raises(Exception, match="can't parse entities"):
            render_html(bad)


@pytest.mark.asyncio
async def test_text_fields_stay_strings_and_deep_link_arrives(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    user = tg.new_user("Anna", language_code="en")
    tg.send_command(user, "start", "inspreken")
    (update,) = await bot.get_updates(timeout=1)
    assert update.message is not None and update.message.text == "/start inspreken"
    assert update.effective_user is not None and update.effective_user.language_code == "en"

    sent = await bot.send_message(user["id"], "123")  # "123" must not turn into an int
    assert sent.text == "123" and sent.message_id == 2  # ids are per chat, shared with the user
    assert [s.text for s in tg.transcript(user)] == ["123"]


@pytest.mark.asyncio
async def test_buttons_edits_and_callback_answers(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    user = tg.new_user()
    first = tg.send_text(user, "hallo")
    keyboard = Keyboard([[Button("Ja", callback_data="t1:yes")], [Button("Nee", callback_data="t1:no")]])
    question = await bot.send_message(user["id"], "Klopt <b>dit</b>?", parse_mode="HTML", reply_markup=keyboard)
    tg.press(user, question.message_id, label="Nee")
    updates = await bot.get_updates(offset=first["update_id"] + 1, timeout=1)
    query = updates[0].callback_query
    assert query is not None and query.data == "t1:no"
    assert isinstance(query.message, Message) and query.message.text == "Klopt dit?"
    assert tg.unanswered_callbacks == [query.id]
    await query.answer()
    assert tg.unanswered_callbacks == []
    with pytest.raises(BadRequest, match="too old"):
        await query.answer()

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "Klopt <b>dit</b>?", user["id"], question.message_id, parse_mode="HTML", reply_markup=keyboard
        )
    # Same text, now without bold and without keyboard: that is a change.
    edited = await bot.edit_message_text("Klopt dit?", user["id"], question.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    assert tg.bot_messages(user)[-1].get("reply_markup") is None
    with pytest.raises(LookupError):
        tg.press(user, question.message_id, "t1:yes")  # the keyboard is gone


@pytest.mark.asyncio
async def test_telegram_refusals(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    user = tg.new_user()
    tg.send_text(user, "hallo")
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(user["id"], "x", reply_markup=Keyboard([[Button("x", callback_data="x" * 65)]]))
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(user["id"], "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "x")
    tg.throttle("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await bot.send_message(user["id"], "x")
    assert tg.transcript(user) == []


@pytest.mark.asyncio
async def test_documents_and_commands(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    user = tg.new_user()
    tg.send_text(user, "hallo")
    await bot.send_document(user["id"], b"Geachte heer,", filename="brief.txt", caption="Je brief")
    (sent,) = tg.transcript(user)
    assert sent.document is not None
    assert (sent.document.filename, sent.document.content, sent.text) == ("brief.txt", b"Geachte heer,", "Je brief")

    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands([BotCommand("start", "Begin")], scope=scope, language_code="nl")
    assert await bot.get_my_commands(scope=scope, language_code="nl") == (BotCommand("start", "Begin"),)
    assert await bot.get_my_commands(scope=scope, language_code="en") == ()


@pytest.mark.asyncio
async def test_polling_offsets_conflicts_and_webhook(tg_bot: tuple[FakeTelegram, Bot]) -> None:
    tg, bot = tg_bot
    user = tg.new_user()
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    update = tg.send_text(user, "hallo")
    (got,) = await asyncio.wait_for(waiting, 2)  # long polling wakes up on the new update
    assert got.update_id == update["update_id"] and not tg.is_confirmed(update)
    assert await bot.get_updates(offset=got.update_id + 1) == ()
    assert tg.is_confirmed(update) and tg.deliveries[update["update_id"]] == 1

    other = Bot(TOKEN, base_url=tg.base_url)
    async with other:
        older = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.05)
        await other.get_updates(timeout=0)
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await older

    await bot.set_webhook("https://example.org/hook", secret_token="geheim")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()
