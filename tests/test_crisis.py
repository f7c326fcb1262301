"""The crisis detector, measured on a labelled set, and its reply texts.

The set (tests/data/crisis_labelled.tsv) was written before the rules. About a
quarter of it is a held-out part, chosen by a hash of the text so nobody picks
it: rules are tuned on the rest only, and the held-out figures are printed
separately so they show how the rules do on messages they were not fitted to.
Misses are listed for the tuning part only; set WEGWIJZER_SHOW_HOLDOUT=1 to
list held-out misses too (then that part is no longer unseen: re-split it).
The 178 messages added by the November 2026 probe (from the line "k wil dood"
on) were all seen while tuning, because suicide recall must be 1.0 on the whole
set: their held-out quarter is not unseen.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pytest
from ruamel.yaml import YAML

from bot.crisis import CrisisDetector, CrisisRulesError, normalise
from bot.crisis_model import CrisisModel
from bot.directory import load_directory

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "flows" / "crisis.yaml"
DATA = ROOT / "tests" / "data" / "crisis_labelled.tsv"
CLASSES = (
    "suicide",
    "child_danger",
    "domestic_violence",
    "harm_intent",
    "professional_threatened",
    "threatened",
)
LABELS = (*CLASSES, "none")


@dataclass(frozen=True)
class Example:
    label: str
    lang: str
    text: str

    @property
    def held_out(self) -> bool:
        return hashlib.sha256(self.text.encode("utf-8")).digest()[0] % 4 == 0


@dataclass
class Scores:
    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]
    misses: list[tuple[Example, str, str]]

    def precision(self, cls: str) -> float:
        found = self.tp[cls] + self.fp[cls]
        return self.tp[cls] / found if found else 1.0

    def recall(self, cls: str) -> float:
        actual = self.tp[cls] + self.fn[cls]
        return self.tp[cls] / actual if actual else 1.0


def _examples() -> list[Example]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [Example(r["label"], r["lang"], r["text"]) for r in rows]


def _score(detector: CrisisDetector, examples: list[Example]) -> Scores:
    scores = Scores(Counter(), Counter(), Counter(), [])
    for example in examples:
        found = detector.detect(example.text)
        predicted = found.crisis_class if found else "none"
        if predicted == example.label:
            if predicted != "none":
                scores.tp[predicted] += 1
            continue
        if predicted != "none":
            scores.fp[predicted] += 1
        if example.label != "none":
            scores.fn[example.label] += 1
        scores.misses.append((example, predicted, found.rule_id if found else "-"))
    return scores


def _table(title: str, examples: list[Example], scores: Scores) -> list[str]:
    lines = [f"{title} ({len(examples)} messages)"]
    for cls in CLASSES:
        lines.append(
            f"  {cls:<24} precision {scores.precision(cls):.3f}  "
            f"recall {scores.recall(cls):.3f}  "
            f"(tp {scores.tp[cls]}, fp {scores.fp[cls]}, fn {scores.fn[cls]})"
        )
    return lines


@pytest.fixture(scope="module")
def detector() -> CrisisDetector:
    return CrisisDetector.from_yaml_file(RULES)


@pytest.fixture(scope="module")
def shipped_detector() -> CrisisDetector:
    """The rules with the shipped model, as the bot runs them."""
    from bot.flows.loader import load_flowset
    from tests.conftest import TODAY

    found: CrisisDetector = load_flowset(ROOT / "flows", ROOT / "locales", root=ROOT, today=TODAY).crisis
    assert found.model is not None
    return found


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return _examples()


# --------------------------------------------------------------- the data set


def test_the_labelled_set_is_big_and_varied(examples: list[Example]) -> None:
    assert len(examples) >= 200
    assert {e.label for e in examples} == set(LABELS)
    assert {e.lang for e in examples} == {"nl", "en"}
    assert len({e.text for e in examples}) == len(examples), "duplicate messages"
    labels = Counter(e.label for e in examples)
    assert all(labels[c] >= 30 for c in CLASSES)
    assert labels["none"] >= len(examples) / 3, "needs many hard negatives"
    held_out = [e for e in examples if e.held_out]
    assert 0.2 <= len(held_out) / len(examples) <= 0.3


# ------------------------------------------------------------------- measuring


def test_precision_and_recall_per_class(
    detector: CrisisDetector,
    examples: list[Example],
    capsys: pytest.CaptureFixture[str],
) -> None:
    tuning = [e for e in examples if not e.held_out]
    held_out = [e for e in examples if e.held_out]
    every = _score(detector, examples)
    tuned = _score(detector, tuning)
    unseen = _score(detector, held_out)
    lines = ["", "crisis detector, flows/crisis.yaml on tests/data/crisis_labelled.tsv"]
    lines += _table("all", examples, every)
    lines += _table("tuning part", tuning, tuned)
    lines += _table("held-out part (not used for tuning)", held_out, unseen)
    show_held_out = os.environ.get("WEGWIJZER_SHOW_HOLDOUT") == "1"
    for example, predicted, rule in every.misses:
        if example.held_out and not show_held_out:
            continue
        part = "held-out" if example.held_out else "tuning"
        lines.append(f"  miss ({part}): {example.label} -> {predicted} [{rule}] {example.text}")
    summary = "\n".join(lines)
    print(summary)  # kept in the captured output of the report (pytest -rP)
    with capsys.disabled():
        print(summary)  # always on the terminal

    suicide_misses = [m for m in every.misses if m[0].label == "suicide"]
    assert every.recall("suicide") == 1.0, f"missed suicide examples: {suicide_misses}"
    for cls in CLASSES:
        assert every.precision(cls) >= 0.9, cls
        assert every.recall(cls) >= 0.9, cls
        assert tuned.precision(cls) >= 0.9, cls
        assert tuned.recall(cls) >= 0.9, cls


@pytest.mark.timeout(60)  # a regex that backtracks catastrophically would hang here, not just be slow
def test_long_and_adversarial_messages_are_classified(detector: CrisisDetector) -> None:
    """Every free text goes through the detector, 10,000-character pastes included.

    How fast it is, is measured by the benchmark (bench/), never asserted here.
    """
    filler = "mijn kind " * 1000
    assert detector.detect(filler + "ik wil dood") is not None
    assert detector.detect("a" * 10_000) is None
    assert detector.detect(("ik " * 3000) + ".") is None
    assert detector.detect("mezelf " * 2000 + "aan") is None


# ------------------------------------------------------------ single messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik wil niet meer leven", "suicide"),
        ("ik wil dooood", "suicide"),
        ("I want to kill myself", "suicide"),
        ("ik wil dood, en ik maak die gezinsvoogd af", "suicide"),  # priority
        ("mijn ex slaat de kinderen", "child_danger"),
        ("mijn man slaat me", "domestic_violence"),
        ("my partner hits me", "domestic_violence"),
        ("mijn vriend heeft me gewurgd", "domestic_violence"),
        ("ik durf niet naar huis", "domestic_violence"),
        ("ik maak die gezinsvoogd af", "harm_intent"),
        ("ik vermoord die gezinsvoogd haha", "harm_intent"),
        ("ik word bedreigd door een ouder", "professional_threatened"),
        ("als jeugdbeschermer word ik bedreigd", "professional_threatened"),
        ("they posted my home address", "professional_threatened"),
        ("ik word bedreigd", "threatened"),  # no work context: not the professionals' flow
        ("iemand volgde me naar huis", "threatened"),
        ("someone threatened to kill me", "threatened"),
        ("er staat iemand voor mijn deur die me bedreigt", "threatened"),
        ("ik word bedreigd door de gezinsvoogd", None),  # a parent's complaint, not danger
        ("de gezinsvoogd dreigt met een uithuisplaatsing", None),
        ("de deadline bedreigt ons project", None),
        ("bedreigde diersoorten", None),
        ("I feel threatened by the new policy", None),
        ("hij volgt me niet in mijn verhaal", None),
        ("my son hits the ball hard", None),
        ("mijn zoon slaat de bal hard", None),
        ("ik lach me dood", None),
        ("I nearly died laughing", None),
        ("ik ben doodmoe", None),
        ("our team is killing it", None),
        ('In het nieuws: "Vader bedreigt jeugdzorgmedewerker met de dood"', None),
        ("the news said a father threatened to kill a social worker", None),
        ("Ik ben woedend op de gezinsvoogd en dien een klacht in", None),
        # how people in distress actually type, and the idioms that look like it
        ("k wil dood", "suicide"),
        ("ik snij mezelf weer elke avond", "suicide"),
        ("ik kap ermee met alles, niemand gaat me missen", "suicide"),
        ("mama sluit me elke avond op in mijn kamer", "child_danger"),
        ("my dad said he will kill me if i tell anyone", "child_danger"),
        ("my mom will kill me if she finds out", None),  # a teenager's idiom
        ("mijn ex volgde me naar huis", "domestic_violence"),
        ("my ex is outside with a knife", "domestic_violence"),
        ("mijn ex volgt me op instagram", None),
        ("ik ga die voogd wat aandoen", "harm_intent"),
        ("ik ga er wat aan doen", None),
        ("they know where I live", "threatened"),
        ("hij heeft een mes", "threatened"),
        ("ik ga dood van de stress", None),
        ("ik kap ermee, die gezinsvoogd luistert toch nooit", None),
        ("", None),
    ],
)
def test_single_messages(detector: CrisisDetector, text: str, expected: str | None) -> None:
    found = detector.detect(text)
    assert (found.crisis_class if found else None) == expected


def test_a_match_says_what_to_do(detector: CrisisDetector) -> None:
    found = detector.detect("ik ben gedoxt")
    assert found is not None
    assert found.reply == "crisis.professional_threatened" and found.then == "safety"
    home = detector.detect("mijn man slaat me")
    assert home is not None
    # someone who may be in danger is asked whether to go on now, not handed the next question
    assert home.reply == "crisis.domestic_violence" and home.then == "pause"
    suicide = detector.detect("ik wil dood")
    assert suicide is not None and suicide.then == "pause"
    assert suicide.rule_id == "wants_to_die"
    threatened = detector.detect("ik word bedreigd")
    assert threatened is not None
    assert threatened.reply == "crisis.threatened" and threatened.then == "pause"
    # inside the safety flow both threat classes are answers, a suicide statement never
    assert threatened.quiet_in_safety_flow and found.quiet_in_safety_flow
    assert not suicide.quiet_in_safety_flow


def test_priority_order(detector: CrisisDetector) -> None:
    assert detector.classes == CLASSES


def test_the_professionals_flow_needs_a_work_context() -> None:
    """Only doxing and photos/names put online stand on their own; every other
    professional_threatened rule must also find {{work}} (a client, "als
    jeugdbeschermer", "op mijn werk" ...), or people hurt at home end up in the
    professionals' safety flow."""
    raw = YAML(typ="safe").load(RULES.read_text("utf-8"))
    context_free = {"address_published", "photo_or_name_online"}
    for rule in raw["classes"]["professional_threatened"]["rules"]:
        if rule["id"] in context_free:
            continue
        assert "{{work}}" in (rule.get("all") or []), rule["id"]
    priority = raw["priority"]
    assert priority.index("domestic_violence") < priority.index("professional_threatened")
    assert raw["classes"]["domestic_violence"]["then"] != "safety"
    # anyone else threatened comes last and stays where they were
    assert priority[-1] == "threatened"
    assert raw["classes"]["threatened"]["then"] != "safety"


def test_normalise() -> None:
    assert normalise("Ik wil DOOOOD!!! Echt") == "ik wil dood . echt"
    assert normalise("z'n adres") == "zn adres"
    assert normalise("suïcidaal") == "suicidaal"
    assert normalise("self-harm") == "selfharm"
    assert normalise("Hij zei: “ik vermoord je”") == 'hij zei "ik vermoord je"'
    assert normalise("\t ik\u00a0 wil\n\n  NIET  meer ") == "ik wil . niet meer"
    assert normalise("jaaaa nee-nee it's") == "jaa neenee its"


def test_the_prefilter_never_skips_a_pattern_that_matches(detector: CrisisDetector) -> None:
    """Each pattern runs only when the words it needs are in the message (bot/crisis.py, prefilters).
    On every message of the labelled set, also with its clauses blanked out and with spaces around
    it, no pattern that matches is skipped."""
    from bot.crisis import _possible, _Reading

    patterns = {id(p): p for c in detector._classes for p in (*c.blanks, *c.vetoes, *(q for r in c.rules for q in r.patterns))}
    skipped = []
    for example in _examples():
        text = normalise(example.text)
        for variant in (text, text.replace(" . ", "   "), f" {text} "):
            present = _Reading(detector._index).present(variant)
            skipped += [(variant, n) for n, p in enumerate(patterns.values())
                        if not _possible(p.masks, present) and p.regex.search(variant)]
    assert not skipped


# --------------------------------------------------------- moderators' errors


def _rules(**overrides: object) -> dict[str, Any]:
    data: dict[str, Any] = {
        "priority": ["suicide"],
        "classes": {
            "suicide": {
                "reply": "crisis.suicide",
                "then": "continue",
                "rules": [{"id": "r1", "pattern": r"\bdood\b"}],
            }
        },
    }
    data.update(overrides)
    return data


def test_rules_from_plain_data() -> None:
    detector = CrisisDetector.from_data(_rules())
    assert detector.detect("dood") is not None


def test_invalid_regex_names_the_rule() -> None:
    data = _rules()
    data["classes"]["suicide"]["rules"][0]["pattern"] = "(unclosed"
    with pytest.raises(CrisisRulesError, match="suicide rule 'r1'"):
        CrisisDetector.from_data(data)


def test_priority_must_name_every_class() -> None:
    with pytest.raises(CrisisRulesError, match="priority"):
        CrisisDetector.from_data(_rules(priority=[]))


def test_unknown_field_and_unknown_fragment() -> None:
    data = _rules()
    data["classes"]["suicide"]["rules"][0]["patern"] = "x"
    with pytest.raises(CrisisRulesError, match="patern"):
        CrisisDetector.from_data(data)
    data = _rules()
    data["classes"]["suicide"]["rules"][0]["pattern"] = "{{missing}}"
    with pytest.raises(CrisisRulesError, match="missing"):
        CrisisDetector.from_data(data)


# ------------------------------------------------------------- reply texts


def _locale(lang: str) -> dict[str, str]:
    data = YAML(typ="safe").load((ROOT / "locales" / lang / "crisis.yaml").read_text("utf-8"))
    texts: dict[str, str] = data["crisis"]
    return texts


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_reply_exists_and_renders_from_the_directory(lang: str) -> None:
    raw = YAML(typ="safe").load(RULES.read_text("utf-8"))
    directory = load_directory(ROOT / "flows" / "directory")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    texts = _locale(lang)
    for spec in raw["classes"].values():
        key = spec["reply"].split(".", 1)[1]
        assert key in texts, (lang, spec["reply"])
        rendered = env.from_string(texts[key]).render(d=directory.entries)
        assert "{{" not in rendered and rendered.strip()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_replies_name_the_right_line_first(lang: str) -> None:
    directory = load_directory(ROOT / "flows" / "directory")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)

    def render(key: str) -> str:
        return env.from_string(_locale(lang)[key]).render(d=directory.entries)

    # 112 first, but only for whoever has already acted ("ik heb pillen genomen": an overdose is
    # 112's, and a line of 113 above it cost time); everyone else reads 113 on the next line
    first, second = render("suicide").splitlines()[:2]
    assert "112" in first and "113" not in first and ("ingenomen" in first or "taken" in first)
    assert second.index("113") < second.index("0800-0113")
    child = render("child_danger")
    assert child.index("112") < child.index("0800-2000")
    # a threatened worker's reply is always followed at once by the safety route's first question,
    # whose first line says 112: the reply does not say it as well (it was said twice in one turn)
    assert "112" not in render("professional_threatened")
    safety = YAML(typ="safe").load((ROOT / "locales" / lang / "safety.yaml").read_text("utf-8"))["safety"]
    first = env.from_string(safety["danger"]["question"]).render(d=directory.entries)
    assert first.split("\n")[0].count("112") == 1
    violence = render("domestic_violence")
    assert "112" in violence.split("\n")[0]
    assert violence.index("112") < violence.index("0800-2000")
    harm = render("harm_intent")
    assert "jeugdstem.nl" in harm
    threatened = render("threatened")
    assert "112" in threatened.split("\n")[0]
    assert threatened.index("112") < threatened.index("0900-8844") < threatened.index("0900-0101")
    # a worker who did not mention the work is pointed to the safety flow (deeplink "veilig")
    assert "/start veilig" in threatened
    assert YAML(typ="safe").load((ROOT / "flows" / "safety.yaml").read_text("utf-8"))["deeplink"] == "veilig"


