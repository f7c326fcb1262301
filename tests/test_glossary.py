"""'Wat is een OTS?' finds the explained word (bot/glossary.py), and only a question does."""

from __future__ import annotations

import functools

import pytest

from bot.directory import load_directory
from bot.engine import TurnContext
from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from bot.glossary import GlossaryIndex
from tests.conftest import NOW, REPO, TODAY
from tests.test_directory import DIRECTORY
from tests.test_engine import Chat


@functools.cache
def index() -> GlossaryIndex:
    directory = load_directory(DIRECTORY)
    return GlossaryIndex({entry_id: entry.typed for entry_id, entry in directory.entries.items()})


@pytest.mark.parametrize(("question", "entry"), [
    ("wat is een OTS?", "ots"), ("Wat is gezag", "gezag"), ("wat betekent uithuisplaatsing?", "uithuisplaatsing"),
    ("wat is een gezinsvoogd", "jeugdbeschermer"), ("What is a supervision order?", "ots"),
    ("what does OTS mean?", "ots"), ("OTS?", "ots"), ("wat is de griffie?", "griffie_uitleg"),
    ("wat is een zitting", "zitting"), ("what is parental authority", "gezag"), ("Wat is een GI?", "gi"),
    # the bodies people meet in the bot's answers: their own card
    ("wat is Veilig Thuis?", "veilig_thuis"), ("what is het juridisch loket?", "juridisch_loket"),
    ("wat is jeugdstem?", "jeugdstem"), ("wat is de kindertelefoon", "kindertelefoon"),
    ("what is victim support?", "slachtofferhulp"), ("wat is de kinderombudsman?", "kinderombudsman"),
    # a new user's try-out (2026-12-07): typed so, and sent to "Complaint or disagreement"
    ("whats ots", "ots"), ("whats a vpt code?", "ela_vpt"), ("we have an OTS and i dont understand what it means", "ots"),
    ("i don't understand what an OTS is", "ots"), ("ik snap niet wat een ots is", "ots"),
    ("we hebben een ots en ik begrijp niet wat dat is", "ots"),
])
def test_a_question_about_a_word_finds_its_entry(question: str, entry: str) -> None:
    assert index().asked(question) == entry


@pytest.mark.parametrize("text", [
    "ik heb gezag", "OTS", "de OTS is verlengd en ik ben het er niet mee eens", "wat is jouw naam?",
    "wat is er gebeurd met mijn kind", "what is going on", "", "?" * 500, "wat is " + "x" * 5_000,
    # not knowing what something means, with no word or two words it could be about
    "i dont know what it means", "we have an OTS and a guardian and i dont know what it means",
    "ik snap niet wat de voogd bedoelt",
])
def test_anything_else_is_not_taken_for_a_question(text: str) -> None:
    assert index().asked(text) is None


def typed_words() -> list[tuple[str, str]]:
    """(entry, word) for every word people type for an entry, in every directory file."""
    return [(entry_id, word) for entry_id, entry in load_directory(DIRECTORY).entries.items() for word in entry.typed]


@pytest.mark.parametrize(("entry", "word"), typed_words())
def test_every_typed_word_answers_what_is_it_in_both_languages(entry: str, word: str) -> None:
    """Also: a word belongs to one entry (else the other entry's card would come)."""
    for question in (f"wat is {word}?", f"Wat betekent {word}", f"what is {word}?", f"What does {word} mean?"):
        assert index().asked(question) == entry, question


def test_the_glossary_explains_the_words_people_meet_in_short_plain_texts() -> None:
    directory = load_directory(DIRECTORY)
    terms = {i: e for i, e in directory.entries.items() if e.kind == "term"}
    assert len(terms) >= 30
    answered = {entry for entry, _ in typed_words()}
    for word in ("machtiging uithuisplaatsing", "gezinsvoogd", "jeugdbeschermingsplan", "raad voor de kinderbescherming",
                 "raadsonderzoek", "veilig thuis", "verzoekschrift", "beschikking", "hoger beroep", "bezwaar", "klacht",
                 "klachtencommissie", "nationale ombudsman", "kinderombudsman", "vertrouwenspersoon", "akj", "jeugdhulp",
                 "wijkteam", "omgangsregeling", "bijzondere curator", "advocaat", "toevoeging", "juridisch loket",
                 "inspreekrecht", "raadsvergadering", "commissie", "griffie", "griffier", "pleegzorg",
                 "gesloten jeugdhulp", "gezag beëindigen", "perspectiefbesluit", "skj", "tuchtrecht", "meldcode",
                 "second opinion", "dossier inzien", "ots", "ondertoezichtstelling"):
        assert index().asked(f"wat is {word}?") in answered, word
    for entry_id, entry in terms.items():
        assert entry.confidence == "unverified" and entry.checked is None, entry_id  # never "checked" by research
        for lang in ("nl", "en"):
            assert len(entry.purpose[lang]) <= 400, (entry_id, lang)


