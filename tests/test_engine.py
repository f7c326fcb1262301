"""The engine, tested with plain function calls on the fixture flow set.

Each test is a short conversation: what the user types or presses, and what
the bot answers. `Chat` checks the engine's invariants on every single turn
(a state is None or waits at a question, every user event gets a message, a
state survives its JSON round trip), so every test below checks them too.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import load_flows
from bot.dates import format_date
from bot.engine import MAX_INPUT, TurnContext, handle
from bot.events import (
    Action,
    Choice,
    Command,
    Edit,
    Event,
    ExportData,
    ForgetUser,
    Forward,
    HandOff,
    Schedule,
    Send,
    Text,
    Timer,
    Unsupported,
)
from bot.flows.flowset import FlowSet
from bot.flows.model import WAITING_KINDS
from bot.settings import Settings
from bot.state import State
from bot.texts import LocaleText
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, NOW, TODAY, load_fixture_flows

MENU = "Waarmee kan ik helpen?"
WELCOME = "Welkom bij de testbot."
MORE = "Kan ik nog iets doen?"
NAME = "Hoe heet je?"
AGE = "Hoe oud ben je?"
TOWN = "In welke gemeente woon je?"
WHEN = "Wanneer was het besluit?"
WHAT = "Wat is er gebeurd?"
CONSENT = "Mag ik dit doorsturen naar het meldpunt?"
KIND = "Welke termijn?"
STALE = "Die knop hoort bij een eerdere vraag."
WAY_OUT = "Lukt het niet? Kies wat je wilt doen."


class Chat:
    """One user talking to the engine; every turn is checked against the engine's invariants."""

    def __init__(self, fs: FlowSet, ctx: TurnContext) -> None:
        self.fs = fs
        self.ctx = ctx
        self.state: State | None = None
        self.actions: list[Action] = []
        self.stats: list[str] = []
        #: the last question shown (a Send or Edit with a token)
        self.question: Send | Edit | None = None

    # ------------------------------------------------------------ talking
    def send(self, event: Event) -> list[str]:
        before = self.state.to_json() if self.state else None
        turn = handle(self.fs, self.state, event, self.ctx)
        assert turn.error is None, f"the flow failed: {turn.error}"
        self._check_invariants(event, turn.state, turn.actions)
        # the core stores the state as JSON between turns: the engine must not care
        if turn.state is not None:
            assert State.from_json(turn.state.to_json()) == turn.state
        if before is not None:
            assert self.state is not None and self.state.to_json() == before, "the engine mutated its input state"
        self.state = turn.state
        self.actions = turn.actions
        self.stats = turn.stats
        for action in turn.actions:
            if isinstance(action, Send | Edit) and action.token:
                self.question = action
        return self.texts

    def say(self, text: str) -> list[str]:
        return self.send(Text(text))

    def command(self, name: str, args: str = "") -> list[str]:
        return self.send(Command(name, args))

    def press(self, choice_id: str, token: str | None = None) -> list[str]:
        """Press a button of the last question shown (or of an older one, with `token`)."""
        if token is None:
            assert self.question is not None, "no question was shown"
            assert choice_id in [c.id for c in self.question.choices], (
                f"{choice_id!r} is not a button of {self.question.text!r}")
            token = self.question.token
        return self.send(Choice(choice_id, token))

    # ------------------------------------------------------------ what the bot did
    @property
    def texts(self) -> list[str]:
        return [a.text for a in self.actions if isinstance(a, Send | Edit)]

    @property
    def buttons(self) -> list[str]:
        assert self.question is not None
        return [c.label for c in self.question.choices]

    def of(self, kind: type) -> list[Action]:
        return [a for a in self.actions if isinstance(a, kind)]

    @property
    def where(self) -> tuple[str, str] | None:
        return (self.state.flow, self.state.step) if self.state else None

    def _check_invariants(self, event: Event, state: State | None, actions: list[Action]) -> None:
        if state is not None:
            step = self.fs.step(state.flow, state.step)
            # a step a reload removed waits too: the user is asked how to go on ("recover")
            assert (step is not None and step.kind in WAITING_KINDS) or state.pending == "recover", (
                f"the conversation stopped at {state.flow}.{state.step}, which does not wait")
            for flow, nxt in state.stack:
                assert self.fs.step(flow, nxt) is not None
        if not isinstance(event, Timer):  # a hand-off is answered by the desk feature (tests/test_desk.py)
            assert any(isinstance(a, Send | Edit | HandOff) for a in actions), "the user got no answer"
        for action in actions:
            if isinstance(action, Send | Edit) and action.choices:
                assert action.token, "a question with buttons has no token"


@pytest.fixture
def chat(flowset: FlowSet, ctx: TurnContext) -> Chat:
    return Chat(flowset, ctx)


def at_menu(chat: Chat) -> Chat:
    assert chat.command("start") == [WELCOME, MENU]
    return chat


# =========================================================== step kinds


def test_say_then_choose_shows_the_welcome_and_the_menu_with_buttons(chat):
    assert chat.command("start") == [WELCOME, MENU]
    assert chat.buttons == ["Een brief schrijven", "Een termijn uitrekenen", "Iets melden", "Hulplijnen",
                            "Een mens spreken", "Een huisbezoek", "Alles wissen", "Stoppen"]
    assert chat.question.token == "menu"
    assert chat.where == ("main", "menu")
    assert chat.stats == ["start:main"]


def test_a_parent_writes_a_letter_through_every_kind_of_question(chat):
    at_menu(chat)
    assert chat.press("letter") == [NAME]
    assert chat.state.vars["topic"] == "letter"  # the option's `set`
    assert chat.say("Anna de Vries") == [AGE]
    assert chat.say("16") == [TOWN]
    assert chat.say("utrecht") == [WHEN]
    assert chat.say("31 augustus 2026") == ["Je bent jonger dan 18.", "Hier is je brief.", MORE]
    assert chat.state.vars == {
        "topic": "letter", "name": "Anna de Vries", "age": 16, "town": "Utrecht",
        "decision_date": "2026-08-31",
        "reply_by": "2026-10-12",  # add(decision_date, weeks=6)
        "last_day": "2026-11-30",  # deadline('fixture_court', 'appeal', ...): 3 months, clamped to 30 November
    }
    [letter] = [a.document for a in chat.of(Send) if a.document]
    assert letter.filename == "brief.txt"
    assert letter.title == "Brief van Anna de Vries"
    assert letter.content == (
        "Ik, Anna de Vries (16), uit Utrecht,\n"
        "maak bezwaar tegen het besluit van 31 augustus 2026.\n"
        "Antwoord graag voor 12 oktober 2026. Beroep kan tot 30 november 2026.\n")