#: Everyday whole messages both models read as crises, at a menu or as a first message too: a father introducing
#: himself got the threatened professionals' safety route, a contact dispute the domestic-violence answer.
EVERYDAY = ["ik ben de vader", "Ik ben de moeder van Sem", "I am the father", "ik ben zijn vader",
            "hoi, ik ben de oma van Lisa", "my ex won't let me see the kids", "My ex doesn't let me see my son anymore",
            "mijn ex laat me de kinderen niet zien",
            # a new user's try-out (2026-12-07): a first message, a menu, a yes/no in the safety flow
            "ik weet het niet", "Ik weet het niet.", "weet ik niet", "ik weet niet of ik hier goed ben", "I don't know",
            "no not yet, its sunday", "not yet, will do tomorrow", "not yet, its friday", "not yet, maybe monday",
            "nee, nog niet, het is zondag", "nog niet, bel ik morgen"]
#: ... while the same words with a danger in them still are.
NOT_EVERYDAY = ["ik ben de vader en ik ga hem vermoorden", "ik ben de vader van een kind dat hij slaat",
                "my ex won't let me see the kids and he hits them", "ik ben de moeder, ik wil dood",
                "mijn ex laat me de kinderen niet zien en slaat ze", "ik weet het niet meer, ik wil dood",
                "ik weet het niet, ik wil dood", "not yet, i want to die", "nog niet, maar morgen maak ik er een eind aan",
                # a second try-out (2026-12-07): "still going on" and "I think so" are answers (ONLY_ANSWERS) ...
                "het gaat nog steeds door en ik wil dood", "het houdt niet op, ik wil niet meer leven",
                "its still going on and i want to die", "ik denk het wel, ik ga mezelf iets aandoen",
                "i think so, i want to kill myself", "it hasnt stopped, he hits me every day",
                "ik denk vorige week, toen heb ik heel veel pillen genomen"]