@pytest.mark.parametrize("question", [
    "wat is een kwartiermaker?", "Wat betekent zorgmachtiging", "what is a kwartiermaker?",
    "what does wraparound care mean?", "wat bedoel je met casusregie?",
])
def test_a_question_about_a_word_no_entry_explains_is_told_apart(question: str) -> None:
    assert index().asked(question) is None
    assert index().unknown(question)


@pytest.mark.parametrize("text", [
    "wat is een OTS?",  # known: its card, not "ken ik niet"
    "wat is jouw naam?", "wat is er gebeurd met mijn kind", "what is going on", "wat is het verschil?",
    "wat is de volgende stap", "kwartiermaker?", "ik weet niet wat een kwartiermaker is", "ja",
    "wat is een heel lang woord met veel te veel woorden erin", "wat is " + "x" * 5_000,
])
def test_only_a_question_about_a_short_unknown_word_counts_as_one(text: str) -> None:
    assert not index().unknown(text)


def test_the_checker_has_nothing_to_say_about_the_glossary_but_that_a_person_must_still_check_it() -> None:
    """Every term has a deep source page (not a home page), is shown (its typed words), and is
    only "not checked live": research in stored copies never counts as a check."""
    flows = load_flowset(REPO / "flows", REPO / "locales")
    said = [(p.kind, p.message) for p in flows.warnings if p.where.file.endswith("directory/glossary.yaml")]
    assert said and {kind for kind, _ in said} == {"not-checked-live"}


@functools.cache
def shipped() -> FlowSet:
    return load_flowset(REPO / "flows", REPO / "locales")


QUESTION = {"nl": "Welke termijn wil je uitrekenen?", "en": "Which deadline do you want to work out?"}
ASKED = {"nl": "Wat is {}?", "en": "What is {}?"}


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("entry", [i for i, e in load_directory(DIRECTORY).entries.items() if e.kind == "term"])
def test_each_term_is_explained_in_the_chat_with_its_source_and_the_question_follows(entry: str, lang: str) -> None:
    """Through the engine: the card (name, the explanation, "not checked by a person", the source),
    then the question the person was at, in their language."""
    fs = shipped()
    chat = Chat(fs, TurnContext(today=TODAY, now=NOW, default_lang=lang))
    assert QUESTION[lang] in "\n".join(chat.command("start", "termijn"))
    found = load_directory(DIRECTORY).entries[entry]
    card, *after = chat.say(ASKED[lang].format(found.typed[0]))
    assert card == fs.cards[entry][lang] and QUESTION[lang] in "\n".join(after)
    assert found.name[lang] in card and " ".join(found.purpose[lang].split()[:6]) in card and found.source in card


#: The words of the trade the safety flow's own texts and cards use (try-out 25: "wat is VPT" got
#: "Dat woord ken ik niet", and ELA-afspraken was never explained). A word added to those texts
#: that a professional may not know belongs here, with a card.
SAFETY_JARGON = ("VPT-code", "VPT", "Veilige Publieke Taak", "ELA-afspraken", "domicilie kiezen", "aangifte",
                 "melding bij de politie", "doxing", "agressieprotocol", "handelingskader doxing", "steungesprek",
                 "Openbaar Ministerie", "OM", "Helpwanted", "Slachtofferhulp", "Meld Misdaad Anoniem", "ACM", "DSA",
                 "notice and takedown")


def test_every_jargon_word_of_the_safety_flow_has_a_card_in_both_languages() -> None:
    said = (REPO / "locales" / "nl" / "safety.yaml").read_text() + (DIRECTORY / "safety.yaml").read_text()
    for word in SAFETY_JARGON:
        assert word.lower() in said.lower(), f"{word!r} is no longer in the safety texts: take it off the list"
        for question in (f"wat is {word}?", f"Wat betekent {word}", f"what is {word}?", f"wat is de {word}"):
            assert index().asked(question) is not None, question
