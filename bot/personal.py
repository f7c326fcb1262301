"""Find what identifies a person in a text before the bot puts it in a document.

Why: a letter to the council (the inspreekrecht e-mail to the griffie) is public in
principle. A parent's anger is real, but "de voogd Jansen liegt" in a public text can
harm their children, names a worker who cannot answer there, and asks the council for
something it cannot do (decide one case). So before such a text is used, the engine
asks this module what in it points at people: names, named workers, children's details,
case numbers, and demands about the writer's own case. Complaint letters get the same
check as a warning, because there the worker's function is usually enough.

What it must never do: read files, keep state, or decide what the user is told. It is
a pure function of the text and the words the caller knows are not people (places,
organisations); the engine chooses the words, the flows and locales what is said.
Heuristic on purpose: a capitalised word in the middle of a sentence that is not a
known place or organisation is taken as a name. It is measured on a labelled set in
tests/data/personal_names.tsv (tests/test_personal.py prints precision and recall).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

FindingKind = Literal["name", "worker", "child", "case_number", "own_case"]

#: Kinds that are personal data: a text with one of these is never used as it is.
PERSONAL: frozenset[str] = frozenset({"name", "worker", "child", "case_number"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found: its kind and the words of the text it is about (shown to the user)."""

    kind: FindingKind
    text: str


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Capitalised words that name organisations, bodies, laws or roles rather than people
#: (lowercase, without accents). With the municipalities, these are the hard negatives.
ORGANISATION_WORDS = _word_set("""
    raad kinderbescherming rvdk veilig thuis jeugdzorg jeugdbescherming jeugdstem akj gi gis
    gemeente gemeenten gemeenteraad raadscommissie commissie college wethouder burgemeester griffie
    griffier rechtbank gerechtshof hof rechter kinderrechter ombudsman kinderombudsman nationale
    landelijk meldpunt zorg juridisch loket skj big tuchtcollege stichting groep regio nederland
    nederlandse netherlands dutch holland william schrikker leger heils samen midden wijkteam
    wijkteams jeugdwet wmo avg awb bw tweede eerste kamer ministerie rijksoverheid overheid politie
    ggd ggz zorgverzekeraar kindertelefoon slachtofferhulp jeugdreclassering ots jeugdhulp provincie
    staat europese europa unie ivrk verdrag council municipality board court ministry government
    state police youth care protection child children's ombudsman national committee agency
    foundation health inspreken inspreekrecht agenda beleid december januari februari maart april
    mei juni juli augustus september oktober november maandag dinsdag woensdag donderdag vrijdag
    zaterdag zondag january february march may june july august october monday tuesday wednesday
    thursday friday saturday sunday english engels nederlands marokkaanse turkse act law code
    article artikel wet mr mrs ms dr i i'm i've i'd ok oke okay tv internet whatsapp facebook google
    hague
""")

#: Words that make a capitalised word right after them a worker's name.
WORKERS = _word_set("""
    voogd gezinsvoogd jeugdbeschermer raadsonderzoeker rechter kinderrechter jeugdzorgwerker
    hulpverlener casemanager regisseur gedragswetenschapper ambtenaar wijkcoach medewerker
    medewerkster teamleider jeugdreclasseerder consulent advocaat behandelaar psycholoog guardian
    caseworker worker judge investigator officer manager counsellor counselor therapist
""")

#: Titles before a name ("mevrouw De Vries", "Mr Smith"); a role after them is not a name.
TITLES = _word_set("""
    mevrouw mevr meneer dhr heer mr mrs ms miss juf meester dokter dr
""")
NOT_A_NAME_AFTER_TITLE = _word_set("""
    voorzitter wethouder burgemeester griffier raadsleden chair chairman chairwoman mayor speaker
    clerk
""")
#: Lowercase words that may stand inside a name or an organisation's name.
CONNECTORS = _word_set("""
    van de der den ter ten te het 't voor des la le el al bin ben da di du von
""")
CHILD_WORDS = ("zoon|dochter|kind|kindje|kinderen|stiefzoon|stiefdochter|pleegzoon|pleegdochter|"
               "son|daughter|child|kid|kids|stepson|stepdaughter")

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_SENTENCE_END = re.compile(r"[.!?:;\n•\"“”(\[–—-]\s*$")