ONLY_ANSWERS = ["ik weet niet meer wanneer", "Ik weet het niet meer.", "weet ik niet meer", "geen idee",
                "ik kan het niet meer vinden", "ik ben het vergeten", "I don't know anymore when", "no idea",
                "I can't find the letter", "i dont remember", "no, last week tuesday", "Nee, vorige week dinsdag",
                "last tuesday", "zondagavond", "two weeks ago", "no, last friday evening", "no, it was last month",
                "it was around the end of november", "nee, het was begin december", "on the 3rd of November",
                "I would rather not", "I would rather not say", "ik heb liever van niet", "dat zeg ik liever niet",
                "liever niet", "I'd prefer not to say", "no thanks", "nee, bedankt", "last tuesday i think",
                "vorige week dinsdag denk ik",
                # a second try-out (2026-12-07): at a date question or a yes/no step these got 113 or 112
                "het gaat nog steeds door", "Het gaat nog steeds door.", "het houdt niet op", "its still going on",
                "It's still going on", "it hasn't stopped", "ik denk het wel", "ik denk het niet", "i think so",
                "I don't think so", "ik denk vorige week", "i think last week", "last tuesday i think",
                "nog steeds", "het gebeurt nog steeds"]
NEVER_ANSWERS = ["ik kan niet meer", "ik zie het niet meer zitten", "ik wil niet meer", "ik weet het niet meer, ik wil dood",
                 "ik weet niet meer wat ik moet doen", "I can't go on", "i dont know how to go on anymore",
                 "ik weet niet meer hoe ik verder moet", "I don't want to live anymore",
                 "no, last week tuesday i took all my pills", "vorige week dinsdag wilde ik dood",
                 "I would rather not be here anymore", "ik ben er liever niet meer", "ik leef liever niet meer",
                 "I would rather not live", "I'd rather not wake up tomorrow", "ik denk niet dat ik nog verder kan",
                 "i dont think i can go on", "ik kan het niet meer aan", *NOT_EVERYDAY]


