"""The one markup of locale texts (bot/markup.py): a bold heading line and `- ` list lines.

Each platform's form is checked as a person meets it: Telegram's HTML as the
fake Bot API parses it (what the phone shows, what is bold), Matrix's
formatted_body, and the plain text of the console and Matrix's body.
"""

from __future__ import annotations

import functools

import pytest

from bot.app import load_flows
from bot.flows.flowset import FlowSet
from bot.markup import cleaned, matrix_html, plain, problems, tags_blanked, telegram_html, without_tags
from bot.preview import flow_messages
from bot.settings import Settings
from tests.conftest import TODAY
from tests.fakes.telegram_api import render_html

CARD = ("**Stap 1: eerst praten**\nPraat met de medewerker.\n"
        "- Schrijf op wat er gebeurde.\n- Vraag om een gesprek.\nLukt dat niet?")


def bold_parts(html: str) -> list[str]:
    text, entities = render_html(html)
    return [text[e["offset"]:e["offset"] + e["length"]] for e in entities if e["type"] == "bold"]


def test_a_card_reads_the_same_everywhere_with_a_bold_heading_and_a_list() -> None:
    shown = ("Stap 1: eerst praten\nPraat met de medewerker.\n"
             "• Schrijf op wat er gebeurde.\n• Vraag om een gesprek.\nLukt dat niet?")
    assert plain(CARD) == shown
    assert render_html(telegram_html(CARD))[0] == shown
    assert bold_parts(telegram_html(CARD)) == ["Stap 1: eerst praten"]
    assert matrix_html(CARD) == ("<strong>Stap 1: eerst praten</strong><br>Praat met de medewerker."
                                 "<ul><li>Schrijf op wat er gebeurde.</li><li>Vraag om een gesprek.</li></ul>"
                                 "Lukt dat niet?")


def test_a_text_without_markup_is_unchanged_and_only_escaped() -> None:
    text = "Bel 0800-0432.\n\nOf kijk op https://example.org?a=1&b=2 - dag en nacht."
    assert plain(text) == text
    assert telegram_html(text) == text.replace("&", "&amp;")
    assert matrix_html(text) == text.replace("&", "&amp;").replace("\n", "<br>")


@pytest.mark.parametrize("typed", ['<b>vet</b> & "zo"', "<script>alert(1)</script>", "**niet vet** maar *ster*",
                                   "</b><i>", "&amp; &lt;"])
def test_what_a_user_typed_stays_text_on_every_platform(typed: str) -> None:
    text = f"**Je kernboodschap:**\n\"{typed}\"\n- {typed}"
    shown, _ = render_html(telegram_html(text))
    assert shown == f"Je kernboodschap:\n\"{typed}\"\n• {typed}"
    assert bold_parts(telegram_html(text)) == ["Je kernboodschap:"]
    html = matrix_html(text)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert html.count("<strong>") == 1 and html.count("<li>") == 1


def test_only_a_whole_short_line_in_double_stars_is_a_heading() -> None:
    assert plain("**Kop**") == "Kop"
    assert plain("Een **woord** vet") == "Een **woord** vet"
    assert plain("**Kop** en meer") == "**Kop** en meer"
    assert plain("** Kop **") == "** Kop **"
    assert plain("  - ingesprongen") == "  - ingesprongen"
    assert plain("-geen spatie") == "-geen spatie"


def test_the_checker_names_each_way_a_text_breaks_the_rule() -> None:
    assert problems(CARD) == []
    assert problems("{% if x %}- Een regel{% endif %}\n**Kop van {{ naam }}**") == []
    found = [what for what, _ in problems("Een **woord** vet\n• een punt\n<b>Kop</b>\n**" + ("lang " * 20).strip() + "**")]
    assert len(found) == 4
    assert "not a heading line" in found[0]
    assert "starts with `•`" in found[1]
    assert "`<b>` is HTML" in found[2]
    assert "longer than 60 characters" in found[3]


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_shipped_message_is_html_telegram_accepts_and_reads_as_its_plain_text(lang: str) -> None:
    fs = shipped()
    messages = [m for flow in sorted(fs.flows) for m in flow_messages(fs, flow, lang, today=TODAY)]
    headings = 0
    for message in messages:
        shown, _ = render_html(telegram_html(message.text))  # raises where Telegram would refuse
        assert shown == plain(message.text).strip(), f"{message.flow}.{message.step}"
        headings += len(bold_parts(telegram_html(message.text)))
        assert "**" not in plain(message.text).replace("* *", ""), f"{message.flow}.{message.step}: stray `**`"
    assert headings >= 20, "the longer cards have headings"


def test_html_typed_into_a_letter_loses_its_tags_but_not_its_words():
    assert without_tags("<b>Ouders</b> wachten <i>maanden</i>.<br/>Echt.") == "Ouders wachten maanden. Echt."
    assert without_tags('<a href="x">site</a> & <script>x()</script>') == "site & x()"
    assert without_tags("a < b, <3 en <hard> blijven") == "a < b, <3 en <hard> blijven"
    assert tags_blanked("<b>Ouders</b> wachten") == "   Ouders     wachten"


@pytest.mark.parametrize(("typed", "kept"), [
    ("M\u200barieke d\u200be V\u200bries", "Marieke de Vries"),  # zero-width spaces (try-out 37)
    ("zorg\u00adverlening\ufeff", "zorgverlening"),  # a soft hyphen, a byte-order mark
    ("<b>jeugdbescherming</b> &amp; wachtlijsten<br>", "jeugdbescherming & wachtlijsten"),  # pasted HTML
    ("Ouders&nbsp;wachten", "Ouders wachten"),
    ("\uff37\uff41\uff43\uff48\uff54\uff4c\uff49\uff4a\uff53\uff54", "Wachtlijst"),  # full-width letters
    ("gecontroleerd \U0001f44d", "gecontroleerd \U0001f44d"),  # emoji are the person's own
    ("ons gezin \U0001f468\u200d\U0001f469\u200d\U0001f467", "ons gezin \U0001f468\u200d\U0001f469\u200d\U0001f467"),
    ("a < b, <3 en <hard>", "a < b, <3 en <hard>"),  # no HTML: left as typed
])
def test_a_typed_answer_is_cleaned_of_what_was_pasted_along(typed, kept):
    assert cleaned(typed) == kept