_CHILD_NAME = re.compile(rf"\b(?:mijn|onze|my|our)\s+(?:\w+\s+)?(?:{CHILD_WORDS}),?\s+([A-Z][a-zà-ÿ]+)")
_NAME_AGE = re.compile(
    r"\b([A-Z][a-zà-ÿ]+)\s*(?:\(\s*\d{1,2}\s*(?:jaar|years?|jr)?\s*\)|,\s*\d{1,2}\s*(?:jaar|years?)"
    r"|\s+(?:van|is|aged|age)\s+\d{1,2}(?:\s*(?:jaar|years?))?\b)"
)
_BIRTH = re.compile(
    r"\b(?:geboren\s+(?:op\s+)?\d[\d\-/.]*|geboortedatum|born\s+(?:on\s+)?\d[\d\-/.]*|date\s+of\s+birth|dob\b)", re.I
)
_SCHOOL = re.compile(
    r"\b(?:(?:basis)?school|school|college)\s+(?:de\s+|het\s+|the\s+)?[A-Z]\w+"
    r"|\b(?:op|naar|at|to)\s+(?:[Dd]e\s+|[Hh]et\s+|[Tt]he\s+)?[A-Z]\w*(?:school|college|lyceum)\b"
    r"|\b(?:zit|zat|is|in)\s+(?:in\s+)?groep\s+\d\b",
)
_CASE_NUMBER = re.compile(
    r"\b(?:zaak|dossier|case|file|reference|ref|kenmerk|rolnummer|zaaknummer|dossiernummer|"
    r"kenmerknummer|referentie)(?:\s*(?:nummer|number|nr|no))?\.?\s*:?\s*[A-Z0-9][\w/\-.]*\d[\w/\-.]*"
    r"|\b[A-Z]{1,3}/\d{2}/\d{3,}[\w/\-]*",
    re.I,
)
_OWN_CASE = re.compile(
    r"\bontsla\w*(?:\s+(?:de|die|deze|hem|haar)\s+\w+)?|\bontslagen\b|\bgeef\s+(?:\w+\s+){0,2}(?:mijn|ons|onze)\s+(?:kind|kinderen|zoon|dochter)\w*\s+terug"
    r"|\b(?:mijn|onze)\s+(?:kind|kinderen|zoon|dochter)\s+(?:\w+\s+){0,3}terug\b"
    r"|\bmijn\s+(?:eigen\s+)?(?:zaak|dossier)\b|\b(?:straf|schors)\s+(?:de|die|deze)\s+(?:voogd|medewerker|rechter)"
    r"|\b(?:fire|sack|dismiss|suspend|punish)\s+(?:the|that|this|her|him|my)\b(?:\s+\w+)?"
    r"|\bgive\s+(?:me\s+)?(?:back\s+)?(?:my|our)\s+(?:child|children|kids|son|daughter)\w*(?:\s+back)?"
    r"|\b(?:my|our)\s+(?:child|children|kids|son|daughter)\s+(?:\w+\s+){0,3}back\b|\bmy\s+(?:own\s+)?case\b",
    re.I,
)


def plain(word: str) -> str:
    """A word as the known-word lists hold it: lowercase, without accents or a possessive."""
    folded = unicodedata.normalize("NFKD", word.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).replace("’", "'")
    return folded.removesuffix("'s")


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and any(c.islower() for c in word[1:]) and len(word) > 1


def _names(text: str, known: Collection[str]) -> list[Finding]:
    """Capitalised words inside a sentence that are not a known place or organisation."""
    words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
    found: list[Finding] = []
    taken = _known_phrases([plain(w) for w, _ in words], known)
    for i, (word, start) in enumerate(words):
        before = text[words[i - 1][1] + len(words[i - 1][0]) if i else 0:start]
        previous = plain(words[i - 1][0]) if i else ""
        if previous in TITLES and (not i or "\n" not in before):
            name = _name_after(words, i, known)
            if name:
                found.append(Finding("name", name))
                taken.update(range(i, i + len(name.split())))
            continue
        if i in taken or not _capitalised(word) or _is_known(word, known):
            continue
        if i == 0 or _SENTENCE_END.search(before):
            continue  # the first word of a sentence is capitalised anyway
        if previous in WORKERS:
            found.append(Finding("worker", f"{words[i - 1][0]} {word}"))
            taken.add(i)
            continue
        span = _span(words, i, known)
        if span is None:
            continue
        found.append(Finding("name", " ".join(w for w, _ in words[i:i + span])))
        taken.update(range(i, i + span))
    return found