@pytest.mark.parametrize("text", ONLY_ANSWERS)
def test_i_dont_know_or_a_day_alone_is_an_answer_the_engine_may_leave_to_the_question(detector, text):
    assert detector.only_an_answer(text)


@pytest.mark.parametrize("text", EVERYDAY)
def test_an_everyday_message_is_no_crisis_anywhere(shipped_detector, text):
    assert shipped_detector.assess(text) is None


@pytest.mark.parametrize("text", NOT_EVERYDAY)
def test_the_same_words_with_a_danger_in_them_still_are(shipped_detector, text):
    assert shipped_detector.assess(text) is not None


def test_no_crisis_message_of_the_training_corpus_and_no_despair_in_its_own_words_reads_as_only_an_answer(detector):
    """`answers:` may never hide a crisis: none of the labelled crisis messages the project trains on
    is one (the frozen held-out and probe sets are reported apart, never tuned on)."""
    from bot.crisis_train import TRAIN_FILES, read_corpus

    crisis = [e.text for e in read_corpus([ROOT / f for f in TRAIN_FILES]) if e.label != "none"]
    assert len(crisis) > 1000
    assert [t for t in crisis + NEVER_ANSWERS if detector.only_an_answer(t)] == []


def test_a_broken_answer_pattern_is_named_in_the_error():
    data = YAML(typ="safe").load(RULES.read_text(encoding="utf-8"))
    data["answers"] = [{"id": "broken", "pattern": "(ik weet"}]
    with pytest.raises(CrisisRulesError, match="answer 'broken': invalid regular expression"):
        CrisisDetector.from_data(data)


