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
known place or organisation is taken as a name, and so is a word in lower case after a
title ("mevrouw bakker") unless it is an everyday word or a role ("mevrouw de rechter"),
or a first name after a role ("de voogd sanne"), or a first name and its surname ("jan de
vries", "sanne jansen"): people type names in lower case in a chat, and a name missed in a
public text is the worse error. It is measured on a
labelled set in tests/data/personal_names.tsv (tests/test_personal.py prints precision
and recall); a lower-case first name alone, or before a surname no list holds and without a
particle ("anna gesproken"?), is not found.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bot.folding import folded
from bot.markup import cleaned, tags_blanked

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
#: (lowercase, without accents). With the municipalities, these are the hard negatives. The regions
#: an organisation is named after ("Jeugdbescherming Brabant", "GGD Hollands Midden") are here too:
#: only the province's full name ("Noord-Brabant") is a municipality's, and "Brabant" was a name.
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
    karakter levvel youz lucertis accare pluryn ipse bruggen parnassia bascule curium intermetzo
    lijn5 pactum lindenhout entrea elker ambiq cardea altra arkin xonar kompaan juvaid horizon spirit
    triade vitree kenter fier humanitas kwintes zuidwester jeugdformaat rubicon reclassering
    sterk huis lumc umc ziekenhuis kliniek
    brabant noord zuid oost west noordoost noordwest zuidoost zuidwest twente achterhoek veluwe rijnmond
    haaglanden amstelland kennemerland gooi ijsselland hollands fryslan
""")

#: Words for a kind of organisation: capitalised words right after one ("Oudervereniging
#: Balans", "commissie Sociaal Domein", "Stichting Kinderen Eerst") are its name, not a
#: person's; also as the end of a longer word ("Oudervereniging", "Cliëntenraad").
ORGANISATION_KINDS = _word_set("""
    stichting vereniging oudervereniging belangenvereniging cooperatie federatie bond platform
    netwerk collectief werkgroep actiegroep initiatief comite commissie raadscommissie ouderraad
    clientenraad jongerenraad adviesraad fractie partij association network collective committee
    union alliance coalition
""")
_ORGANISATION_SUFFIXES = ("vereniging", "raad", "platform", "netwerk", "collectief", "stichting", "bond",
                          "commissie", "groep", "centrum", "huis")

#: Words that make a capitalised word right after them a worker's name.
WORKERS = _word_set("""
    voogd gezinsvoogd jeugdbeschermer raadsonderzoeker rechter kinderrechter jeugdzorgwerker
    hulpverlener casemanager regisseur gedragswetenschapper ambtenaar wijkcoach medewerker
    medewerkster teamleider jeugdreclasseerder consulent advocaat behandelaar psycholoog guardian
    caseworker worker judge investigator officer manager counsellor counselor therapist
""")

#: Public offices: their holders act in public, and a council e-mail may name them ("wethouder de Jong",
#: "burgemeester Halsema"); a new user's "vraag maar aan wethouder de Jong" was flagged as a worker's name.
PUBLIC_OFFICES = _word_set("""
    wethouder burgemeester raadslid gemeenteraadslid fractievoorzitter gedeputeerde minister
    staatssecretaris kamerlid commissaris alderman mayor councillor councilor minister
""")
#: The small words of a surname, the one list: between an office and its holder's surname ("wethouder
#: van der Berg"), in a name ("jan de vries", "anna van der berg", "fatima el amrani"), and kept in
#: lower case inside an organisation's name (bot/expressions.py `proper_name`).
NAME_PARTICLES = frozenset({"de", "van", "der", "den", "ter", "ten", "te", "t", "het", "el", "al", "von", "du", "da",
                            "la", "le"})

#: Titles before a name ("mevrouw De Vries", "Mr Smith"); a role after them is not a name.
TITLES = _word_set("""
    mevrouw mevr mvr mw meneer dhr hr heer mr mrs ms miss mister juf juffrouw meester dokter dr
""")
NOT_A_NAME_AFTER_TITLE = _word_set("""
    voorzitter wethouder burgemeester griffier raadsleden chair chairman chairwoman mayor speaker
    clerk directeur directrice manager leidinggevende baas coordinator leerkracht leraar lerares
    docent mentor arts huisarts dokter psychiater agent wijkagent notaris secretaris jurist
    bewindvoerder mediator collega secretary director teacher doctor
""")
#: Lowercase words that are not a name after a title or a role ("de voogd zegt", "mevrouw
#: op kantoor", "the worker said"): function words, the verbs people use about a worker,
#: and the places a worker is "of" ("meneer van de balie"). A lowercase word after a title
#: that is none of these is taken as a name ("mevrouw bakker"): people write names in
#: lower case in a chat, and a missed name in a public text is the worse error.
COMMON_WORDS = _word_set("""
    de het een en of maar want dus die dat deze dit daar hier er is was zijn waren wordt werd
    heeft had hebben hadden wil wilde kan kon kunnen mag mocht moet moest zal zou zegt zei zeggen
    vindt vond vertelt vertelde belt belde schrijft schreef komt kwam gaat ging doet deed weet
    wist laat liet geeft gaf neemt nam ziet zag denkt dacht krijgt kreeg blijft bleef houdt hield
    staat stond zit zat ligt lag loog liegt beloofde belooft weigert weigerde stuurt stuurde
    vraagt vroeg antwoordt antwoordde reageert reageerde luistert luisterde snapt begrijpt noemt
    noemde zelf niet nooit ook al nog wel toch pas net even steeds altijd weer zelfs hem haar hun
    ze zij hij wij we jij je u mij me ons onze mijn jouw uw wie wat waar wanneer hoe waarom
    omdat als toen terwijl sinds tot met van voor naar op in uit bij aan over door om tegen
    zonder na achter onder boven tussen via per vanaf heel erg zo te iets niks niets iemand
    niemand alles the a an and or but so that this these those there here is was are were has
    had have will would can could may might must shall should says said say told tells asked
    asks called calls wrote writes came comes went goes did does knows knew thinks thought
    gets got gave gives took takes sees saw keeps kept lied lies refused refuses sent sends
    never not also always still already just even again only from with of for to on in at by
    about over into without after before under between who what where when how why because if
    then than as while since until me him her them us you he she we they it my your his their
    our its school kantoor afdeling team balie receptie telefoon intake opvang instelling
    organisatie zorgaanbieder thuiszorg crisisdienst huisartsenpost buurt wijk office desk phone
    ja nee yes no gisteren vandaag morgen toen nu later eerder vanochtend vanmiddag vanavond
    yesterday today tomorrow now later
""")
#: First names that a lowercase word after a role is taken as ("de voogd sanne", "worker
#: john smith"): after a role, unlike after a title, a lowercase word is usually a verb.
#: Common first names in the Netherlands (also of Moroccan, Turkish and Surinamese
#: descent) and in English; names that are also everyday words ("ben", "will") are left out.
FIRST_NAMES = _word_set("""
    anna emma julia sophie sofie tess lotte sanne femke anouk iris noa nora liv lina yara saar isa
    evi esmee fleur lisa eva sara sarah laura kim linda sandra monique petra marieke ingrid annemarie
    marloes esther ellen mirjam ilse inge judith karin maria marie mila nina zoe lieke fenna
    jasmijn julie amber britt demi ilona wendy nicole patricia jolanda astrid miriam hanna hannah
    noor roos maud nova lynn elin zara yfke
    fatima khadija aicha aisha yasmina samira nadia naima latifa zeynep elif ayse fatma emine
    merve esra busra ayla priya shanti
    daan sem lucas levi finn luuk milan thijs jesse ruben bram lars tim tom bas jeroen martijn
    noah liam luca mees gijs teun stijn hugo jens jayden julian
    pieter piet jan kees henk gert gerrit johan hans peter paul erik sander dennis michiel niels
    stefan rick kevin mike wouter joris koen vincent thomas jasper mohammed mohamed
    mustafa ahmed youssef yusuf omar hamza ali mehmet murat emre burak hasan hussein ibrahim ismail
    rachid karim rajesh ravi
    john james robert michael david richard joseph charles christopher daniel matthew anthony
    steven andrew joshua kenneth george edward brian ronald timothy jason jeffrey ryan jacob
    gary nicholas eric jonathan stephen larry justin scott brandon samuel benjamin gregory
    alexander patrick jack tyler aaron jose henry adam douglas nathan peter zachary kyle
    mary jennifer elizabeth linda barbara susan jessica karen nancy lisa betty margaret sandra
    ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca
    sharon laura cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen
    samantha katherine christine debra rachel carolyn janet catherine heather diane olivia
    sophia isabella charlotte amelia ava mia harper evelyn abigail ella chloe grace lily
""")
#: Surnames common enough that a first name in lower case before one is a person ("sanne jansen",
#: "john smith"), where a first name before any other word may be a month or an everyday word ("14 jan
#: heb ik", "amber alert"). The Netherlands' most common (Meertens Instituut), of Turkish and Moroccan
#: descent, and England's; one written with a particle ("jan de vries") needs no list.
SURNAMES = _word_set("""
    jansen janssen bakker visser smit meijer meyer mulder bos vos peters hendriks dekker brouwer dijkstra
    smits kok jacobs vermeulen schouten willems hoekstra maas verhoeven koster prins blom huisman peeters
    kuipers post kuiper veenstra kramer scholten martens vink jonker sanders molenaar hermans bosch
    gerritsen kloosterman evers koopman postma wijnands claassen wouters timmermans verbeek groen
    pietersen mertens bosman hofman boer boon vermeer aalbers dijk hoogendoorn gerrits
    yilmaz kaya demir sahin celik yildiz yildirim ozturk aydin ozdemir arslan dogan bennani amrani
    tahiri bouzid benali
    smith johnson williams brown jones miller davis wilson taylor davies evans roberts walker wright
    robinson thompson white hughes edwards green hall wood harris lewis jackson clarke clark turner
    hill cooper morris ward moore king watson baker harrison morgan patel young allen mitchell
    anderson phillips bell parker garcia rodriguez martinez
""")

#: Words before a title that make it a role, not a form of address ("de juf", "een mevrouw"):
#: then a lowercase word after it is a name only when it is a first name ("onze juf anna").
_ARTICLES = _word_set("""
    de het een die deze dat onze mijn zijn haar hun jullie the a an that this our my his her their
""")
#: Lowercase words that may stand inside a name or an organisation's name.
CONNECTORS = _word_set("""
    van de der den ter ten te het 't voor des la le el al bin ben da di du von
""")
CHILD_WORDS = ("zoon|dochter|kind|kindje|kinderen|stiefzoon|stiefdochter|pleegzoon|pleegdochter|"
               "son|daughter|child|kid|kids|stepson|stepdaughter")

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_DAY_NUMBER = re.compile(r"\d\s*$")
_SENTENCE_END = re.compile(r"[.!?:;\n•\"“”(\[–—-]\s*$")

_CHILD_NAME = re.compile(rf"\b(?:mijn|onze|my|our)\s+(?:\w+\s+)?(?:{CHILD_WORDS}),?\s+([A-Za-zà-ÿ][a-zà-ÿ]+)", re.I)
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
    return folded(word).replace("’", "'").removesuffix("'s")


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and any(c.islower() for c in word[1:]) and len(word) > 1


def _names(text: str, known: Collection[str]) -> list[Finding]:
    """Capitalised words inside a sentence that are not a known place or organisation,
    and the words after a title or a role that name a person, also in lower case."""
    words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
    found: list[Finding] = []
    taken = _known_phrases([plain(w) for w, _ in words], known)
    for i, (word, start) in enumerate(words):
        if i in taken:
            continue
        before = text[words[i - 1][1] + len(words[i - 1][0]) if i else 0:start]
        previous = plain(words[i - 1][0]) if i else ""
        if previous in TITLES and (not i or "\n" not in before):
            end = _initials_end(text, words, i, known) or _name_after(words, i, known)
            if end:
                found.append(Finding("name", _quote(text, words, i - 1, end)))
                taken.update(range(i, end))
            continue
        if _capitalised(word) and not _first_name(word) and (
                _is_organisation_kind(plain(word)) or _is_organisation_kind(previous)):
            # "Oudervereniging Balans", "commissie Sociaal Domein": the organisation's own name, up to a
            # word that is not capitalised ("Vereniging van Emma de Vries" still names Emma de Vries)
            # or a first name ("Stichting Emma de Vries" does too)
            end = i + 1
            while (end < len(words) and _capitalised(words[end][0]) and not _first_name(words[end][0])
                   and not text[words[end - 1][1] + len(words[end - 1][0]):words[end][1]].strip()):
                end += 1
            taken.update(range(i, end))
            continue
        if previous in WORKERS and not _capitalised(word) and _first_name(word):
            end = _lowercase_name_end(words, i + 1, known)
            found.append(Finding("worker", _quote(text, words, i - 1, end)))
            taken.update(range(i, end))
            continue
        if (not _capitalised(word) and _first_name(word) and previous not in _ARTICLES
                and not _held_office(words, i) and not _DAY_NUMBER.search(before)):
            # "ik sprak met jan de vries van de gi": a first name and its surname, in lower case; not
            # "de roos van ...", "14 jan", "wethouder jan de jong"
            end = _surname_end(words, i + 1, known)
            if end:
                found.append(Finding("name", _quote(text, words, i, end)))
                taken.update(range(i, end))
                continue
        if not _capitalised(word) or _is_known(word, known):
            continue
        if i == 0 or _SENTENCE_END.search(before):
            continue  # the first word of a sentence is capitalised anyway
        if _held_office(words, i):
            held = _span(words, i, known) or 1  # a public office holder, named as such: not a private person
            taken.update(range(i, i + held))
            continue
        span = _span(words, i, known)
        if previous in WORKERS:
            # "Jeugdbeschermer Sanne Jong": the whole name, quoted as one
            span = span or 1
            found.append(Finding("worker", _quote(text, words, i - 1, i + span)))
            taken.update(range(i, i + span))
            continue
        if span is None:
            continue
        first = _name_start(text, words, i, taken)
        found.append(Finding("name", _quote(text, words, first, i + span)))
        taken.update(range(i, i + span))
    return found


def _initial(text: str, words: list[tuple[str, int]], k: int) -> bool:
    """Is the word at k an initial or a short abbreviation with its full stop ("M.", "d.", "v.d.")?"""
    word, start = words[k]
    return len(word) <= 2 and text[start + len(word):start + len(word) + 1] == "."


def _initials_end(text: str, words: list[tuple[str, int]], i: int, known: Collection[str]) -> int:
    """Where a name of initials ends, from i (0: none): "mevr. M. d. V.", "dhr. J. de Boer", quoted whole
    (only "mevr. M" was quoted, try-out 37); a surname written out after the initials is part of it."""
    end = i
    while end < len(words) and _initial(text, words, end):
        end += 1
    if end == i:
        return 0
    surname = end
    while surname < len(words) and plain(words[surname][0]) in CONNECTORS and not _capitalised(words[surname][0]):
        surname += 1
    if (surname < len(words) and _capitalised(words[surname][0]) and not _is_known(words[surname][0], known)
            and not text[words[surname - 1][1] + len(words[surname - 1][0]):words[surname][1]].strip(" .")):
        return surname + 1
    return end


def _name_start(text: str, words: list[tuple[str, int]], i: int, taken: set[int]) -> int:
    """Where a name found at i begins: back over its particles to a first name or initials before them
    ("Marieke de Vries" at the start of a sentence was quoted as "Vries", try-out 37), else i."""
    k = i
    while k > 0 and plain(words[k - 1][0]) in NAME_PARTICLES and not _capitalised(words[k - 1][0]):
        k -= 1
    first = k
    while first > 0 and first - 1 not in taken and (
            _first_name(words[first - 1][0]) or _initial(text, words, first - 1)):
        first -= 1
    return first if first < k else i


def _held_office(words: list[tuple[str, int]], i: int) -> bool:
    """Is the word at i a public office holder's name, named as such ("wethouder de Jong")?"""
    office = i - 1
    while office > 0 and plain(words[office][0]) in NAME_PARTICLES:
        office -= 1
    return office >= 0 and plain(words[office][0]) in PUBLIC_OFFICES


def _surname_end(words: list[tuple[str, int]], j: int, known: Collection[str]) -> int:
    """Where the surname after a lower-case first name ends (0: none): after its particles a word that
    is no everyday word, place or organisation ("de vries"), else a common surname ("jansen")."""
    end = j
    while end < len(words) and end < j + 3 and plain(words[end][0]) in NAME_PARTICLES:
        end += 1
    if end >= len(words):
        return 0
    low = plain(words[end][0])
    if end > j:
        common = low in COMMON_WORDS or low in ORGANISATION_WORDS or low in WORKERS or low in known
        return 0 if common or _is_known(words[end][0], known) else end + 1
    return end + 1 if low in SURNAMES else 0


def _quote(text: str, words: list[tuple[str, int]], first: int, end: int) -> str:
    """The words first..end-1 as the person typed them ("mw. el amrani"), to find them again."""
    last_word, last_start = words[end - 1]
    return text[words[first][1]:last_start + len(last_word)]


def _is_organisation_kind(low: str) -> bool:
    return low in ORGANISATION_KINDS or (len(low) > 8 and low.endswith(_ORGANISATION_SUFFIXES))


def _first_name(word: str) -> bool:
    low = plain(word)
    return low in FIRST_NAMES and low not in COMMON_WORDS


def _lowercase_name_end(words: list[tuple[str, int]], j: int, known: Collection[str]) -> int:
    """Where a name written in lower case ends: after a first name one word more for its
    surname ("john smith", "sanne de jong"), unless that word is no part of a name ("zegt",
    "van de gemeente"); after a surname nothing more ("mr smith handles")."""
    if not _first_name(words[j - 1][0]):
        return j
    end = j
    while end < len(words) and end < j + 3 and plain(words[end][0]) in CONNECTORS:
        end += 1
    low = plain(words[end][0]) if end < len(words) else ""
    if not low or low in COMMON_WORDS or low in ORGANISATION_WORDS or low in WORKERS or low in known:
        return j
    return end + 1


def _known_phrases(plain_words: list[str], known: Collection[str]) -> set[int]:
    """Positions of words inside a known name of several words ("Bergen op Zoom", "Den Haag")."""
    taken: set[int] = set()
    for i in range(len(plain_words)):
        for size in (4, 3, 2):
            if " ".join(plain_words[i:i + size]) in known:
                taken.update(range(i, i + size))
                break
    return taken


def _name_after(words: list[tuple[str, int]], i: int, known: Collection[str]) -> int:
    """Where the name after a title ends (0: no name): "mevrouw de Vries", "Mr Smith", and in
    lower case "mevrouw bakker", "mw. el amrani"; not "meneer de voorzitter", "mevrouw de
    rechter", "een mevrouw van de gemeente", "de juf zei"."""
    j = i
    while j < len(words) and plain(words[j][0]) in CONNECTORS and not _capitalised(words[j][0]):
        j += 1
    if j >= len(words):
        return 0
    low = plain(words[j][0])
    if (low in NOT_A_NAME_AFTER_TITLE or low in ORGANISATION_WORDS or low in known or low in WORKERS
            or low in TITLES or _is_known(words[j][0], known)):
        return 0
    if _capitalised(words[j][0]):
        return j + (_span(words, j, frozenset()) or 1)
    particles = {plain(w) for w, _ in words[i:j]}
    title = plain(words[i - 1][0])
    if low in COMMON_WORDS or particles & {"het", "'t", "the", "een", "a"} or title == "miss":
        return 0  # "meneer van het wijkteam", "mevrouw zegt", "I miss home"
    role = i >= 2 and plain(words[i - 2][0]) in _ARTICLES and title != "heer"  # "de heer jansen" is a title
    if role and not (j == i and _first_name(words[j][0])):
        return 0  # "de juf zei", "een meneer belde"; but "onze juf anna"
    return _lowercase_name_end(words, j + 1, known)


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
    # invisible characters split a name ("M\u200barieke"); a typed "<b>" is no word: it would make "Ouders"
    # a name mid-sentence (answers are cleaned before they are kept; a text from elsewhere may not be)
    text = tags_blanked(cleaned(text))
    found: list[Finding] = []
    children: list[re.Match[str]] = []  # "my daughter Sophie (10)" is one finding, not two
    for match in _CHILD_NAME.finditer(text):
        child = match.group(1)  # "mijn dochter Emma", also "mijn dochter emma"; not "mijn zoon wacht"
        if (_capitalised(child) or _first_name(child)) and plain(child) not in COMMON_WORDS and not _is_known(child, known):
            found.append(Finding("child", match.group(0)))
            children.append(match)
    for match in _NAME_AGE.finditer(text):
        if not _is_known(match.group(1), known) and not any(c.start() <= match.start(1) < c.end() for c in children):
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
