"""What a Matrix user sees of a turn, and what their typed line means (no server)."""

from __future__ import annotations

from bot.adapters.matrix.render import (
    FileMessage,
    Part,
    TextMessage,
    document_fallback,
    parse_text,
    render,
    render_parts,
    to_html,
)
from bot.events import ChoiceButton, Command, Document, Edit, Send, Text

YES_NO = (ChoiceButton("yes", "Ja"), ChoiceButton("no", "Nee, nog niet"))


def test_a_question_shows_its_choices_numbered() -> None:
    [message] = render([Send("Heeft u al bezwaar gemaakt?", YES_NO, token="t1")])
    assert message == TextMessage("Heeft u al bezwaar gemaakt?\n\n1. Ja\n2. Nee, nog niet")


def test_a_turn_is_one_event_and_a_document_follows_its_introduction() -> None:
    letter = Document("bezwaar.txt", "Bezwaarschrift", "Geachte heer,\n...")
    out = render(
        [
            Send("Dank u."),
            Send("Hier is uw brief:", document=letter),
            Edit("Wilt u nog iets weten?", YES_NO, token="t2"),
        ]
    )
    assert out == [
        TextMessage("Dank u.\n\nHier is uw brief:"),
        FileMessage(letter),
        TextMessage("Wilt u nog iets weten?\n\n1. Ja\n2. Nee, nog niet"),
    ]


def test_each_event_says_how_many_actions_it_completes() -> None:
    # What a delivery cut off after an event reports to the core as shown.
    letter = Document("bezwaar.txt", "Bezwaarschrift", "Geachte heer,\n...")
    parts = render_parts([Send("Dank u."), Send("Hier is uw brief:", document=letter), Send("Nog iets?")])
    assert parts == [
        Part(TextMessage("Dank u.\n\nHier is uw brief:"), completes=1, intro_of=1),
        Part(FileMessage(letter), completes=2),
        Part(TextMessage("Nog iets?"), completes=3),
    ]
    [only_file] = render_parts([Send("", document=letter)])
    assert only_file == Part(FileMessage(letter), completes=1)


def test_formatted_body_escapes_everything_the_user_typed() -> None:
    typed = 'Jan <script>alert("x")</script> & "zoon"'
    content = TextMessage(f"U heet {typed}.\nKlopt dat?").content()
    assert content["body"] == f"U heet {typed}.\nKlopt dat?"
    assert content["format"] == "org.matrix.custom.html"
    assert "<script>" not in content["formatted_body"]
    assert content["formatted_body"] == (
        "U heet Jan &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;zoon&quot;.<br>Klopt dat?"
    )
    assert to_html("a\r\nb") == "a<br>b"


def test_a_document_can_always_be_shown_inline() -> None:
    fallback = document_fallback(Document("a.txt", "Samenvatting", "regel 1\nregel 2"))
    assert fallback.body == "Samenvatting\n\nregel 1\nregel 2"


def test_typed_lines() -> None:
    assert parse_text("/start") == Command("start")
    assert parse_text("!start bezwaar") == Command("start", "bezwaar")
    assert parse_text("/Help ") == Command("help")
    assert parse_text("2") == Text("2")
    assert parse_text("/ 2") == Text("/ 2")
    assert parse_text("!!") == Text("!!")
    assert parse_text("nee, nog niet") == Text("nee, nog niet")


def test_a_reply_loses_its_quoted_fallback() -> None:
    body = "> <@wegwijzer:example.org> Heeft u al bezwaar gemaakt?\n> 1. Ja\n\nja"
    assert parse_text(body, is_reply=True) == Text("ja")
    assert parse_text("> quote without reply", is_reply=True) == Text("> quote without reply")