#: A young person who wants out of home: not suicide, a worry about home. Asked ("Voel je je thuis
#: niet veilig?", the Kindertelefoon and Veilig Thuis in the question), as a counsellor would.
NOT_SAFE_AT_HOME = ["ik wil niet meer thuis wonen", "kan ik ergens anders slapen vannacht",
                    "can i sleep somewhere else tonight", "ik wil vannacht niet naar huis",
                    # the English twin was caught as suicide (review 2026-12-07)
                    "i dont want to live at home anymore", "I don't want to live at home anymore",
                    "i do not want to be home any more"]


@pytest.mark.parametrize("text", NOT_SAFE_AT_HOME)
def test_wanting_out_of_home_asks_whether_the_young_person_is_safe_at_home(shipped_detector, text):
    found = shipped_detector.assess(text)
    assert found is not None and (found.crisis_class, found.sure, found.check) == ("child_danger", False, "crisis.check.home")


@pytest.mark.parametrize("text", ["ik wil niet meer thuis wonen, ik wil dood", "ik wil niet meer leven",
                                  "i dont want to live anymore", "I don't want to live at home anymore, I want to die",
                                  "mijn vader slaat me, ik wil niet meer thuis wonen",
                                  # a story around it: only a short message is asked about (the rule's 90 characters)
                                  "ik ben 14. de vriend van mijn moeder komt s nachts op mijn kamer en zit aan me als zij "
                                  "slaapt. ik wil niet naar huis na school"])