def _known_phrases(plain_words: list[str], known: Collection[str]) -> set[int]:
    """Positions of words inside a known name of several words ("Bergen op Zoom", "Den Haag")."""
    taken: set[int] = set()
    for i in range(len(plain_words)):
        for size in (4, 3, 2):
            if " ".join(plain_words[i:i + size]) in known:
                taken.update(range(i, i + size))
                break
    return taken


def _name_after(words: list[tuple[str, int]], i: int, known: Collection[str]) -> str:
    """The name after a title: "mevrouw de Vries", "Mr Smith"; not "meneer de voorzitter"."""
    j = i
    while j < len(words) and plain(words[j][0]) in CONNECTORS and not _capitalised(words[j][0]):
        j += 1
    if j >= len(words):
        return ""
    low = plain(words[j][0])
    if low in NOT_A_NAME_AFTER_TITLE or low in ORGANISATION_WORDS or low in known:
        return ""
    if not _capitalised(words[j][0]) and j == i:
        return ""
    return " ".join(w for w, _ in words[i:j + 1])


def _span(words: list[tuple[str, int]], i: int, known: Collection[str]) -> int | None:
    """How many words from i form one name; None when they belong to a place or organisation.

    "Raad voor de Kinderbescherming" and "William Schrikker Stichting" hold a known word,
    so the whole run is an organisation; "Jansen van Veilig Thuis" is a name, then one.
    """
    j = i
    while j + 1 < len(words):
        nxt = words[j + 1][0]
        if _capitalised(nxt):
            j += 1
            continue
        k = j + 1
        while k < len(words) and plain(words[k][0]) in CONNECTORS and not _capitalised(words[k][0]):
            k += 1
        if k < len(words) and k > j + 1 and _capitalised(words[k][0]):
            if plain(words[j + 1][0]) == "van" and _is_known(words[k][0], known):
                break  # "Jansen van Veilig Thuis": the name stops before "van"
            j = k
            continue
        break
    if any(_is_known(w, known) for w, _ in words[i:j + 1] if plain(w) not in CONNECTORS):
        return None
    return j - i + 1


def _is_known(word: str, known: Collection[str]) -> bool:
    """A place or organisation word; "Midden-Nederland" counts when one of its parts does."""
    low = plain(word)
    return any(part in known or part in ORGANISATION_WORDS for part in (low, *low.split("-")) if part)


def find_personal(text: str, known: Collection[str] = frozenset()) -> tuple[Finding, ...]:
    """Everything in `text` that points at a person or the writer's own case, in reading order.

    `known`: plain() forms of words that are not people (municipalities, their old names).
    """
    found: list[Finding] = []
    for match in _CHILD_NAME.finditer(text):
        if not _is_known(match.group(1), known):
            found.append(Finding("child", match.group(0)))
    for match in _NAME_AGE.finditer(text):
        if not _is_known(match.group(1), known):
            found.append(Finding("child", match.group(0).strip()))
    found += [Finding("child", m.group(0)) for m in _BIRTH.finditer(text)]
    found += [Finding("child", m.group(0)) for m in _SCHOOL.finditer(text)]
    found += [Finding("case_number", m.group(0).strip()) for m in _CASE_NUMBER.finditer(text)]
    covered = " ".join(f.text for f in found)
    found += [f for f in _names(text, known) if f.text not in covered]
    found += [Finding("own_case", m.group(0)) for m in _OWN_CASE.finditer(text)]
    unique: dict[tuple[str, str], Finding] = {}
    for finding in found:
        shown = finding.text.strip().rstrip(".,")
        unique.setdefault((finding.kind, shown), Finding(finding.kind, shown))
    return tuple(sorted(unique.values(), key=lambda f: text.find(f.text)))


def names_people(findings: Collection[Finding]) -> bool:
    """Does any finding name a person (not only a demand about the writer's own case)?"""
    return any(f.kind in PERSONAL for f in findings)


def known_words(names: Collection[str]) -> frozenset[str]:
    """Place or organisation names as `known` holds them: "Den Haag" -> "den haag", "Weesp" -> "weesp".

    Names of several words are kept whole, so "Dijk en Waard" does not make "Dijk" a place.
    """
    bare = (re.sub(r"\s*\(.*\)$", "", name) for name in names)  # "Bergen (NH.)" is typed "Bergen"
    return frozenset(" ".join(plain(m.group()) for m in _WORD.finditer(name)) for name in bare) - {""}