def test_the_branch_skips_the_under_18_text_for_an_adult(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    chat.say("40")
    chat.say("Zeist")
    assert chat.say("gisteren") == ["Hier is je brief.", MORE]
    assert chat.state.vars["decision_date"] == "2026-11-28"


def test_a_number_answer_keeps_its_decimals_and_accepts_a_comma(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    assert chat.say("12,5") == [TOWN]
    assert chat.state.vars["age"] == 12.5


def test_a_municipality_by_alias_is_saved_under_its_current_name(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    chat.say("30")
    assert chat.say("Den Bosch") == [WHEN]
    assert chat.state.vars["town"] == "'s-Hertogenbosch"


def test_an_ambiguous_municipality_offers_the_candidates_and_a_button_picks_one(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    chat.say("30")
    assert chat.say("Bergen") == ["Welke gemeente bedoel je?"]
    # CBS's "Bergen (L.)" / "Bergen (NH.)" puzzled people: the province in full
    assert chat.buttons == ["Bergen (Limburg)", "Bergen (Noord-Holland)", "Geen van deze"]
    assert chat.press(chat.question.choices[1].id) == [WHEN]
    assert chat.state.vars["town"] == "Bergen (Noord-Holland)"


@pytest.mark.parametrize(("typed", "town"), [
    ("1", "Bergen (Limburg)"), ("2", "Bergen (Noord-Holland)"), ("Bergen (Noord-Holland)", "Bergen (Noord-Holland)"),
    ("Bergen (NH.)", "Bergen (Noord-Holland)")])
def test_an_ambiguous_municipality_can_be_picked_by_typing_the_number_or_the_name(chat, typed, town):
    # the console and Matrix show the candidates numbered; typing the number must work there
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    chat.say("30")
    chat.say("Bergen")
    assert chat.say(typed) == [WHEN]
    assert chat.state.vars["town"] == town


def test_none_of_these_asks_for_the_municipality_again(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    chat.say("30")
    chat.say("Utrect")
    assert chat.texts == ["Bedoel je een van deze?"]
    assert chat.buttons == ["Utrecht", "Geen van deze"]
    assert chat.press("none") == [TOWN]
    assert "town" not in chat.state.vars
    assert chat.say("Utrecht") == [WHEN]


def test_a_call_runs_the_other_flow_and_returns_to_next(chat):
    at_menu(chat)
    assert chat.press("deadline") == [KIND]
    assert chat.where == ("termijn", "kind")
    assert chat.state.stack == [("main", "more")]
    assert chat.say("Bezwaar") == ["Op welke datum was de uitspraak?"]
    assert chat.say("1 oktober 2026") == ["De laatste dag is 12 november 2026.", MORE]
    assert chat.where == ("main", "more")
    assert chat.state.stack == []


def test_a_called_flow_counts_its_own_start_and_end_for_the_statistics(chat):
    at_menu(chat)
    chat.press("deadline")
    assert chat.stats == ["start:termijn"]
    chat.press("objection")
    chat.say("1 oktober 2026")
    assert chat.stats == ["end:termijn:termijn.done"]  # the call returned; main goes on
    chat.press("done")
    assert chat.stats == ["end:main:main.bye"]


def test_the_safety_flow_the_crisis_check_goes_into_counts_as_started_and_ended(chat):
    at_menu(chat)
    chat.say("ik word bedreigd")
    assert chat.stats == ["crisis:threat", "start:safety"]
    chat.say("ja")
    assert chat.stats == ["end:safety:safety.done"]


def test_the_report_goes_to_the_desk_only_with_consent(chat):
    at_menu(chat)
    assert chat.press("report") == [WHAT]
    assert chat.say("Mijn buurman schreeuwt <hard>") == [CONSENT]
    assert [c.label for c in chat.question.choices] == ["Ja", "Nee"]
    assert chat.press("yes") == ["Je melding is doorgestuurd.", MORE]
    [forward] = chat.of(Forward)
    report = forward.report
    assert report.kind == "incident"
    assert report.title == "Melding uit de testbot"
    assert report.urgency == "normal"
    assert report.fields == (("Wat er gebeurde", "Mijn buurman schreeuwt <hard>"),)
    assert report.document is not None
    assert report.document.filename == "melding.txt"
    assert report.document.content == "Melding: Mijn buurman schreeuwt <hard>\n"


def test_a_report_about_a_minor_is_urgent(chat):
    at_menu(chat)
    chat.press("letter")
    chat.say("Sam")
    chat.say("15")
    chat.say("Utrecht")
    chat.say("1-10-2026")
    chat.press("menu")
    chat.press("report")
    chat.say("Iets ergs")
    chat.say("ja")
    [forward] = chat.of(Forward)
    assert forward.report.urgency == "high"


def test_without_consent_nothing_is_forwarded(chat):
    at_menu(chat)
    chat.press("report")
    chat.say("Iets")
    assert chat.say("nee") == ["Ik stuur niets door.", MORE]
    assert chat.of(Forward) == []
    assert chat.state.vars["consent"] is False


def test_show_sends_directory_cards_with_their_source_and_checked_date(chat):
    at_menu(chat)
    intro, line, court, more = chat.press("lines")
    assert intro == "Deze hulplijn kan helpen (bel 0800-1234):"
    assert line.startswith("Testlijn\n") and court.startswith("Testrechtbank\n")  # a message per card
    assert "https://testlijn.example.org/over" in line
    assert "1 november 2026" in line  # the checked date
    assert more == MORE


def test_a_card_shown_before_in_the_same_journey_is_named_not_repeated(chat):
    at_menu(chat)
    chat.press("lines")
    chat.press("menu")
    assert chat.press("lines") == [
        "Deze hulplijn kan helpen (bel 0800-1234):",
        "Eerder in dit gesprek zag je al: Testlijn, Testrechtbank. Kijk hierboven voor het nummer en de website.",
        MORE,
    ]
    chat.command("start")  # a new journey shows the cards again
    assert chat.press("lines")[1].startswith("Testlijn\n")


def test_a_handoff_step_asks_the_desk_for_a_person_and_goes_on(chat):
    at_menu(chat)
    assert chat.press("person") == ["Ik zoek een mens voor je.", MORE]
    assert chat.of(HandOff) == [HandOff(urgent=False)]


def test_schedule_asks_the_core_for_a_timer_and_the_timer_step_returns_to_where_the_user_was(chat):
    at_menu(chat)
    assert chat.press("visit") == ["Ik vraag over een uur hoe het ging.", MORE]
    assert chat.of(Schedule) == [Schedule("checkin", "2026-11-29T11:30+01:00")]
    chat.press("menu")
    chat.press("report")
    assert chat.where == ("main", "what")
    assert chat.send(Timer("checkin")) == ["Hoe ging het huisbezoek?"]
    assert chat.say("goed") == ["Fijn om te horen.", WHAT]
    assert chat.where == ("main", "what")
    assert chat.state.stack == []


def test_a_timer_after_the_conversation_ended_still_asks(chat):
    # a home-visit check-in must ask even if the user ended the conversation meanwhile
    turn = handle(chat.fs, None, Timer("checkin"), chat.ctx)
    assert [a.text for a in turn.actions if isinstance(a, Send)] == ["Hoe ging het huisbezoek?"]
    assert turn.state is not None and (turn.state.flow, turn.state.step) == ("main", "checkin")


def test_a_timer_no_flow_names_does_nothing(chat):
    assert handle(chat.fs, None, Timer("nobody"), chat.ctx).actions == []


def test_the_end_step_ends_the_conversation_and_drops_the_answers(chat):
    at_menu(chat)
    chat.press("report")
    chat.say("iets")
    chat.say("nee")
    assert chat.say("Ik ben klaar") == ["Tot ziens."]
    assert chat.state is None
    assert chat.stats == ["end:main:main.bye"]
    # the next message starts a new conversation and does not answer the old question
    assert chat.say("2") == [WELCOME, MENU]
    assert chat.state.vars == {}


def test_the_forget_step_deletes_everything(chat):
    at_menu(chat)
    assert chat.press("wipe") == ["Ik heb alles gewist."]
    assert chat.of(ForgetUser) == [ForgetUser()]
    assert chat.state is None


def test_a_deep_link_starts_its_flow(chat):
    assert chat.command("start", "deadline") == [KIND]
    assert chat.where == ("termijn", "kind")


def test_the_language_of_the_app_picks_the_language_of_a_new_conversation(flowset):
    english = Chat(flowset, TurnContext(today=TODAY, now=NOW, lang_hint="en-GB"))
    assert english.command("start") == ["Welcome to the test bot.", "What can I help with?"]
    other = Chat(flowset, TurnContext(today=TODAY, now=NOW, lang_hint="fr"))
    assert other.command("start") == [WELCOME, MENU]


# ======================================================= typed answers


@pytest.mark.parametrize("typed", ["3", "Iets melden", "iets melden!", "report", "Iets", "  IETS MELDEN  "])
def test_a_choice_can_be_typed_as_its_number_label_or_id(chat, typed):
    at_menu(chat)
    assert chat.say(typed) == [WHAT]


@pytest.mark.parametrize("typed", ["0", "banaan", "een"])
def test_a_typed_answer_that_matches_no_option_is_asked_again(chat, typed):
    at_menu(chat)
    # the question and its buttons come again below (on Matrix and the console a numbered
    # list far above would have scrolled away)
    assert chat.say(typed) == ["Kies een knop of typ het nummer.", "Waarmee kan ik helpen?"]
    assert chat.where == ("main", "menu")


def test_a_number_past_the_last_button_names_the_numbers_there_are(chat):
    at_menu(chat)
    count = len(chat.question.choices)
    numbers = ", ".join(str(n) for n in range(1, count))
    assert chat.say("9") == [f"Er is geen keuze 9. Kies {numbers} of {count}.", "Waarmee kan ik helpen?"]
    assert chat.where == ("main", "menu")


def test_only_emoji_gets_a_short_kind_word_not_the_question_again(chat):
    at_menu(chat)
    assert chat.say("🙏😢😢") == ["Ik zie je bericht."]
    assert chat.where == ("main", "menu")


def test_a_yes_no_question_accepts_typed_words_and_numbers(chat):
    at_menu(chat)
    chat.press("report")
    chat.say("iets")
    assert chat.say("1") == ["Je melding is doorgestuurd.", MORE]
    assert chat.state.vars["consent"] is True


@pytest.mark.parametrize(("typed", "consent"), [("1", True), ("2", False), ("Ja", True), ("nee", False),
                                                ("1.", True)])
def test_a_yes_no_question_reads_its_buttons_numbers_and_labels_as_any_question_with_buttons_does(chat, typed, consent):
    """One reading of a typed button for every step kind (the `ask` kinds matched "1" by hand, each its own way):
    the yes/no question's Ja/Nee, the phone question's "Liever niet bellen" and "use what you wrote" alike."""
    at_menu(chat)
    chat.press("report")
    chat.say("iets")
    assert chat.say(typed) == (["Je melding is doorgestuurd.", MORE] if consent else ["Ik stuur niets door.", MORE])
    assert chat.state.vars["consent"] is consent
    assert all(not isinstance(a, Edit) for a in chat.actions)  # typed: the question stays above the answer


# ============================================= choices become edits


def test_a_button_answered_by_the_next_question_becomes_an_edit(chat):
    at_menu(chat)
    chat.press("letter")
    assert chat.actions == [Edit(NAME, (), "name")]


def test_a_typed_answer_is_never_an_edit(chat):
    at_menu(chat)
    chat.say("1")
    assert chat.actions == [Send(NAME, (), "name")]


def test_a_button_whose_answer_shows_results_sends_new_messages(chat):
    at_menu(chat)
    chat.press("lines")
    assert [type(a) for a in chat.actions] == [Send, Send, Send, Send]  # the introduction, two cards, the next question
    assert chat.texts[-1] == MORE


# ================================================ global interrupts


def at_choose(chat: Chat) -> tuple[str, str]:
    """At a `choose` step ("more"), one question after the menu; returns (current, previous) question."""
    at_menu(chat)
    chat.press("lines")
    return MORE, MENU


def at_ask(chat: Chat) -> tuple[str, str]:
    """At an `ask` step (age), one question after the name."""
    at_menu(chat)
    chat.press("letter")
    chat.say("Anna")
    return AGE, NAME


PLACES = {"choose": at_choose, "ask": at_ask}


@pytest.fixture(params=sorted(PLACES))
def place(request):
    return PLACES[request.param]


@pytest.mark.parametrize("how", [Text("hulp"), Text("help"), Text("?"), Command("help")])
def test_help_explains_and_asks_the_same_question_again(chat, place, how):
    question, _ = place(chat)
    before = chat.state
    assert chat.send(how) == ["Hulp: typ terug, opnieuw, taal, mens, mijn gegevens of stop.", question]
    assert chat.state == before


@pytest.mark.parametrize("how", [Text("terug"), Text("back"), Command("terug")])
def test_back_returns_to_the_previous_question(chat, place, how):
    _, previous = place(chat)
    assert chat.send(how) == [previous]
    if previous == MENU:
        assert chat.say("terug") == ["Je bent al bij de eerste vraag.", MENU]
    else:
        assert chat.say("terug") == [MENU]


def test_back_crosses_a_call_boundary(chat):
    at_menu(chat)
    chat.press("deadline")
    assert chat.where == ("termijn", "kind")
    assert chat.say("terug") == [MENU]
    assert chat.where == ("main", "menu")
    assert chat.state.stack == []  # the call is undone, not left dangling
    assert chat.press("report") == [WHAT]


def test_back_from_a_question_inside_a_called_flow_stays_in_that_flow(chat):
    at_menu(chat)
    chat.press("deadline")
    chat.press("appeal")
    assert chat.say("terug") == [KIND]
    assert chat.state.stack == [("main", "more")]
    chat.press("objection")
    assert chat.say("1-10-2026")[-1] == MORE


def test_back_undoes_the_answer_so_a_different_choice_counts_alone(chat):
    # "Bezwaar" sets weeks=6; going back and choosing "Hoger beroep" (months=3) must not add both
    at_menu(chat)
    chat.press("deadline")
    chat.press("objection")
    assert chat.state.vars == {"weeks": 6}
    assert chat.say("terug") == [KIND]
    assert chat.state.vars == {}
    chat.press("appeal")
    assert chat.say("1-10-2026") == ["De laatste dag is 1 januari 2027.", MORE]


def test_back_undoes_a_saved_answer_but_not_the_crisis_flag(chat):
    at_age(chat)
    chat.say("ik wil dood")
    assert chat.say("terug") == [NAME]
    assert chat.state.vars == {"topic": "letter", "_crisis": True}


def test_back_at_the_first_question_says_so(chat):
    at_menu(chat)
    assert chat.say("terug") == ["Je bent al bij de eerste vraag.", MENU]


START_OVER = "Opnieuw beginnen? Je antwoorden gaan dan weg."


@pytest.mark.parametrize("how", [Text("opnieuw"), Text("start over"), Text("menu"), Command("opnieuw"), Command("start")])
def test_start_over_begins_again_with_nothing_remembered(chat, place, how):
    place(chat)
    said = chat.send(how)
    if place is at_ask:  # a name was typed: asked first, "Opnieuw beginnen" confirms
        assert said == [START_OVER]
        assert chat.buttons == ["Verder waar ik was", "Opnieuw beginnen"]
        said = chat.press("restart", token="_restart")
    assert said == [WELCOME, MENU]
    assert chat.where == ("main", "menu")
    assert chat.state.vars == {}
    assert chat.state.history == []


@pytest.mark.parametrize("how", [Text("opnieuw"), Command("start")])
def test_start_over_with_answers_typed_can_go_on_where_it_was(chat, how):
    """/start mid-letter (Telegram users tap it to get unstuck) asked nothing: the letter was gone."""
    at_ask(chat)
    assert chat.send(how) == [START_OVER]
    assert chat.press("continue", token="_restart") == [AGE]
    assert chat.state.vars["name"] == "Anna"
    assert chat.say("40") != [START_OVER]


def test_start_over_is_answered_by_its_typed_label_or_number(chat):
    at_ask(chat)
    chat.say("opnieuw")
    assert chat.say("Verder waar ik was") == [AGE]
    chat.command("start")
    assert chat.say("2") == [WELCOME, MENU]
    assert chat.state.vars == {}


@pytest.mark.parametrize("how", [Text("english"), Text("English"), Command("taal", "en"), Command("language", "English")])
def test_change_language_with_an_argument_switches_at_once(chat, place, how):
    place(chat)
    texts = chat.send(how)
    assert texts[0] == "We continue in English."
    assert texts[1] in ("Anything else?", "How old are you?")
    assert chat.state.lang == "en"


def test_change_language_without_an_argument_asks_which_and_a_button_answers(chat, place):
    question, _ = place(chat)
    where = chat.where
    assert chat.say("taal") == ["Welke taal?"]
    assert chat.question.token == "_lang"
    assert [(c.id, c.label) for c in chat.question.choices] == [("en", "English"), ("nl", "Nederlands")]
    texts = chat.press("en")
    assert texts[0] == "We continue in English."
    assert texts[1] in ("Anything else?", "How old are you?")
    assert chat.where == where
    # and back, by typing the language's name at the language question
    chat.command("taal")
    assert chat.say("Nederlands") == ["We gaan verder in het Nederlands.", question]
    assert chat.state.lang == "nl"


def test_the_language_question_does_not_accept_an_unknown_answer(chat, place):
    place(chat)
    chat.say("taal")
    assert chat.say("Klingon") == ["Kies een knop of typ het nummer.", "Welke taal?"]
    assert chat.state.lang == "nl"


@pytest.mark.parametrize("how", [Text("stop"), Text("vergeet mij"), Command("vergeet")])
def test_forget_me_asks_first_and_yes_deletes_everything(chat, place, how):
    place(chat)
    assert chat.send(how) == ["Zal ik alles wissen?"]
    assert chat.buttons == ["Ja, wis alles", "Nee, ga verder"]
    assert chat.of(ForgetUser) == []  # nothing deleted before the user confirms
    assert chat.press("yes") == ["Alles is gewist."]
    assert chat.of(ForgetUser) == [ForgetUser()]
    assert chat.state is None
    assert chat.stats == ["forget:main"]


@pytest.mark.parametrize("answer", [Choice("no", "_forget"), Text("nee"), Text("2")])
def test_forget_me_answered_no_keeps_everything_and_asks_the_question_again(chat, place, answer):
    question, _ = place(chat)
    kept = chat.state
    chat.say("stop")
    assert chat.send(answer) == ["Goed, we gaan verder.", question]
    assert chat.of(ForgetUser) == []
    assert chat.state == kept


def test_forget_me_typed_yes_deletes(chat, place):
    place(chat)
    chat.say("stop")
    assert chat.say("ja") == ["Alles is gewist."]
    assert chat.of(ForgetUser) == [ForgetUser()]


@pytest.mark.parametrize("how", [Text("mijn gegevens"), Text("my data"), Command("mijngegevens")])
def test_my_data_asks_the_core_for_an_export_and_keeps_the_place(chat, place, how):
    question, _ = place(chat)
    kept = chat.state
    assert chat.send(how) == [question]
    assert chat.of(ExportData) == [ExportData()]
    assert chat.state == kept


@pytest.fixture
def desk_chat(flowset: FlowSet, ctx: TurnContext) -> Chat:
    """A chat where a safety desk is set up (TurnContext.desk_available)."""
    return Chat(flowset, dataclasses.replace(ctx, desk_available=True))


@pytest.mark.parametrize("how", [Text("mens"), Text("een mens"), Text("talk to a person"), Text("ik wil een mens spreken"),
                                 Text("medewerker"), Text("a human"), Command("mens")])
def test_asking_for_a_person_hands_off_and_keeps_the_place(desk_chat, place, how):
    place(desk_chat)
    kept = desk_chat.state
    texts = desk_chat.send(how)
    assert texts[0] == "Ik vraag een mens voor je."
    assert desk_chat.of(HandOff) == [HandOff(urgent=False)]
    assert desk_chat.state == kept


def test_without_a_desk_asking_for_a_person_promises_nobody(chat, place):
    """The desk feature answers the hand-off with the people who do exist (desk.user.unavailable)."""
    place(chat)
    assert chat.say("mens") == []
    assert chat.of(HandOff) == [HandOff(urgent=False)]


def test_an_unknown_command_is_answered_and_the_question_repeated(chat, place):
    question, _ = place(chat)
    assert chat.command("xyzzy") == ["Dat commando ken ik niet.", question]


def test_interrupts_work_before_any_conversation(chat):
    assert chat.say("stop") == ["Alles is gewist."]
    assert chat.of(ForgetUser) == [ForgetUser()]
    assert chat.say("english") == ["We continue in English.", "What can I help with?"]
    assert chat.state.lang == "en"


# ==================================================== stale buttons


def test_a_button_of_an_older_question_is_answered_politely_and_never_applied(chat):
    at_menu(chat)
    chat.press("letter")
    kept = chat.state
    # the menu's "delete everything" button, pressed while the bot asks for a name
    assert chat.press("wipe", token="menu") == [STALE, NAME]
    assert chat.of(ForgetUser) == []
    assert chat.state == kept


def test_a_button_with_an_unknown_option_id_is_stale(chat):
    at_menu(chat)
    kept = chat.state
    assert chat.press("delete_all", token="menu") == [STALE, MENU]
    assert chat.state == kept


@pytest.mark.parametrize("button", [Choice("yes", "_forget"), Choice("en", "_lang"), Choice("c0", "town")])
def test_a_system_button_when_nothing_is_pending_is_stale(chat, place, button):
    question, _ = place(chat)
    kept = chat.state
    assert chat.send(button) == [STALE, question]
    assert chat.of(ForgetUser) == []
    assert chat.state == kept


def test_a_yes_button_of_an_old_yes_no_question_does_not_answer_the_current_one(chat):
    at_menu(chat)
    chat.press("report")
    chat.say("iets")
    chat.press("no")
    assert chat.press("yes", token="consent") == [STALE, MORE]
    assert chat.state.vars["consent"] is False


def test_an_old_yes_button_is_not_applied_to_a_new_yes_no_question(chat):
    # both questions have a "yes" button: only the token tells them apart
    at_consent(chat)
    chat.say("ik word bedreigd")
    assert chat.where == ("safety", "safe_now")
    assert chat.press("yes", token="consent") == [STALE, "Ben je nu veilig?"]
    assert "safe_now" not in chat.state.vars and "consent" not in chat.state.vars


def test_a_question_button_is_not_applied_while_a_system_question_waits(chat):
    at_menu(chat)
    chat.say("stop")
    assert chat.press("wipe", token="menu") == [STALE, "Zal ik alles wissen?"]
    assert chat.of(ForgetUser) == []
    assert chat.state.pending == "forget"


def test_a_button_after_the_conversation_ended_starts_a_new_one(chat):
    at_menu(chat)
    chat.press("bye")
    assert chat.state is None
    assert chat.press("letter", token="menu") == ["Dat gesprek is afgelopen.", WELCOME, MENU]
    assert chat.where == ("main", "menu")


# ===================================================== bad input


def at_name(chat: Chat) -> None:
    at_menu(chat)
    chat.press("letter")


def at_age(chat: Chat) -> None:
    at_name(chat)
    chat.say("Anna")


def at_town(chat: Chat) -> None:
    at_age(chat)
    chat.say("30")


def at_when(chat: Chat) -> None:
    at_town(chat)
    chat.say("Utrecht")


def at_consent(chat: Chat) -> None:
    at_menu(chat)
    chat.press("report")
    chat.say("iets")


BAD_INPUT = [
    pytest.param(at_name, "A", "Typ tussen 2 en 40 tekens.", id="text-too-short"),
    pytest.param(at_name, "x" * 41, "Typ tussen 2 en 40 tekens.", id="text-too-long"),
    pytest.param(at_name, "   ", "Typ tussen 2 en 40 tekens.", id="text-blank"),
    pytest.param(at_age, "twaalf", "Typ een getal.", id="number-word"),
    pytest.param(at_age, "130", "Typ een getal tussen 0 en 120.", id="number-above"),
    pytest.param(at_age, "-1", "Typ een getal tussen 0 en 120.", id="number-below"),
    pytest.param(at_age, "nan", "Typ een getal.", id="number-nan"),
    pytest.param(at_age, "inf", "Typ een getal.", id="number-infinite"),
    pytest.param(at_town, "Xyzzy", "Die gemeente ken ik niet.", id="municipality-unknown"),
    pytest.param(at_when, "13-13-2026", "Ik kan die datum niet lezen.", id="date-invalid"),
    # a date read but not in the calendar is told so (try-out 2026-12-07: "31-09-2026")
    pytest.param(at_when, "31-02-2026", "31 februari bestaat niet: februari heeft 28 dagen. Typ de datum nog een keer, "
                 "bijvoorbeeld 28 februari.", id="date-does-not-exist"),
    pytest.param(at_when, "binnenkort ergens", "Ik kan die datum niet lezen.", id="date-words"),
    # a week to come where the past is asked: the week said, not its Monday (the known list, s31)
    pytest.param(at_when, "volgende week", "Ik lees: de week van maandag 30 november 2026 tot en met zondag 6 december 2026. "
                 "Die week moet nog komen.", id="date-week-future-for-past"),
    pytest.param(at_when, "1-1-2027", "Ik lees: vrijdag 1 januari 2027. Die datum ligt in de toekomst.",
                 id="date-future-for-past"),
    pytest.param(at_consent, "misschien", "Typ ja of nee.", id="yesno"),
    pytest.param(at_menu, "banaan", "Kies een knop of typ het nummer.", id="choice"),
]


@pytest.mark.parametrize(("go", "bad", "message"), BAD_INPUT)
def test_bad_input_is_asked_again_with_a_helpful_message_and_nothing_is_saved(chat, go, bad, message):
    go(chat)
    kept = chat.state
    said = chat.say(bad)
    # a choice's buttons come again below the message; other questions keep theirs
    assert said == ([message, "Waarmee kan ik helpen?"] if go is at_menu else [message])
    assert chat.where == (kept.flow, kept.step)
    assert chat.state.vars == kept.vars
    assert chat.state.fails == 1


@pytest.mark.parametrize(("go", "bad", "message"), BAD_INPUT)
def test_the_third_wrong_answer_offers_a_way_out(chat, go, bad, message):
    go(chat)
    chat.say(bad)
    chat.say(bad)
    assert chat.say(bad) == [f"{message}\n\n{WAY_OUT}"]
    assert chat.question.token == "_way"
    assert chat.buttons == ["Eén vraag terug", "Opnieuw beginnen", "Met een mens praten"]


def fail_three_times_at_age(chat: Chat) -> None:
    at_age(chat)
    for _ in range(3):
        chat.say("twaalf")


def test_the_way_out_back_button_goes_one_question_back(chat):
    fail_three_times_at_age(chat)
    assert chat.press("back") == [NAME]
    assert chat.state.fails == 0


def test_the_way_out_restart_button_starts_again(chat):
    fail_three_times_at_age(chat)
    assert chat.press("restart") == [WELCOME, MENU]
    assert chat.state.vars == {}


def test_the_way_out_person_button_hands_off_and_asks_again(desk_chat):
    fail_three_times_at_age(desk_chat)
    assert desk_chat.press("person") == ["Ik vraag een mens voor je.", AGE]
    assert desk_chat.of(HandOff) == [HandOff(urgent=False)]


def test_after_the_way_out_a_right_answer_still_works_and_resets_the_count(chat):
    fail_three_times_at_age(chat)
    assert chat.say("12") == [TOWN]
    assert chat.state.fails == 0
    assert chat.say("Xyzzy") == ["Die gemeente ken ik niet."]


def test_a_very_long_message_is_refused_politely_and_changes_nothing(chat, place):
    question, _ = place(chat)
    kept = chat.state
    assert chat.say("a" * 10_000) == [f"Dat is te lang (meer dan {MAX_INPUT} tekens).", question]
    assert chat.state == kept


def test_html_in_an_answer_is_kept_as_its_words_and_its_tags_stay_out_of_a_letter(chat):
    """Pasted HTML is cleaned when typed (bot.markup.cleaned, try-out 37): what is stored is what a letter holds."""
    at_name(chat)
    assert chat.say("<b>Anna</b> &amp; <script>x()</script> <3") == [AGE]
    assert chat.state.vars["name"] == "Anna & x() <3"
    chat.say("30")
    chat.say("Utrecht")
    chat.say("1-10-2026")
    [letter] = [a.document for a in chat.of(Send) if a.document]
    assert letter.title == "Brief van Anna & x() <3"
    assert letter.content.startswith("Ik, Anna & x() <3 (30), uit Utrecht,")


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice"])
def test_something_the_bot_cannot_read_changes_nothing_and_repeats_the_question(chat, place, kind):
    question, _ = place(chat)
    kept = chat.state
    assert chat.send(Unsupported(kind)) == ["Ik kan alleen tekst lezen.", question]
    assert chat.state == kept


def test_a_photo_as_the_first_message_starts_the_conversation(chat):
    assert chat.send(Unsupported("photo")) == ["Ik kan alleen tekst lezen.", WELCOME, MENU]


# ========================================================= crisis


DESPAIR = "Bel de testlijn 0800-1234. Je staat er niet alleen voor."


def test_a_crisis_is_answered_first_and_the_conversation_goes_on_where_it_was(chat, place):
    question, _ = place(chat)
    where, answers = chat.where, dict(chat.state.vars)
    assert chat.say("ik wil dood") == [DESPAIR, question]
    assert chat.where == where
    assert chat.stats == ["crisis:despair"]
    assert chat.state.vars == {**answers, "_crisis": True}  # the crisis text is not saved as an answer


def test_after_a_crisis_the_question_can_still_be_answered(chat):
    at_name(chat)
    chat.say("Ik wil dood, echt")
    assert chat.texts[0] == DESPAIR
    assert chat.say("Anna") == [AGE]
    assert chat.state.vars["name"] == "Anna"


def test_after_a_crisis_asking_for_a_person_is_urgent(chat):
    at_name(chat)
    chat.say("ik wil dood")
    chat.say("mens")
    assert chat.of(HandOff) == [HandOff(urgent=True)]


def test_a_crisis_in_the_first_message_is_answered_before_the_welcome(chat):
    assert chat.say("ik wil dood") == [DESPAIR, WELCOME, MENU]


def test_a_crisis_in_an_english_first_message_is_answered_in_english(chat):
    """No platform language (Matrix, the console): the message's own language, from the crisis lines on."""
    assert chat.say("i want to die") == ["Call the test line 0800-1234. You are not alone.",
                                         "Welcome to the test bot.", "What can I help with?"]
    assert chat.state is not None and chat.state.lang == "en"


def test_a_safety_crisis_runs_the_safety_flow_and_returns_to_the_question(chat, place):
    question, _ = place(chat)
    where = chat.where
    assert chat.say("Ik word bedreigd door hem") == ["Ben je bedreigd? Bel 112 bij direct gevaar.", "Ben je nu veilig?"]
    assert chat.where == ("safety", "safe_now")
    assert chat.say("ja") == ["Dank je. We gaan verder waar we waren.", question]
    assert chat.where == where
    assert chat.state.vars["safe_now"] is True


def test_inside_the_safety_flow_a_threat_is_an_answer_not_a_new_crisis(chat):
    # A professional describing the threat in the safety flow must not loop on the crisis reply.
    at_name(chat)
    chat.say("bedreigd")
    replies = chat.say("ik ben bedreigd")
    assert "Ben je bedreigd? Bel 112 bij direct gevaar." not in replies
    assert chat.where[0] == "safety"
    assert chat.state.stack == [("main", "name")]


def test_a_button_is_not_checked_for_a_crisis(chat):
    at_menu(chat)
    chat.press("report")
    assert chat.stats == []


def copy_fixtures(root: Path) -> tuple[Path, Path]:
    """The fixture flow set in a folder of its own, to change like a moderator would."""
    flows, locales = root / "flows", root / "locales"
    shutil.copytree(FIXTURE_FLOWS, flows)
    shutil.copytree(FIXTURE_LOCALES, locales)
    return flows, locales


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def threat_menu(tmp_path: Path, ctx: TurnContext) -> Chat:
    """The fixture menu with "Iets melden" named "Ik ben bedreigd!", as the professional's menu has it."""
    flows, locales = copy_fixtures(tmp_path)
    replace_in(locales / "nl" / "main.yaml", "report: Iets melden", "report: Ik ben bedreigd!")
    chat = Chat(load_fixture_flows(flows, locales), ctx)
    at_menu(chat)
    return chat


@pytest.mark.parametrize("typed", ["Ik ben bedreigd!", "  ik BEN   bedreigd "])
def test_typing_the_whole_label_of_an_option_chooses_it_before_the_crisis_check(threat_menu, typed):
    assert threat_menu.say(typed) == [WHAT]
    assert threat_menu.where == ("main", "what")
    assert threat_menu.stats == []


@pytest.mark.parametrize("typed", ["ik ben bedreigd door hem", "bedreigd"])
def test_a_text_with_crisis_words_that_is_not_a_whole_label_still_gets_the_crisis_answer(threat_menu, typed):
    # "bedreigd" alone is part of the label: match_buttons would pick the option, the crisis check goes first
    assert threat_menu.say(typed) == ["Ben je bedreigd? Bel 112 bij direct gevaar.", "Ben je nu veilig?"]
    assert threat_menu.where == ("safety", "safe_now")
    assert threat_menu.state.stack == [("main", "menu")]


def test_a_despair_text_at_a_choice_step_gets_the_crisis_reply_first(threat_menu):
    assert threat_menu.say("ik wil dood") == [DESPAIR, MENU]
    assert threat_menu.stats == ["crisis:despair"]


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize("typed", ["ik wil dood", "Ik ben bedreigd, ik wil dood"])
def test_a_suicide_statement_at_the_professionals_menu_gets_the_113_reply_first(ctx, typed):
    chat = Chat(shipped(), ctx)
    chat.command("start")
    chat.say("2")  # professional
    menu = chat.texts[-1]
    assert chat.where == ("main", "pro_menu")
    assert chat.say(typed) == [chat.fs.render("nl", "crisis.suicide", {}), chat.fs.render("nl", "crisis.pause.question", {})]
    assert chat.stats == ["crisis:suicide"]
    assert chat.where == ("main", "pro_menu")
    assert chat.press("go:suicide", "_crisis") == [menu]


# ==================================================== changed flows


def test_a_conversation_at_a_step_that_no_longer_exists_is_offered_a_fresh_start(chat):
    lost = State(flow="main", step="removed_step", lang="nl", version="old", vars={"name": "Anna"})
    chat.state = lost
    turn = handle(chat.fs, lost, Text("Anna"), chat.ctx)
    assert [a.text for a in turn.actions] == ["De vragen zijn veranderd."]
    assert [(c.id, c.label) for c in turn.actions[0].choices] == [
        ("again", "Dit deel opnieuw"), ("menu", "Naar het begin")]
    turn = handle(chat.fs, turn.state, Choice("again", "_recover"), chat.ctx)
    assert [a.text for a in turn.actions] == [WELCOME, MENU]
    assert turn.state.step == "menu" and turn.state.vars == {}


def test_a_recovery_button_from_before_the_new_ids_goes_to_the_beginning(chat):
    lost = State(flow="termijn", step="removed_step", lang="nl", version="old", stack=[("main", "more")],
                 pending="recover")
    turn = handle(chat.fs, lost, Choice("main", "_recover"), chat.ctx)
    assert [a.text for a in turn.actions] == [WELCOME, MENU]


@pytest.fixture
def renamed_date_step(tmp_path: Path) -> FlowSet:
    """The fixture flows after a moderator renamed termijn's date question (start_date -> decided_on)."""
    flows, locales = copy_fixtures(tmp_path)
    termijn = flows / "termijn.yaml"
    replace_in(termijn, "next: start_date", "next: decided_on")
    replace_in(termijn, "  start_date:\n    ask:", "  decided_on:\n    ask:")
    return load_fixture_flows(flows, locales)


def at_lost_date_question(chat: Chat, renamed: FlowSet) -> None:
    """A parent chose "Beroep" (3 months) in the called termijn flow; then the flows were reloaded."""
    at_menu(chat)
    chat.press("deadline")
    chat.press("appeal")
    assert chat.where == ("termijn", "start_date") and chat.state.vars["months"] == 3
    chat.fs = renamed
    assert chat.say("1 oktober 2026") == ["De vragen zijn veranderd."]
    assert [(c.id, c.label) for c in chat.question.choices] == [
        ("again", "Dit deel opnieuw"), ("menu", "Naar het begin")]


@pytest.mark.parametrize("how", ["press", "type"])
def test_a_step_removed_inside_a_called_flow_restarts_that_flow_as_a_call_from_main(chat, renamed_date_step, how):
    at_lost_date_question(chat, renamed_date_step)
    assert (chat.press("again") if how == "press" else chat.say("dit deel opnieuw")) == [KIND]
    assert chat.where == ("termijn", "kind")
    assert chat.state.stack == [("main", "more")]  # its end still returns to main
    assert chat.stats == ["start:termijn"]
    assert chat.state.version == renamed_date_step.version
    chat.press("objection")
    # 6 weeks from the second try only: the 3 months chosen before the reload are forgotten
    assert chat.say("1 oktober 2026") == ["De laatste dag is 12 november 2026.", MORE]
    assert chat.where == ("main", "more") and chat.state.stack == []
    assert "months" not in chat.state.vars


def test_a_step_removed_inside_a_called_flow_can_also_go_to_the_beginning(chat, renamed_date_step):
    at_lost_date_question(chat, renamed_date_step)
    assert chat.press("menu") == [WELCOME, MENU]
    assert chat.state.stack == [] and chat.state.vars == {}


def test_a_called_flow_whose_return_step_was_removed_offers_a_fresh_start(chat):
    # A reload deleted the step `main` continues at after `termijn`: tell the user, do not crash.
    lost = State(flow="termijn", step="start_date", lang="nl", version="old",
                 vars={"months": 3}, stack=[("main", "removed_after_call")])
    chat.state = lost
    turn = handle(chat.fs, lost, Text("1 oktober 2026"), chat.ctx)
    assert turn.error is None
    texts = [a.text for a in turn.actions if isinstance(a, Send | Edit)]
    assert texts[-1] == "De vragen zijn veranderd."
    assert turn.state is not None and turn.state.pending == "recover"
    assert (turn.state.flow, turn.state.stack) == ("main", [])  # main's step is the one gone
    turn = handle(chat.fs, turn.state, Choice("again", "_recover"), chat.ctx)
    assert [a.text for a in turn.actions] == [WELCOME, MENU]


def test_an_old_way_out_button_is_stale_once_the_question_was_answered(chat):
    fail_three_times_at_age(chat)
    assert chat.say("12") == [TOWN]
    assert chat.press("restart", token="_way") == [STALE, TOWN]
    assert chat.where == ("main", "town")


# ================================================== broken flows


def test_a_text_that_fails_to_render_is_an_apology_and_a_fresh_start_not_a_crash(ctx):
    # a fresh flow set: this test breaks one of its texts after loading (as a bad template
    # that only fails at run time would)
    fs = load_fixture_flows()
    broken = "main.letter.intro"
    fs.locales.texts["nl"][broken] = LocaleText("{{ nothing.deeper }}", fs.locales.texts["nl"][broken].where)
    chat = Chat(fs, ctx)
    at_when(chat)
    turn = handle(fs, chat.state, Text("1-10-2026"), ctx)
    assert [a.text for a in turn.actions] == ["Sorry, er ging iets mis.", WELCOME, MENU]
    assert turn.error == "UndefinedError at main.letter"  # the step whose text failed
    assert (turn.state.flow, turn.state.step) == ("main", "menu")


# ================================================ random conversations

WORDS = ["1", "2", "3", "5", "8", "ja", "nee", "Anna", "12", "Utrecht", "Bergen", "Utrect", "1-10-2026", "gisteren",
         "terug", "opnieuw", "stop", "taal", "english", "nederlands", "hulp", "mens", "mijn gegevens", "ik wil dood",
         "bedreigd", "banaan", "", "<b>x</b>", "/start", "/start deadline", "/taal", "/vergeet", "x" * 5000]
IDS = ["letter", "deadline", "report", "lines", "person", "visit", "wipe", "bye", "menu", "done", "yes", "no",
       "appeal", "objection", "fine", "help", "c0", "c1", "none", "en", "nl", "back", "restart", "main",
       "again"]
TOKENS = ["menu", "more", "name", "consent", "kind", "town", "checkin", "_lang", "_forget", "_way", "_recover"]


@st.composite
def events(draw: st.DrawFn, chat: Chat) -> Event:
    kind = draw(st.sampled_from(["text", "text", "press", "press", "old", "command", "other"]))
    if kind == "text":
        return Text(draw(st.sampled_from(WORDS)))
    if kind == "press" and chat.question is not None:
        return Choice(draw(st.sampled_from([c.id for c in chat.question.choices] or ["x"])), chat.question.token)
    if kind in ("press", "old"):
        return Choice(draw(st.sampled_from(IDS)), draw(st.sampled_from(TOKENS)))
    if kind == "command":
        return Command(draw(st.sampled_from(["start", "help", "terug", "taal", "vergeet", "mens", "mijngegevens", "x"])),
                       draw(st.sampled_from(["", "en", "deadline"])))
    return draw(st.sampled_from([Unsupported("photo"), Timer("checkin"), Timer("unknown")]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_sequence_of_events_keeps_the_invariants(flowset, ctx, data):
    chat = Chat(flowset, ctx)
    for _ in range(data.draw(st.integers(min_value=1, max_value=25))):
        chat.send(data.draw(events(chat)))  # Chat.send asserts the invariants on every turn


def test_the_engine_does_not_read_the_clock(flowset):
    # the same events on another day give another date: today comes from the context only
    later = TurnContext(today=TODAY.replace(year=2030), now=datetime(2030, 11, 29, 10, 30, tzinfo=ZoneInfo("Europe/Amsterdam")))
    chat = Chat(flowset, later)
    at_menu(chat)
    chat.press("deadline")
    chat.press("objection")
    assert chat.say("gisteren")[0] == "De laatste dag is 9 januari 2031."


def test_turn_context_is_frozen(ctx):
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.today = TODAY  # type: ignore[misc]


def test_a_state_keeps_every_saved_answer_exactly_through_storage() -> None:
    """Answers the fast JSON writer refuses (an integer past 64 bits, a number as a key) come back unchanged."""
    state = State(flow="f", step="s", lang="nl", version="v",
                  vars={"amount": 10**30, "small": 12, "ratio": 0.1, "text": "één \u2028 “quote”", "by_year": {2026: "x"}})
    back = State.from_json(state.to_json())
    assert back.vars["amount"] == 10**30 and isinstance(back.vars["amount"], int)
    assert back.vars["by_year"] == {"2026": "x"}  # JSON keys are text, as before
    assert {k: v for k, v in back.vars.items() if k not in ("by_year",)} == {
        k: v for k, v in state.vars.items() if k != "by_year"}
    plain = State(flow="f", step="s", lang="nl", version="v", vars={"name": "Zoë", "n": 3}, started="f")
    assert State.from_json(plain.to_json()) == plain


@pytest.mark.parametrize(("stored", "asked"), [
    ('{"f":"main","s":"menu","l":"nl","v":"old","p":"forget"}', "Zal ik alles wissen?"),
    ('{"f":"main","s":"menu","l":"nl","v":"old","p":"language"}', "Welke taal?"),
])
def test_a_conversation_stored_at_a_system_question_is_asked_it_again(chat, stored, asked):
    # the stored strings are SystemQuestion's values: a conversation saved by an earlier version goes on
    state = State.from_json(stored)
    turn = handle(chat.fs, state, Command("verder"), chat.ctx)
    assert [a.text for a in turn.actions] == [asked]
    assert turn.actions[0].token == {"forget": "_forget", "language": "_lang"}[state.pending]


# ---------------------------------------------------------------- a first message in English


@pytest.mark.parametrize("first", ["Hello, I need help with a complaint about my son and the guardian",
                                   "a parent wrote to me", "the guardian took my kids", "where can he complain",
                                   # an English greeting alone, and "foster mum" (try-out 2026-12-07: Dutch)
                                   "hello", "hi there!", "foster mum"])
def test_a_first_message_clearly_in_english_is_answered_in_english_with_the_way_back(flowset, ctx, first):
    """Matrix and the console give no app language: the person's own first words decide."""
    chat = Chat(flowset, ctx)
    texts = chat.say(first)
    assert texts[0] == "I will answer in English."
    assert chat.state.lang == "en"
    assert chat.say("Nederlands")[0] == "We gaan verder in het Nederlands."
    assert chat.state.lang == "nl"


def test_a_worker_s_short_english_first_message_gets_english_buttons(ctx):
    """"a parent threatens me" has no English function word but "me": it got Dutch buttons."""
    chat = Chat(shipped(), ctx)
    texts = chat.say("a parent threatens me")
    assert texts[0].startswith("You wrote in English")
    assert chat.state.lang == "en"
    assert [c.label for c in chat.question.choices] == ["I was threatened or attacked", "Go to the menu"]
    # "threatened": the crisis rule for a threatened worker is acted on (the crisis model's rule floor is
    # 0.5 since its third round, docs/CRISIS.md): the safety route at once, in English too
    chat = Chat(shipped(), ctx)
    texts = chat.say("a parent threatened me")
    assert texts[0].startswith("This sounds like a threat because of your work") and chat.state.lang == "en"
    assert [c.label for c in chat.question.choices] == ["I am in danger right now", "The danger is over",
                                                        "I am preparing a home visit"]


# a lone "hi": Dutch teenagers type it too (try-out 31 got English for it)
@pytest.mark.parametrize("first", ["hallo ik heb hulp nodig met mijn zoon", "help", "hallo", "hoi", "hey", "hi", "Hi",
                                   "ik wil een complaint doen over de voogd", "OTS?", "een ouder dreigt mij",
                                   "de voogd heeft mijn kids weggehaald", "mijn ex zegt dat de judge het zo wil"])
def test_a_dutch_short_or_mixed_first_message_stays_in_the_default_language(flowset, ctx, first):
    chat = Chat(flowset, ctx)
    chat.say(first)
    assert chat.state.lang == "nl"
    assert "I will answer in English." not in chat.texts


def test_the_platforms_language_wins_over_the_guess(flowset, ctx):
    chat = Chat(flowset, dataclasses.replace(ctx, lang_hint="nl"))
    chat.say("Hello, I need help with a complaint about my son")
    assert chat.state.lang == "nl"


@pytest.mark.parametrize(("typed", "meant"), [
    ("ja", "show"), ("Ja, graag", "show"), ("ja hoor", "show"), ("meer", "show"), ("more", "show"),
    ("nee", "skip"), ("nee, bedankt", "skip"), ("no thanks", "skip"), ("laat zien", "show"),
    ("misschien", None), ("ja nee", None),
])
def test_typed_yes_no_or_more_picks_the_button_whose_label_starts_so(typed, meant):
    """'Ja, laat zien' / 'Nee, dank je': a person types 'ja', 'ja graag' or 'meer', not the label
    (a new user found that only English 'yes' and 'more' worked there)."""
    from bot.engine.words import read_button

    labels = {"show": "Ja, laat zien", "skip": "Nee, dank je"}
    assert read_button(typed, [(cid, cid) for cid in labels], labels.__getitem__) == meant


@pytest.mark.parametrize(("typed", "meant"), [
    ("kan ik iemand spreken?", "person"), ("mag ik een medewerker", "person"), ("ik wil met iemand praten", "person"),
    ("can I speak to a person please", "person"), ("talk to someone", "person"), ("i want a human", "person"),
    ("mens", "person"), ("iemand", None), ("ik wil iemand", None), ("ik wil iemand vermoorden", None),
    ("ik wil klagen over een medewerker", None), ("kan ik iemand aangeven", None),
])
def test_asking_for_a_person_in_ones_own_words_is_the_person_command(typed, meant):
    """'iemand' alone may answer 'who?'; asking to speak to someone is asking for a person."""
    from bot.engine.words import keyword_of, normalise

    assert keyword_of(normalise(typed)) == meant


# ================================================ dates: the side of today, the weekday typed


def test_a_date_without_a_year_moved_to_last_year_is_shown_even_where_dates_are_not_echoed(flowset):
    """The fixture's date question saves without "Klopt dat?", but a year the person did not type
    (on 5 January, "28-12" is last December's) is shown first."""
    today = date(TODAY.year + 1, 1, 5)
    chat = Chat(flowset, TurnContext(today=today, now=NOW, default_lang="nl"))
    at_when(chat)
    assert chat.say("28-12") == [f"Ik lees: {_weekday_nl(date(today.year - 1, 12, 28))} 28 december {today.year - 1}."
                                 " Klopt dat?"]
    chat.say("ja")
    assert chat.state.vars["decision_date"] == date(today.year - 1, 12, 28).isoformat()


def _weekday_nl(day: date) -> str:
    return ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"][day.weekday()]


def test_a_weekday_that_does_not_match_the_date_is_asked_about(chat):
    typed = TODAY - timedelta(days=1)  # the day before: in the same week, unless today is a Monday
    other = typed - timedelta(days=typed.weekday())  # the Monday of that week
    if other == typed:
        other += timedelta(days=1)
    at_when(chat)
    said = f"{_weekday_nl(other)} {typed.day} {format_date(typed, 'nl').split(' ')[1]}"
    assert chat.say(said) == [f"Je typte {_weekday_nl(other)}, maar {format_date(typed, 'nl')} is een "
                              f"{_weekday_nl(typed)}. Welke dag bedoel je?"]
    assert chat.buttons == [f"{_weekday_nl(d)} {format_date(d, 'nl')}" for d in (typed, other)]
    chat.press("d1")
    assert chat.state.vars["decision_date"] == other.isoformat()


def test_a_weekday_whose_day_lies_ahead_is_said_and_the_date_asked_back(flowset):
    today = TODAY - timedelta(days=TODAY.weekday()) + timedelta(days=2)  # a Wednesday
    chat = Chat(flowset, TurnContext(today=today, now=NOW, default_lang="nl"))
    yesterday = today - timedelta(days=1)
    at_when(chat)
    shown = chat.say(f"vrijdag {yesterday.day} {format_date(yesterday, 'nl').split(' ')[1]}")
    assert shown == [f"Let op: je typte vrijdag. Die datum is een andere dag: dinsdag {format_date(yesterday, 'nl')}.",
                     f"Ik lees: dinsdag {format_date(yesterday, 'nl')}. Klopt dat?"]
    chat.say("nee, gisteren")  # a correction after "nee" is read (here saved: this question does not echo)
    assert chat.state.vars["decision_date"] == yesterday.isoformat()


@pytest.mark.parametrize(("typed", "meant"), [
    ("ja heb screenshots", "all"), ("yes i took screenshots", "all"), ("nee geen bewijs", "none"),
    ("ja maar een deel", None), ("yes but only a few", None), ("ja nee", None),
])
def test_a_yes_or_no_said_first_then_more_words_is_that_button(typed, meant):
    """"ja heb screenshots" at [Ja] [Een deel] [Nee] was "not understood" (a fourth try-out); words that
    take the yes back or name another button leave it to be asked again."""
    from bot.engine.words import read_button

    labels = {"all": "Ja", "some": "Een deel of a few", "none": "Nee, of er is geen bewijs"}
    assert read_button(typed, [(cid, cid) for cid in labels], labels.__getitem__) == meant


@pytest.mark.parametrize(("text", "meant"), [
    ("my home address was posted on facebook yesterday by a parent", "a parent"),
    ("I visited the mother when the father shouted", None),
    ("I visited the mother when I was threatened by the father", "the father"),
    (None, None), ("nothing about who", None),
])
def test_said_in_reads_who_only_when_the_text_is_clear(text, meant):
    """The safety summary's "Who did it" is filled from the first message only when it clearly says so."""
    from bot.expressions import BASE_FUNCTIONS

    assert BASE_FUNCTIONS["said_in"](text, ["a parent", "the father", "the mother"]) == meant
    assert BASE_FUNCTIONS["said_in"]("op insta gezet", {"insta": "Instagram", "instagram": "Instagram"}) == "Instagram"
