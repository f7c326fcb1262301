"""What a phone shows on Telegram: bold headings and lists, typed text kept as text, captions, one preview.

The real bot and python-telegram-bot against the fake Bot API, which parses the
HTML as Telegram does (and refuses what Telegram would refuse), so each test
reads the screen a person sees: its text, its bold parts, the caption under a
file and the link preview options sent with each message.
"""

from __future__ import annotations

import pytest

from bot.core import decode_outbound, encode_outbound
from bot.events import ChoiceButton, ConversationKey, Document, Edit, LinkPreview, Send
from bot.letters import DOCX_MIME as DOCX
from tests.fakes.telegram_api import FakeTelegram, Sent
from tests.telegram_fixtures import Person, RunningBot, running_bot, telegram

__all__ = ["running_bot", "telegram"]  # fixtures used by name below


#: Looks like HTML but is no tag (real tags pasted in are taken out before an answer is kept: bot/markup.py)
TYPED = "Gezinnen wachten <maanden> & <script-ish> <3 op hulp."


def bold(tg: FakeTelegram, sent: Sent) -> list[str]:
    """The parts of a message the phone shows in bold."""
    message = tg.message(sent.chat_id, sent.message_id)
    text = message.get("text") or message.get("caption") or ""
    utf16 = text.encode("utf-16-le")
    return [utf16[e["offset"] * 2:(e["offset"] + e["length"]) * 2].decode("utf-16-le")
            for e in message.get("entities") or message.get("caption_entities") or [] if e["type"] == "bold"]


async def to_key_message(bot: RunningBot, parent: Person, general: str) -> Sent:
    """A parent prepares to speak at the council and types their story; the bot shows it back."""
    await parent.command("start", "inspreken")
    (how,) = await parent.says("Utrecht")  # the short answer; the cards on request
    griffie_page = how.link_preview  # the municipality's site, where its griffie is found
    assert griffie_page is not None and griffie_page["url"].startswith("https://") and "utrecht" in griffie_page["url"]
    assert griffie_page["url"] in how.text and griffie_page["prefer_small_media"] is True
    *cards, _more = await parent.presses(bot.label("inspreken", "how", "more"))
    assert cards and all(card.link_preview == {"is_disabled": True} for card in cards)
    await parent.presses(bot.label("inspreken", "signup_more", "on"))
    await parent.says("wachtlijsten in de jeugdzorg")
    await parent.presses(bot.label("inspreken", "meeting_known", "known"))
    await parent.says("commissie Sociaal Domein, 14 januari")
    await parent.presses(bot.label("inspreken", "speaker", "alone"))
    await parent.says(general)
    message, *_question = await parent.says("Spreek af dat hulp binnen een vaste tijd begint.")
    return message


@pytest.mark.asyncio
async def test_what_a_user_typed_arrives_as_text_inside_bold_headings_and_a_list(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    message = await to_key_message(bot, parent, TYPED)

    assert f'"{TYPED}"\n' in message.text, "the typed text is shown exactly as typed"
    assert "&lt;maanden&gt; &amp; &lt;script-ish&gt; &lt;3" in message.raw_text
    assert "<maanden>" not in message.raw_text and "<script-ish>" not in message.raw_text
    assert bold(tg, message) == ["Dit komt in je e-mail:", "Lees het nog eens na:"], "only the headings are bold"
    assert "**" not in message.text
    assert "\n• Staan er namen in van kinderen, ouders of medewerkers? Haal ze weg.\n" in message.text
    assert message.link_preview == {"is_disabled": True}


@pytest.mark.asyncio
async def test_a_letter_comes_with_a_caption_saying_what_it_is_and_what_to_do(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    await to_key_message(bot, parent, "Gezinnen wachten maanden op hulp.")
    await parent.presses(bot.label("inspreken", "message", "ok"))  # the read-back is right
    shown = await parent.presses(bot.label("inspreken", "name_public", "fine"))
    (letter,) = [s for s in shown if s.document is not None]
    assert letter.method == "sendDocument" and letter.document is not None
    assert letter.document.filename == "aanmelding-inspreken.docx"
    # Utrecht registers speakers with its council's form: the caption says to paste the text there (try-out 31)
    assert letter.text == ("Je concept-tekst voor het formulier van de gemeenteraad. "
                           "Vul de [haken] in en plak hem in het formulier.")


@pytest.mark.asyncio
async def test_only_the_complaint_form_brings_a_small_preview_of_its_page(
    running_bot: RunningBot, telegram: FakeTelegram
) -> None:
    bot, tg = running_bot, telegram
    parent = Person(tg)
    await parent.command("start", "klacht")
    await parent.presses(bot.label("complaint", "problem", "decision"))
    await parent.presses(bot.label("complaint", "org", "rvdk"))
    await parent.presses(bot.label("complaint", "talk", "on"))  # steps 1 and 2 read, on to step 3
    shown = await parent.presses(bot.label("complaint", "rvdk_stage", "new"))

    form_page = bot.core.flows.directory_views["nl"]["rvdk_klacht"]["website"]
    with_preview = [s for s in shown if s.link_preview != {"is_disabled": True}]
    assert [(s.text, s.link_preview) for s in with_preview] == [
        (bot.text("complaint.rvdk.formal"),
         {"url": form_page, "prefer_small_media": True, "show_above_text": False}),
    ]
    card = next(s for s in shown if "\nBron: " in s.text)
    assert card.link_preview == {"is_disabled": True}, "a source line never makes a preview"
    everything = [s for s in parent.transcript if s.method in ("sendMessage", "editMessageText")]
    assert all(s.link_preview is not None for s in everything), "every message says what to preview"


@pytest.mark.asyncio
async def test_a_preview_chosen_above_the_text_is_sent_so(running_bot: RunningBot, telegram: FakeTelegram) -> None:
    parent = Person(telegram)
    await parent.command("start")
    key = ConversationKey("telegram", str(parent.chat["id"]), str(parent.user["id"]))
    page = LinkPreview("https://example.org/formulier", above=True)
    await running_bot.adapter.deliver(key, [Send("**Het formulier**\nVul het in.", preview=page)], None)
    sent = parent.transcript[-1]
    assert (sent.text, sent.link_preview) == (
        "Het formulier\nVul het in.",
        {"url": "https://example.org/formulier", "prefer_small_media": True, "show_above_text": True})
    assert bold(telegram, sent) == ["Het formulier"]


def test_a_caption_and_a_preview_survive_the_outbox() -> None:
    """Messages wait in the outbox across a restart: what they show must come back whole."""
    letter = Document("brief.docx", "Conceptbrief", "Geachte ...", DOCX, caption="Je brief. Stuur hem op.")
    page = LinkPreview("https://example.org/formulier", above=True)
    turn: list[Send | Edit] = [Send("Hier is je brief:", document=letter), Send("Het formulier", preview=page),
                               Edit("Volgende vraag", (ChoiceButton("a", "A"),), "q", page)]
    assert decode_outbound(encode_outbound(turn)) == turn
    # an outbox written before captions and previews existed still reads
    old = '[{"t": "send", "text": "x", "doc": ["a.txt", "A", "tekst", "text/plain"]}]'
    assert decode_outbound(old) == [Send("x", document=Document("a.txt", "A", "tekst"))]