def test_wanting_out_of_home_with_a_danger_in_it_is_still_answered_at_once(shipped_detector, text):
    found = shipped_detector.assess(text)
    assert found is not None and found.sure


def test_right_after_a_crisis_answer_an_everyday_message_is_the_models_again(shipped_detector):
    """"not yet, will do tomorrow" typed at "go on now?" after the 113 answer may be a plan."""
    assert shipped_detector.assess("not yet, will do tomorrow") is None
    assert shipped_detector.assess("not yet, will do tomorrow", everyday=False) is not None


#: "Ik kan niet meer" as a whole clause: a warning sign (113 lists it). The rule asks the suicide check
#: question whatever model ships: a model trained on more independent wording scored "ik ben op, ik kan
#: gewoon niet meer" 0.83, under its threshold, and the question was lost (docs/CRISIS.md, rounds 6-8).
CANNOT_ANYMORE = ["ik ben op, ik kan gewoon niet meer", "Ik kan het echt niet meer.", "k kan nie meer",
                  "maar ik kan dit niet meer", "sorry. ik kan het gewoon niet meer hoor", "I can't anymore",
                  "i cant do this anymore", "I can't take it anymore!!", "honestly i cannot do this anymore"]
#: Paperwork and plans: words after it in the clause, or someone else's words
NOT_CANNOT_ANYMORE = ["ik kan niet meer inloggen", "ik kan niet meer wachten op die brief", "ik kan niet meer bellen",
                      "ik kan niet meer bij mijn dossier", "ik kan dat niet meer betalen", "i cant log in anymore",
                      "my daughter said i cant anymore", "ik kan niet meer dan twee uur per week"]


