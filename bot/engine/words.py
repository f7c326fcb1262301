"""Reading what a person typed: commands, keywords, yes and no, and the button they meant.

One place for it, because the engine, the safety desk and moderation all read
commands and typed buttons, and two readings of "/stop" would be one too many.
Pure functions and tables only: no state, no flow set, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.budget import MAX_INPUT as MAX_INPUT  # the longest answer read; shared with the checker
from bot.clauses import MARKS, first_clause
from bot.folding import folded
from bot.language import looks_english as looks_english  # a first message's language; flows ask it too
from bot.not_knowing import DONT_KNOW as DONT_KNOW  # "weet ik niet": one list, shared with the flows

#: Commands and their aliases in both languages -> the interrupt they mean.
COMMANDS = {
    "start": "start",
    "opnieuw": "restart", "restart": "restart", "menu": "restart", "begin": "restart",
    "help": "help", "hulp": "help",
    "terug": "back", "back": "back", "vorige": "back",
    "taal": "language", "language": "language", "lang": "language",
    "stop": "forget", "vergeet": "forget", "forget": "forget", "forgetme": "forget",
    "mijngegevens": "mydata", "mydata": "mydata",
    "persoon": "person", "mens": "person", "person": "person", "human": "person",
    "verder": "resume", "resume": "resume",
}
#: Typed at a question with an option `help`, these choose it instead of showing the bot's help.
HELP_WORDS = frozenset({"help", "hulp", "help me", "help mij", "hulp nodig", "i need help"})
#: Whole messages that act as a command when typed as text.
KEYWORDS = {
    "help": "help", "hulp": "help", "?": "help",
    "terug": "back", "back": "back", "vorige": "back",
    "opnieuw": "restart", "opnieuw beginnen": "restart", "start over": "restart",
    "menu": "restart", "hoofdmenu": "restart", "main menu": "restart",
    "stop": "forget", "vergeet mij": "forget", "forget me": "forget",
    "taal": "language", "language": "language",
    "english": "language:en", "engels": "language:en",
    "nederlands": "language:nl", "dutch": "language:nl",
    "mijn gegevens": "mydata", "my data": "mydata",
    "mens": "person", "persoon": "person", "person": "person",
    "een mens": "person", "een persoon": "person", "talk to a person": "person",
    "met een mens praten": "person", "een mens spreken": "person", "ik wil een mens": "person",
    "ik wil een mens spreken": "person", "ik wil met een mens praten": "person", "medewerker": "person",
    "een medewerker": "person", "echt mens": "person", "een echt mens": "person",
    "a person": "person", "human": "person", "a human": "person", "a real person": "person",
    "talk to a human": "person", "speak to a person": "person", "i want to talk to a person": "person",
}
#: Asking for a person in one's own words, as a whole message ("kan ik iemand spreken?",
#: "mag ik een medewerker", "can I speak to a person please"): the same as "mens".
_PERSON_REQUEST = re.compile(
    r"(?:(?:ik wil|ik zou|ik wil graag|kan ik|mag ik|kun je mij|kunt u mij|is er) )?(?:graag )?(?:met |een |nu )*"
    r"(?:(?:echt(?:e)? )?(?:mens|persoon|medewerker|hulpverlener)(?: (?:spreken|praten|bellen|aan de lijn))?"
    r"|iemand (?:spreken|praten|bellen|aan de lijn))"  # "iemand" alone may answer "who?"
    r"(?: (?:alsjeblieft|alstublieft|aub|graag|please))?"
    r"|(?:(?:i want to|i would like to|id like to|can i|could i|may i|let me|i need to) )?(?:talk|speak|chat) "
    r"(?:to|with) (?:a |an |some )?(?:real )?(?:human|person|someone|somebody|agent|staff member|people)"
    r"(?: (?:please|now))?|(?:i want|i need|get me) (?:a |an )?(?:real )?(?:human|person)(?: please)?")


def keyword_of(word: str) -> str | None:
    """The command a whole normalised message means ("terug", "mens", "kan ik iemand spreken"), or None."""
    found = KEYWORDS.get(word)
    if found is None and _PERSON_REQUEST.fullmatch(_PUNCTUATION.sub("", word)):
        return "person"
    return found


YES = {"ja", "j", "yes", "y", "klopt", "ok", "oke", "okay", "jazeker", "zeker", "yep", "graag", "ja graag",
       "ja hoor", "jawel", "ja dat klopt", "ja klopt", "prima", "yes please", "sure",
       # a hedged yes is a yes (the model read "ik denk het wel" as despair; crisis.yaml `think_so_nl`)
       "ik denk het wel", "denk het wel", "ik denk van wel", "volgens mij wel", "ja denk ik", "ja denk het wel",
       "i think so", "yes i think so", "i guess so", "i believe so", "yeah i think so", "probably"}
NO = {"nee", "n", "no", "nope", "niet", "neen", "liever niet", "nee dank je", "nee dankje", "nee bedankt",
      "no thanks", "no thank you", "ik denk het niet", "denk het niet", "ik denk van niet", "volgens mij niet",
      "nee denk ik", "i dont think so", "i don't think so", "i think not", "no i dont think so", "no i don't think so"}
#: Doubt in a short answer ("ik denk het wel", "volgens mij niet", "ja denk ik", "probably", "i guess so"):
#: elsewhere a yes or no, but where the answer goes into a letter as a fact (a step's `unsure`) it is no answer.
#: Also a hope, a "right?" or someone else's word ("ja ik hoop het", "ja als het goed is", "ja toch",
#: "ja volgens de voogd" became "ik heb het gezag" in a letter; review 2026-12-07).
_HEDGE = re.compile(
    r"\b(?:denk|dacht|volgens|geloof|misschien|waarschijnlijk|vermoedelijk|niet zeker|ik neem aan|lijkt me"
    r"|hoop|hopelijk|als het goed is|toch|zou moeten"
    r"|think|guess|believe|probably|maybe|perhaps|suppose|not sure|i assume|i reckon"
    r"|hope|hopefully|according to|should be|i was told)\b")
#: Longer than this, a text is a story with a doubt in it, not a hedged yes or no.
_HEDGE_WORDS = 8


def hedged(text: str) -> bool:
    """Is a short typed answer a yes or no said with doubt ("ik denk het wel", "i think so")?"""
    said = _PUNCTUATION.sub("", normalise(text))
    return len(said.split()) <= _HEDGE_WORDS and doubt_in(said)


#: After a yes, words that correct or take it back: "ja, maar de GI heeft de voogdij", "ja vroeger wel", "ja had ik,
#: tot de rechter het afnam", "yes but the year was 2025" (review35: each became "ik heb het gezag" or the year).
_TAKEN_BACK = re.compile(
    r"\b(?:maar|echter|behalve|vroeger|niet meer|niet langer|tot de|tot het|totdat|afgenomen|afnam"
    r"|but|however|except|used to|not anymore|no longer|until|taken away|anymore)\b")


def yes_taken_back(text: str) -> bool:
    """Is a typed answer a yes said first and then corrected or taken back ("ja, maar ...", "yes, used to")?
    Where the answer becomes a fact (a step's `unsure`) it is no yes; "yes its still going on" is."""
    said = _PUNCTUATION.sub("", normalise(text)).split(" ", 1)
    return len(said) == 2 and said[0] in YES and bool(_TAKEN_BACK.search(said[1]))


def doubt_in(text: str) -> bool:
    """Does a typed text hold a doubt anywhere, however long ("ja volgens de voogd heb ik ...")? Where an
    answer is a fact (a step's `unsure`) such a yes said first is no yes; "ja het gaat nog steeds door" is."""
    return bool(_HEDGE.search(_PUNCTUATION.sub("", normalise(text))))


#: Doubt at a crisis check question ("Denk je aan zelfdoding?"): not yes, not no, and a counsellor hears a
#: yes in it (try-out 33: "weet ik niet" and "soms" lost the question and 113). With DONT_KNOW and `hedged`.
DOUBT = frozenset({
    "soms", "soms wel", "soms een beetje", "misschien", "misschien wel", "een beetje", "beetje", "af en toe",
    "wel eens", "weleens", "soort van", "een soort van", "kan zijn", "zou kunnen", "ik twijfel", "twijfel",
    "een klein beetje", "heel soms", "nu en dan", "sometimes", "maybe", "maybe yes", "kind of", "kinda", "sort of",
    "a bit", "a little", "a little bit", "perhaps", "now and then", "at times", "i dont know maybe", "not really sure",
})


def doubtful(text: str) -> bool:
    """Is a short typed answer doubt, neither yes nor no ("weet ik niet", "soms", "een beetje", "idk", "maybe")?"""
    said = _PUNCTUATION.sub("", normalise(text))
    return said not in YES | NO and (said in DOUBT or said in DONT_KNOW or hedged(said))


#: Marks inside a typed yes or a label's first word ("ja, graag", "Nee, dank je"): those that end a clause.
_PUNCTUATION = re.compile(f"[{re.escape(MARKS)}]")
#: "Meer" at "Wil je meer zien? [Ja, laat zien] [Nee, dank je]" means the yes button.
MORE = {"meer", "more", "meer zien", "meer info", "meer informatie", "show more", "show me"}
#: "/start inspreken" typed as text (Matrix and the console have no command entities).
COMMAND_TEXT = re.compile(r"^/([a-zA-Z_]{1,32})(?:@\w+)?(?:\s+(.{0,200}))?$", re.DOTALL)
#: A typed number (an option, a count of weeks) has at most this many digits; it also keeps
#: int() far from Python's limit on the digits it converts (4,300), which raises ValueError.
TYPED_DIGITS = 4

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lowercase, no diacritics, single spaces, no surrounding punctuation."""
    text = _SPACES.sub(" ", folded(text.strip()))
    return text.strip(" .!,;:'\"")


def typed_number(text: str) -> int | None:
    """A typed option number ("2", also "٢") or small count, or None.

    Decimal digits only: `str.isdigit()` also accepts "፩" and "²", which int() refuses
    with a ValueError that escaped the turn; int() reads every decimal digit.
    """
    if text.isdecimal() and len(text) <= TYPED_DIGITS:
        return int(text)
    return None


def command_meaning(name: str) -> str | None:
    """What a command ("/Stop", "terug") means, or None for a command the bot does not know."""
    return COMMANDS.get(name.lower().lstrip("/"))


def read_button(raw: str, pairs: Sequence[tuple[str, str]], label: Callable[[str], str],
                clauses: bool = True) -> str | None:
    """The button a typed answer means: its number, id or (part of) its label, or None.

    `pairs` are (id, label key) in the order shown; `label` renders a key as the user reads
    it, and is only called when the number or id did not already decide. `clauses`: a label
    said first and a reason after it ("not yet, its sunday") is that label; not where the
    typed words are themselves the answer ("ja, de voogd belde niet terug" is a story).
    """
    text = normalise(raw)
    if not text or not pairs:  # a text question without buttons: nothing to read (and no regex to build)
        return None
    number = typed_number(text)
    if number is not None:
        index = number - 1
        return pairs[index][0] if 0 <= index < len(pairs) else None
    labels = [(cid, normalise(label(key))) for cid, key in pairs]
    plain = _PUNCTUATION.sub("", text)  # "ja, graag"
    for cid, shown in labels:
        # "allebei, de gi en de raad" is the label "Allebei: de GI en de Raad" typed
        if text in (shown, cid) or (plain and plain == _PUNCTUATION.sub("", shown)):
            return cid
    if plain in YES or plain in NO:
        hit = _yes_or_no(plain in YES, labels)
        if hit is not None:
            return hit
        if plain in YES and len(labels) == 1:  # "ja" at one button ("Begin met de GI"): that button
            return labels[0][0]
    if plain in DONT_KNOW:
        knows = [cid for cid, shown in labels if any(re.search(rf"\b{re.escape(p)}\b", shown) for p in DONT_KNOW)]
        if len(knows) == 1:
            return knows[0]
    if len(text) >= 3:
        hit = _part_of_label(text, labels)
        if hit is None and plain in MORE:
            hit = _yes_or_no(True, labels)
        if hit is None and clauses and (first := first_clause(text)) and not first.strip().isdecimal():
            # "not yet, its sunday" at [Not yet]: a label (or yes/no) said first, then a reason
            hit = read_button(first, pairs, label)
        if hit is None and clauses:
            hit = yes_or_no_first(plain, labels)[0]
        return hit
    return None


#: A label that starts so says no for now ("Nog niet" at "Heb je al contact gehad met de politie?")
_NOT_YET = ("nog niet", "not yet")


def _yes_or_no(yes: bool, labels: list[tuple[str, str]]) -> str | None:
    """A typed yes or no: the one button that says so (its label, the label's first word, or an id `yes`/`no`).

    A "no" is also the one button that says "not yet": "nee" and "nope" at the police question were
    "I do not understand" beside [Nog niet] (try-out 32)."""
    wanted = YES if yes else NO
    hits = [cid for cid, shown in labels
            if shown in wanted or _PUNCTUATION.sub("", shown).split(" ", 1)[0] in wanted  # "Ja, laat zien"
            or (not yes and _PUNCTUATION.sub("", shown).startswith(_NOT_YET))
            or (cid in ("yes", "no") and (cid == "yes") == yes)]
    return hits[0] if len(hits) == 1 else None


#: "ja heb screenshots", "yes its still going on": a yes or no, then more words without a comma
_FIRST_WORD = re.compile(r"^(\w+) (\S.*)$")
#: After a yes, words that take part of it back ("ja maar niet alles"): not read as the yes button
_BUT = frozenset({"maar", "but", "behalve", "except", "alleen", "only", "niet", "not", "geen", "no", "nee"})


def yes_or_no_first(text: str, labels: list[tuple[str, str]], asked: str = "") -> tuple[str | None, bool]:
    """A yes or no said first, then more: the button it means, and whether the rest only restates the
    question `asked` (its text) and its buttons.

    "ja het gaat nog steeds door", "yes i took screenshots" is that button (a try-out was told "I do
    not understand"); not when the rest names another button's words or takes the yes back ("ja maar
    een deel", "yes but not all"). Restating only ("ja hij weet het al" at "Weet je leidinggevende het
    al?") is the answer the crisis model may not read as despair; "ja, en hij staat voor mijn deur"
    is more. One reading for both: two lists of the same idea drifted (review 2026-12-07).
    """
    plain = _PUNCTUATION.sub("", normalise(text))
    m = _FIRST_WORD.match(plain)
    if m is None or (m.group(1) not in YES and m.group(1) not in NO):
        return None, False
    hit = _yes_or_no(m.group(1) in YES, labels)
    rest = set(m.group(2).split())
    if hit is None or rest & (_BUT if m.group(1) in YES else {"maar", "but"}):
        return None, False
    own = rest - _TOO_COMMON - YES - NO
    if any(cid != hit and own & set(_PUNCTUATION.sub("", shown).split()) for cid, shown in labels):
        return None, False
    said = set(re.findall(r"\w+", " ".join([normalise(asked), *(shown for _cid, shown in labels)])))
    return hit, set(re.findall(r"\w+", m.group(2))) <= said | _RESTATED


#: Small words a restated question may add ("ja hij weet het al", "yes she knows it already")
_RESTATED = frozenset({"ik", "hij", "zij", "ze", "het", "dat", "dit", "hem", "haar", "heb", "heeft", "is", "was", "al",
                       "nog", "wel", "hoor", "i", "he", "she", "it", "its", "they", "them", "that", "did", "do", "does",
                       "have", "has", "already", "yet", "still", "knows", "know", "weet", "weten"})


#: Words too small to name a button on their own ("een" chose "Een termijn uitrekenen").
_TOO_COMMON = frozenset({"een", "de", "het", "ik", "je", "en", "of", "in", "op", "met", "mijn", "van", "voor",
                         "a", "an", "the", "i", "and", "or", "my", "to", "on", "with", "for"})


def _part_of_label(text: str, labels: list[tuple[str, str]]) -> str | None:
    """The one label that starts with the typed text, else the one that has it as whole words."""
    if text in _TOO_COMMON:
        return None
    starts = [cid for cid, shown in labels if shown.startswith(text)]
    if len(starts) == 1:
        return starts[0]
    # `text in shown` first: a pattern of the whole typed text is new every time (built, never cached)
    words = [cid for cid, shown in labels if text in shown and re.search(rf"\b{re.escape(text)}\b", shown)]
    if not words:
        return _words_of_label(text, labels)
    if len(words) != 1:
        return None
    # "de raad" is in "Allebei: de GI en de Raad" only, but "raad" names "Raad voor de
    # Kinderbescherming" too: a text whose own words are in two labels does not choose by its "de"
    own = [w for w in text.split() if w not in _TOO_COMMON]
    if own and any(cid != words[0] and all(w in shown and re.search(rf"\b{re.escape(w)}\b", shown) for w in own)
                   for cid, shown in labels):
        return None
    return words[0]


def _words_of_label(text: str, labels: list[tuple[str, str]]) -> str | None:
    """The one label that holds every word typed, in the order typed, with words left out between them.

    Why: "feiten verbeteren" for [Feiten laten verbeteren] got "Ik begrijp niet welke keuze je bedoelt"
    (try-out 34); people type a button's own words without its small ones. Two words at least (one word
    is read above), every one in the label, and only one label holds them all, so a sentence that merely
    shares a word with a label is no choice.
    """
    own = [w for w in _PUNCTUATION.sub("", text).split() if w not in _TOO_COMMON]
    if len(own) < 2:
        return None
    # Only a label that holds every word can match: a story typed at buttons rarely names one, and
    # building its regex cost more than the rest of the turn (a new pattern per text, so no cache).
    plain = [(cid, _PUNCTUATION.sub("", shown)) for cid, shown in labels]
    plain = [(cid, shown) for cid, shown in plain if all(w in shown for w in own)]
    if not plain:
        return None
    pattern = re.compile(r"\b" + r"\b.*\b".join(re.escape(w) for w in own) + r"\b")
    hits = [cid for cid, shown in plain if pattern.search(shown)]
    return hits[0] if len(hits) == 1 else None