def silent_or_sure_model(words: dict[str, list[int]]) -> CrisisModel:
    """A real model artefact with hand-set weights (as tests/test_crisis_tiers.py): a message with one of
    `words` (four words or more) has that word's logits; any other is harmless."""
    from bot.crisis_model import CHAR_NGRAMS, FORMAT, TOKEN_PATTERN, WORD_NGRAMS

    return CrisisModel.from_data({
        "format": FORMAT, "labels": ["none", "suicide"], "classes": ["suicide"], "char_ngrams": list(CHAR_NGRAMS),
        "word_ngrams": list(WORD_NGRAMS), "token_pattern": TOKEN_PATTERN, "documents": 1, "scale": 1,
        "thresholds": {"suicide": {"sure": 0.95, "unsure": 0.5}}, "bias": [5, 0], "chars": {}, "words": words,
    })


@pytest.mark.parametrize("text", CANNOT_ANYMORE)
def test_i_cant_anymore_as_a_whole_clause_asks_the_suicide_check_question_whatever_the_model(detector, text):
    for model in (None, silent_or_sure_model({})):
        found = detector.with_model(model).assess(text)
        assert found is not None and (found.rule_id, found.crisis_class, found.sure, found.check) == (
            "cannot_anymore_asks", "suicide", False, "crisis.check.suicide"), (text, found)


@pytest.mark.parametrize("text", NOT_CANNOT_ANYMORE)
def test_i_cant_anymore_with_more_in_its_clause_is_no_such_warning(detector, text):
    found = detector.detect(text)
    assert found is None or found.rule_id != "cannot_anymore_asks"


def test_the_question_gives_way_to_a_surer_answer(detector, shipped_detector):
    """Never less than without the rule: another rule's match, or the model alone sure, is answered as before.

    With the shipped model too: a rule makes "I can't do this anymore. I have a rope ready" sure, whatever
    the model says. What plain despair alone gets is the product's decision, tested on what a person sees
    (test_plain_despair_first_reply_names_113_and_its_number), not on which tier this model gives it."""
    for text, rule in [("I can't do this anymore. I have a rope ready", "english_first_person"),
                       ("ik kan niet meer. mijn man slaat me", "partner_hurts_me"),
                       ("ik kan niet meer. ik wil dood", "wants_to_die")]:
        for reader in (detector, shipped_detector):
            found = reader.assess(text)
            assert found is not None and (found.rule_id, found.sure) == (rule, True)
    sure = detector.with_model(silent_or_sure_model({"wanhoop": [1, 0, 10]}))
    found = sure.assess("wanhoop wanhoop wanhoop wanhoop. ik kan niet meer")
    assert found is not None and (found.rule_id, found.sure) == ("model", True)


#: Plain despair, no plan: the lead's decision (docs/CRISIS.md, ninth round) before any candidate was built
PLAIN_DESPAIR = [("nl", "Ik kan niet meer."), ("nl", "alles is zwaar en ik kan niet meer"),
                 ("en", "I can't do this anymore."), ("en", "everything is too much and i cant anymore")]
#: The rule's question with any model so far (shipped: 0.60 and 0.73, far under `sure`): the way through "Ja" too
RULE_ASKS = [("nl", "ik kan echt niet meer hoor"), ("en", "but i cant handle it anymore")]
#: What the check question and the crisis answer both ask, in the person's language
ASKS = {"nl": "Denk je aan zelfdoding?", "en": "Are you thinking about suicide?"}


@functools.cache
def shipped_flows() -> Any:
    """The shipped flows, locales and model, loaded once for this module's conversations."""
    from bot.flows.loader import load_flowset
    from tests.conftest import TODAY

    return load_flowset(ROOT / "flows", ROOT / "locales", root=ROOT, today=TODAY)


def plain_despair_chat(lang: str, where: str) -> Any:
    """A chat with the shipped flows and model: before a first message, or at the council request (free text)."""
    from bot.engine import TurnContext
    from tests.conftest import NOW, TODAY
    from tests.test_engine import Chat

    chat = Chat(shipped_flows(), TurnContext(today=TODAY, now=NOW, default_lang=lang))
    if where == "free_text":
        chat.command("start", "inspreken")
        for text in ("Vlieland", "2", "2", "jeugdhulp op het eiland", "2", "1", "Ouders op het eiland wachten op jeugdhulp"):
            chat.say(text)
    return chat


@pytest.mark.parametrize("where", ["first_message", "free_text"])
@pytest.mark.parametrize(("lang", "text"), PLAIN_DESPAIR + RULE_ASKS)
def test_plain_despair_first_reply_names_113_and_its_number(lang, text, where):
    """"Ik kan niet meer." and the like: the first reply names 113 and 0800-0113, as the crisis answer or as
    the check question (either is the product's answer to plain despair, so a retrained model may give
    either); after the question "Ja" gives the 113 answer. Why a decision, not a figure: the eighth round's
    candidate asked where the shipped model answered, and whether that was a loss was decided after the fact."""
    chat = plain_despair_chat(lang, where)
    said = chat.say(text)
    assert "113" in said[0] and "0800-0113" in said[0] and ASKS[lang] in said[0], said[0]
    asked = chat.question is not None and any(c.id == "yes:suicide" for c in chat.question.choices)
    assert asked or (lang, text) not in RULE_ASKS, said
    if asked:  # the check question: "Ja" gives the answer
        said = chat.press("yes:suicide")
        assert any("0800-0113" in line and ASKS[lang] in line for line in said), said
        assert chat.stats[0] == "crisis:suicide", chat.stats


def test_giving_way_needs_a_question() -> None:
    data = {"priority": ["suicide"], "classes": {"suicide": {"reply": "crisis.suicide", "then": "continue", "rules": [
        {"id": "asks", "pattern": "x", "gives_way": True}]}}}
    with pytest.raises(CrisisRulesError, match="'gives_way' needs 'check'"):
        CrisisDetector.from_data(data)


@pytest.mark.parametrize(("lang", "asked", "double"), [("nl", "Is een kind nu in gevaar?", "niet veilig"),
                                                      ("en", "Is a child in danger right now?", "not safe")])
def test_the_child_danger_check_asks_the_plain_way(lang, asked, double):
    """Try-out 31: "Is een kind nu niet veilig? 1. Ja 2. Nee" made a foster parent say yes to a negative. The
    scenario that showed it (foster_menu_own_words_nl) gets its occasion from a rule's suicide question since the
    ninth round (a model's child-danger guess moved with every model), so the question's words are read here."""
    text = shipped_flows().render(lang, "crisis.check.child_danger", {})
    assert text.startswith(asked) and double not in text
