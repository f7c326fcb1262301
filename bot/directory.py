"""The directory of bodies, help lines and facts that flows show to users.

Why this module exists: every phone number, website and deadline a user sees
must come from one place that records where it was found and when it was last
checked (ARCHITECTURE.md, invariant 4). Flows name entries by id, so a changed
number is edited once, in ``flows/directory/*.yaml``.

What it must never do: perform I/O other than reading the directory files,
know about flows, conversations or platforms, or invent a fact. Rendering and
deadline arithmetic here are pure functions so the engine can call them.

Loading keeps the file:line:column of every entry and field (read by
``bot.flows.source``, the one reader of moderators' YAML), because moderators
edit these files by hand and an error they cannot locate is an error they
cannot fix.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from bot.dates import add_period, atw_day_off, format_date
from bot.errors import ContentError
from bot.flows.source import SYNTAX_FIX, PathKey, Positions, Where, YamlSyntaxError, load_yaml, shown_path

__all__ = [
    "ATW_EQUATED_ENTRY",
    "ATW_EQUATED_FACT",
    "CARD_TEXT_KEYS",
    "CARD_TEXT_PREFIX",
    "FALLBACK",
    "SECONDARY_SOURCES_FILE",
    "WRITTEN_IN",
    "CardWords",
    "Confidence",
    "Cost",
    "Deadline",
    "Directory",
    "DirectoryError",
    "DirectoryFile",
    "DirectoryProblem",
    "Entry",
    "Kind",
    "Lang",
    "LegalLastDay",
    "Localized",
    "Period",
    "ProvenanceGap",
    "SecondarySite",
    "StaleEntry",
    "atw_excluded",
    "directory_json_schema",
    "entry_problems",
    "is_home_page",
    "last_day",
    "legal_last_day",
    "load_directory",
    "load_secondary_sites",
    "provenance_gaps",
    "render_card",
    "source_line",
    "stale_entries",
]

#: A language of `locales/` (any: see `WRITTEN_IN` for the directory's own texts).
Lang = str
Kind = Literal["body", "helpline", "fact", "term"]
Cost = Literal["free", "paid", "mixed"]
Confidence = Literal["verified", "old", "unverified", "conflicting"]

ENTRY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]*[0-9]$|^[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


# ------------------------------------------------------------------ validators


def _https_url(value: str) -> str:
    """Only https: a help line's address must not be silently downgraded."""
    parts = urlsplit(value)
    if parts.scheme != "https" or "." not in parts.netloc or " " in value:
        raise ValueError(f"{value!r} is not an https URL; write it as https://host/path")
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError(
            f"{value!r} is not a phone number as shown to users; use digits, "
            "spaces and hyphens only, e.g. '0800-2000' or '0800-33 55 555'"
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("text must not be empty")
    return value


def _written_date(value: object) -> object:
    """A fact written as a date (YYYY-MM-DD) is a date.

    The YAML reader hands every date over as that text, so that all loaded
    data is plain; here a fact's value becomes a date again.
    """
    if isinstance(value, str) and _ISO_DATE.match(value):
        return date.fromisoformat(value)
    return value


HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
Text = Annotated[str, AfterValidator(_non_blank)]
FactValue = Annotated[int | str | date | list[date], BeforeValidator(_written_date)]


# ----------------------------------------------------------------------- models


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt field must not vanish silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The languages every text in the directory is written in (both required, so a misspelt
#: key is still an error). The bot speaks every language of `locales/`; for one not written
#: here an entry's texts are shown in `FALLBACK`, read by more people than Dutch, and `check`
#: warns that the language's cards mix in English (see the loader).
WRITTEN_IN: tuple[str, ...] = ("nl", "en")
FALLBACK = "en"


class Localized(_Strict):
    """One text in each language the directory is written in (`WRITTEN_IN`)."""

    nl: Text
    en: Text

    def __getitem__(self, lang: str) -> str:
        """The text in `lang`, or in `FALLBACK` for a language the directory is not written in."""
        return str(getattr(self, lang if lang in WRITTEN_IN else FALLBACK))


class Period(_Strict):
    """A legal period in exactly one unit, as the source states it.

    Kept in the source's unit (3 months is not 90 days) because the last day
    of a period in months depends on the calendar.
    """

    days: Annotated[int, Field(gt=0)] | None = None
    weeks: Annotated[int, Field(gt=0)] | None = None
    months: Annotated[int, Field(gt=0)] | None = None
    years: Annotated[int, Field(gt=0)] | None = None

    def units(self) -> list[tuple[str, int]]:
        return [(unit, n) for unit in ("days", "weeks", "months", "years") if (n := getattr(self, unit)) is not None]


class Deadline(_Strict):
    """A time limit a user must meet (or a body must answer within)."""

    id: Annotated[str, Field(pattern=ENTRY_ID.pattern)]
    period: Period
    counted_from: Localized
    source: HttpsUrl
    note: Localized | None = None
    confidence: Confidence = "verified"
    confidence_note: Localized | None = None
    #: the period is set in a Dutch law (`source` is that law), so the Algemene termijnenwet
    #: applies: a last day on a weekend or holiday moves to the next working day (`legal_last_day`).
    #: False for a body's own rules (a complaint regulation): those decide themselves.
    atw: bool = False


class Entry(_Strict):
    """A body, help line, fact or explained word, with the provenance every fact needs."""

    kind: Kind
    #: words people type for this entry ("wat is een OTS?"): any language, matched without case or accents
    typed: list[Annotated[str, Field(min_length=2, max_length=60)]] = Field(default_factory=list)
    name: Localized
    purpose: Localized
    phone: Phone | None = None
    phone_alt: Phone | None = None
    phone_note: Localized | None = None
    website: HttpsUrl | None = None
    email: Email | None = None
    postal_address: Text | None = None
    hours: Localized | None = None
    cost: Cost | None = None
    cost_note: Localized | None = None
    lead_with: Literal["phone", "website"] = "phone"
    deadlines: list[Deadline] = Field(default_factory=list)
    value: dict[str, FactValue] | None = None
    source: HttpsUrl
    other_sources: list[HttpsUrl] = Field(default_factory=list)
    #: the day a person opened `source` and confirmed the facts on it (a live check)
    checked: date | None = None
    #: the day the facts were taken over from research (shared/domain/FACTS.md), not checked live
    researched: date | None = None
    confidence: Confidence
    confidence_note: Localized | None = None

    @property
    def checked_live(self) -> bool:
        return self.checked is not None

    @property
    def as_of(self) -> date:
        """The newest date anyone looked at these facts, live or in research (for staleness)."""
        return max((d for d in (self.checked, self.researched) if d is not None), default=date.min)

    def deadline(self, deadline_id: str) -> Deadline:
        for item in self.deadlines:
            if item.id == deadline_id:
                return item
        raise KeyError(f"entry has no deadline {deadline_id!r}")


class DirectoryFile(_Strict):
    """The top level of one ``flows/directory/*.yaml`` file."""

    entries: dict[Annotated[str, Field(pattern=ENTRY_ID.pattern)], Entry]


def directory_json_schema() -> dict[str, Any]:
    """JSON Schema for editors, generated from the same models the loader uses."""
    return DirectoryFile.model_json_schema()


# ----------------------------------------------------------- cross-field rules


#: One cross-field problem: (path inside the entry, message, hint).
EntryProblem = tuple[PathKey, str, str]

#: A field that means nothing without another one: (dependent, required).
NEEDS_FIELD = (("phone_alt", "phone"), ("phone_note", "phone"), ("cost_note", "cost"))


def entry_problems(entry: Entry) -> list[EntryProblem]:
    """Rules that span several fields: (path inside the entry, message, hint).

    Kept out of the pydantic validators so each problem can point at the exact
    field a moderator has to change, not at the whole entry.
    """
    return [*_provenance_problems(entry), *_deadline_problems(entry), *_field_problems(entry)]


def _provenance_problems(entry: Entry) -> Iterator[EntryProblem]:
    """The entry says when its facts were looked at, and how sure they are."""
    if entry.checked is None and entry.researched is None:
        yield (
            ("source",),
            "the entry says neither when its facts were checked live (checked:) nor when they were "
            "taken from research (researched:)",
            "add checked: YYYY-MM-DD if you opened the source and confirmed the facts that day, "
            "otherwise researched: YYYY-MM-DD with the date they were taken over",
        )
    if entry.confidence != "verified" and entry.confidence_note is None:
        yield (
            ("confidence",),
            f"confidence is {entry.confidence!r} but confidence_note is missing",
            "add confidence_note: {nl: ..., en: ...} telling the user "
            "plainly what is uncertain and what to do (e.g. check the website)",
        )


def _deadline_problems(entry: Entry) -> Iterator[EntryProblem]:
    """Each deadline has one unit, a note when unsure, and its own id."""
    for i, item in enumerate(entry.deadlines):
        if item.confidence != "verified" and item.confidence_note is None:
            yield (
                ("deadlines", i, "confidence"),
                f"deadline {item.id!r}: {item.confidence!r} needs confidence_note",
                "add confidence_note: {nl: ..., en: ...} to this deadline",
            )
        if len(item.period.units()) != 1:
            yield (
                ("deadlines", i, "period"),
                f"deadline {item.id!r}: give exactly one of days/weeks/months/years",
                "write e.g. period: {weeks: 6}",
            )
        elif item.atw and atw_excluded(item.period):
            yield (
                ("deadlines", i, "atw"),
                f"deadline {item.id!r}: the Algemene termijnenwet does not apply to a period of more than "
                "90 days, 12 weeks or 3 months, or of a year or more (art. 4 onderdeel a Atw)",
                "remove atw: true; the period's last day stays the calendar day",
            )
    seen: set[str] = set()
    for i, item in enumerate(entry.deadlines):
        if item.id in seen:
            yield (
                ("deadlines", i, "id"),
                f"deadline id {item.id!r} is used twice in this entry",
                "give every deadline of an entry its own id",
            )
        seen.add(item.id)


def _field_problems(entry: Entry) -> Iterator[EntryProblem]:
    """A field that means nothing without another one."""
    for dependent, required in NEEDS_FIELD:
        if getattr(entry, dependent) is not None and getattr(entry, required) is None:
            yield ((dependent,), f"{dependent} is set but {required} is missing", f"add {required}: or remove {dependent}:")
    if entry.lead_with == "website" and entry.website is None:
        yield (
            ("lead_with",),
            "lead_with is 'website' but the entry has no website",
            "add website: https://... or remove lead_with:",
        )


# -------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class DirectoryProblem:
    """One error a moderator can act on: where, what, and how to fix it."""

    pos: Where
    message: str
    hint: str = ""
    #: the YAML parser's own words behind a plain message (Problem.detail)
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.pos}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class DirectoryError(ContentError):
    """Raised with every problem found, so one run shows all of them."""

    def __init__(self, problems: Sequence[DirectoryProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _unwrap(annotation: object) -> list[object]:
    """The concrete types inside Optional/Annotated/list/dict annotations."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """Which model a pydantic error location points into (for 'allowed' hints)."""
    current: Any = DirectoryFile
    i = 0
    while i < len(loc):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(str(loc[i]))
        if info is None:
            return current
        i += 1
        candidates = _unwrap(info.annotation)
        nxt: Any = None
        for cand in candidates:
            origin = typing.get_origin(cand)
            if origin in (list, dict):
                args = typing.get_args(cand)
                nxt = _unwrap(args[-1])[0]
                i += 1  # skip the index or key
                break
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nxt = cand
                break
        if nxt is None:
            return current
        current = nxt
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _hint(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"add '{name}:' here"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model else ""
        return f"remove '{name}' or fix its spelling" + (f"; allowed here: {allowed}" if allowed else "")
    if kind in ("string_type",):
        return 'write this value as text in quotes, e.g. "0800-2000"'
    if kind.startswith("date"):
        return "write the date as YYYY-MM-DD, e.g. 2026-11-29"
    if kind == "literal_error":
        return "use one of the values listed in the message"
    if kind == "string_pattern_mismatch":
        return "ids use lowercase letters, digits and _ and start with a letter"
    return ""


def _load_file(file: Path, shown: str) -> tuple[dict[str, Entry], Positions, list[DirectoryProblem]]:
    try:
        data, pos = load_yaml(file, shown)
    except YamlSyntaxError as exc:
        problem = DirectoryProblem(
            exc.where,
            f"YAML syntax error: {exc.problem}",
            "check indentation, colons and quotes on this line" if exc.fix == SYNTAX_FIX else exc.fix,
            exc.detail,
        )
        return {}, Positions(shown), [problem]
    if not isinstance(data, dict):
        problem = DirectoryProblem(
            pos.of(()),
            "a directory file must be a mapping with one key, 'entries'",
            "start the file with 'entries:'",
        )
        return {}, pos, [problem]
    try:
        parsed = DirectoryFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # an unknown key is wrong where the key is; any other error where the value is
            where = pos.of(loc) if err["type"] == "extra_forbidden" else pos.value_of(loc)
            problems.append(DirectoryProblem(where, f"{'.'.join(str(p) for p in loc)}: {err['msg']}", _hint(err)))
        return {}, pos, problems
    problems = [
        DirectoryProblem(pos.value_of(("entries", entry_id, *path)), f"{entry_id}: {message}", hint)
        for entry_id, entry in parsed.entries.items()
        for path, message, hint in entry_problems(entry)
    ]
    return dict(parsed.entries), pos, problems


@dataclass(frozen=True)
class Directory:
    """All entries of all directory files, with where each field was written."""

    entries: Mapping[str, Entry]
    files: Mapping[str, Path]
    positions: Mapping[Path, Positions] = field(repr=False)  # per file

    def where(self, entry_id: str, *path: str | int) -> Where:
        """file:line:col of an entry or one of its fields (nearest existing)."""
        return self.positions[self.files[entry_id]].value_of(("entries", entry_id, *path))

    def place(self, entry_id: str) -> Where:
        """file:line:col of the entry's id: where a moderator finds the entry as a whole."""
        return self.positions[self.files[entry_id]].of(("entries", entry_id))

    def __getitem__(self, entry_id: str) -> Entry:
        return self.entries[entry_id]

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.entries


def load_directory(path: Path, pattern: str = "*.yaml", root: Path | None = None) -> Directory:
    """Load every directory file under ``path``; raise with all problems found.

    Ids must be unique across files, because flows refer to them without
    naming a file. Files are named relative to ``root`` when it is given.
    """
    entries: dict[str, Entry] = {}
    files: dict[str, Path] = {}
    positions: dict[Path, Positions] = {}
    problems: list[DirectoryProblem] = []
    paths = sorted(path.glob(pattern))
    if not paths:
        raise DirectoryError(
            [
                DirectoryProblem(
                    Where(shown_path(path, root), 1, 1),
                    f"no directory files matching {pattern} in {path}",
                    "point the loader at flows/directory",
                )
            ]
        )
    for file in paths:
        file_entries, positions[file], file_problems = _load_file(file, shown_path(file, root))
        problems.extend(file_problems)
        for entry_id, entry in file_entries.items():
            if entry_id in entries:
                first = positions[files[entry_id]].of(("entries", entry_id))
                problems.append(
                    DirectoryProblem(
                        positions[file].of(("entries", entry_id)),
                        f"entry id {entry_id!r} is already used in {first}",
                        "rename one of them; ids must be unique across all files",
                    )
                )
                continue
            entries[entry_id] = entry
            files[entry_id] = file
    if problems:
        raise DirectoryError(problems)
    return Directory(entries=entries, files=files, positions=positions)


# ----------------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class StaleEntry:
    """An entry whose facts were last looked at (live or in research) too long ago."""

    entry_id: str
    checked: date
    age_days: int


def stale_entries(entries: Mapping[str, Entry], max_age_days: int, today: date) -> list[StaleEntry]:
    """Entries not checked within ``max_age_days``, oldest first.

    A warning, not an error: an old phone number is still better shown with
    its check date than hidden, but moderators need to know what to re-check.
    """
    stale = [
        StaleEntry(entry_id, entry.as_of, (today - entry.as_of).days)
        for entry_id, entry in entries.items()
        if (today - entry.as_of).days > max_age_days
    ]
    return sorted(stale, key=lambda s: (-s.age_days, s.entry_id))


def is_home_page(url: str) -> bool:
    """A site's root: it does not show which page states the fact."""
    return urlsplit(url).path in ("", "/")


#: The file in flows/directory/ that names sites which repeat facts instead of stating them.
SECONDARY_SOURCES_FILE = "secondary-sources.tsv"


@dataclass(frozen=True, slots=True)
class SecondarySite:
    """A site, or a part of one, that is not a primary source: a news site, a law firm's blog ...

    A fact should come from the body itself, the law (wetten.overheid.nl) or a
    government page; a page that repeats it may be out of date or wrong, and the
    person reading the card cannot tell. Moderators keep the list in
    ``flows/directory/secondary-sources.tsv``, so a new kind of weak page is one
    line there, not a code change.
    """

    #: a host without scheme ("nrc.nl", which covers www.nrc.nl too), optionally with a path
    #: prefix ("politie.nl/nieuws/": the police's news items, not its other pages)
    site: str
    #: what the site is, as the warning says it: "a news site", "a law firm's blog"
    what: str
    #: the line that lists it, for the warning's fix
    where: Where

    def covers(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().removeprefix("www.")
        site_host, _, prefix = self.site.partition("/")
        return (host == site_host or host.endswith("." + site_host)) and parts.path.startswith("/" + prefix)


def load_secondary_sites(path: Path, root: Path | None = None) -> tuple[list[SecondarySite], list[DirectoryProblem]]:
    """Read the list of sites that are not primary sources; a missing file is an empty list.

    One site per line, a tab, then what it is; lines starting with # are comments.
    """
    if not path.is_file():
        return [], []
    shown = shown_path(path, root)
    sites: list[SecondarySite] = []
    problems: list[DirectoryProblem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        site, _, what = (part.strip() for part in raw.partition("\t"))
        site = site.lower().removeprefix("www.")
        if not what or "://" in site or " " in site or "." not in site.partition("/")[0]:
            problems.append(DirectoryProblem(
                Where(shown, number, 1),
                f"{raw.strip()!r} is not a site and what it is",
                "write the site without https:// (e.g. nrc.nl or politie.nl/nieuws/), a tab, "
                "then what it is (e.g. a news site)"))
            continue
        if site in seen:
            problems.append(DirectoryProblem(
                Where(shown, number, 1), f"{site} is already listed on line {seen[site]}",
                "remove one of the two lines"))
            continue
        seen[site] = number
        sites.append(SecondarySite(site, what, Where(shown, number, 1)))
    return sites, problems


@dataclass(frozen=True, slots=True)
class ProvenanceGap:
    """A fact whose origin a moderator should make firmer: where, what, how."""

    entry_id: str
    path: PathKey
    kind: Literal["home-page-source", "not-checked-live", "secondary-source"]
    message: str
    fix: str


def provenance_gaps(entries: Mapping[str, Entry], secondary: Sequence[SecondarySite] = ()) -> list[ProvenanceGap]:
    """Sources that are only a home page or not a primary source, and entries nobody checked at the source.

    Warnings, not errors: the fact is still better shown with an honest
    "not yet re-checked" than hidden, but moderators need the list to work through.
    `secondary` are the sites that repeat facts instead of stating them (`load_secondary_sites`).
    """
    gaps: list[ProvenanceGap] = []
    for entry_id, entry in entries.items():
        if not entry.checked_live:
            gaps.append(ProvenanceGap(
                entry_id, ("researched",) if entry.researched else ("source",), "not-checked-live",
                f"`{entry_id}` was never checked live: its facts were taken over from research"
                + (f" on {entry.researched}" if entry.researched else ""),
                f"open {entry.source}, confirm every fact on the card, then write checked: <that date> "
                "(cards then say \"checked on\" instead of \"not yet re-checked\")"))
        sources: list[tuple[PathKey, str, str]] = [(("source",), entry.source, "its source")]
        sources += [(("deadlines", i, "source"), item.source, f"the source of deadline `{item.id}`")
                    for i, item in enumerate(entry.deadlines)]
        for path, url, what in sources:
            if is_home_page(url):
                gaps.append(ProvenanceGap(
                    entry_id, path, "home-page-source",
                    f"`{entry_id}`: {what} is only a home page ({url})",
                    "replace it with the page that states the fact (e.g. https://site.nl/path/to/page); "
                    "keep the home page only when no deeper page is known"))
            site = next((site for site in secondary if site.covers(url)), None)
            if site is not None:
                gaps.append(ProvenanceGap(
                    entry_id, path, "secondary-source",
                    f"`{entry_id}`: {what} is {site.what}, not the body itself, the law or a government page ({url})",
                    "replace it with the body's own page, the law (wetten.overheid.nl, with the article) or a "
                    "government page that states the same fact; if none is known, keep it, set confidence: "
                    "unverified and say in confidence_note which official page to check "
                    f"({site.where.file}:{site.where.line} lists this site)"))
    return gaps


# --------------------------------------------------------------------- deadlines


def last_day(start: date, period: Period) -> date:
    """The last day of a period that starts running the day after ``start``, on the calendar.

    Dutch legal periods (e.g. art. 6:8 Awb: bezwaar runs from the day after
    the decision was sent) end on the same calendar day N weeks/months later,
    so the last day is ``start + period``. Months and years clamp to the end of
    a shorter month: 31 January + 1 month = 28 (or 29) February. The
    arithmetic itself is ``bot.dates.add_period``, the one place for it.

    Whether a weekend or holiday moves it is `legal_last_day`'s question.
    """
    units = period.units()
    if len(units) != 1:
        raise ValueError("a period needs exactly one of days, weeks, months, years")
    return add_period(start, **dict(units))


#: Where the directory keeps the days the Crown equated with a holiday (art. 3 lid 3 Atw): a list
#: of dates, `value: {dagen: [...]}`, in this entry. Decrees, each for about three years: a fact a
#: moderator updates, with its source, like any other.
ATW_EQUATED_ENTRY = "atw_gelijkgestelde_dagen"
ATW_EQUATED_FACT = "dagen"

#: art. 4 onderdeel a Atw: the law does not apply to periods "omschreven in uren, in meer dan 90
#: dagen, in meer dan twaalf weken, in meer dan drie maanden, of in een of meer jaren".
ATW_LONGEST = {"days": 90, "weeks": 12, "months": 3, "years": 0}


def atw_excluded(period: Period) -> bool:
    """Whether art. 4 onderdeel a keeps the Algemene termijnenwet off a period of this length."""
    return any(n > ATW_LONGEST[unit] for unit, n in period.units())


@dataclass(frozen=True, slots=True)
class LegalLastDay:
    """A period's last day, and where the Algemene termijnenwet moved it.

    `calendar` is the day the period's arithmetic gives; `day` the last day that counts (the same,
    unless the Atw moved it); `because` why it moved: the name of the calendar day's holiday,
    "equated", "weekend", or "working_days" (art. 2: fewer than two working days in the period).
    """

    calendar: date
    day: date
    because: str | None = None

    @property
    def moved(self) -> bool:
        return self.day != self.calendar


def legal_last_day(start: date, calendar_day: date, atw: bool, equated: Collection[date] = ()) -> LegalLastDay:
    """The last day that counts, for a period from the day after `start` to `calendar_day`.

    Without the Atw (`atw` False: a body's own rules, or a period art. 4 excludes) it is the calendar
    day. With it: art. 1 lid 1 moves a last day on a Saturday, Sunday or holiday (art. 3, and the days
    in `equated` the Crown added) to the next day that is none of these; art. 2 stretches a period of
    at least three days until it holds at least two such working days. Art. 1 lid 2 (periods counted
    backwards from an event) does not arise: the directory holds no such period.
    """
    if not atw:
        return LegalLastDay(calendar_day, calendar_day)
    day, because = calendar_day, atw_day_off(calendar_day, equated)
    while atw_day_off(day, equated) is not None:
        day += timedelta(days=1)
    if (calendar_day - start).days >= 3:
        working = sum(1 for n in range(1, (day - start).days + 1)
                      if atw_day_off(start + timedelta(days=n), equated) is None)
        while working < 2:
            day += timedelta(days=1)
            if atw_day_off(day, equated) is None:
                working += 1
                because = because or "working_days"
    return LegalLastDay(calendar_day, day, because if day != calendar_day else None)


# ------------------------------------------------------------------------ cards

#: Text keys of a card's fixed words, in ``locales/<lang>/directory.yaml``.
CARD_TEXT_PREFIX = "directory.card."
CARD_TEXT_KEYS: tuple[str, ...] = (
    "phone",
    "phone_or",
    "website",
    "email",
    "post",
    "hours",
    "cost",
    "cost_value.free",
    "cost_value.paid",
    "cost_value.mixed",
    "caution",
    "source",
    "checked_on",
    "not_rechecked",
)


@dataclass(frozen=True, slots=True)
class CardWords:
    """The fixed words of a card in one language, taken from the locales.

    Build it with ``CardWords.from_texts``; the words themselves live in
    ``locales/<lang>/directory.yaml`` under ``directory.card.*`` so that
    moderators change them like any other text.
    """

    phone: str
    phone_or: str
    website: str
    email: str
    post: str
    hours: str
    cost: str
    cost_values: Mapping[str, str]
    caution: str
    source: str
    checked_on: str  # always followed by the date: "checked on" 29 November 2026
    not_rechecked: str  # after the source of facts never checked live: "not yet re-checked"
    #: the language's month names for the checked date (`Locales.month_names`); None: built-in names
    months: Sequence[str] | None = None

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], months: Sequence[str] | None = None) -> CardWords:
        """From ``{key: text}`` for every key in ``CARD_TEXT_KEYS``.

        Keys may be given with or without ``CARD_TEXT_PREFIX``. Raises
        KeyError naming every missing key.
        """
        words = {key.removeprefix(CARD_TEXT_PREFIX): text for key, text in texts.items()}
        missing = [CARD_TEXT_PREFIX + key for key in CARD_TEXT_KEYS if key not in words]
        if missing:
            raise KeyError(f"card texts missing: {', '.join(missing)}")
        return cls(
            phone=words["phone"],
            phone_or=words["phone_or"],
            website=words["website"],
            email=words["email"],
            post=words["post"],
            hours=words["hours"],
            cost=words["cost"],
            cost_values={value: words[f"cost_value.{value}"] for value in ("free", "paid", "mixed")},
            caution=words["caution"],
            source=words["source"],
            checked_on=words["checked_on"],
            not_rechecked=words["not_rechecked"],
            months=months,
        )


def _lines(entry: Entry, lang: Lang, words: CardWords) -> Iterable[str]:
    yield entry.name[lang]
    yield entry.purpose[lang]
    phone_lines: list[str] = []
    if entry.phone:
        number = entry.phone
        if entry.phone_alt:
            number = f"{number} {words.phone_or} {entry.phone_alt}"
        phone_lines.append(f"{words.phone}: {number}")
        if entry.phone_note:
            phone_lines.append(entry.phone_note[lang])
    website_lines = [f"{words.website}: {entry.website}"] if entry.website else []
    if entry.lead_with == "website":
        yield from website_lines
        yield from phone_lines
    else:
        yield from phone_lines
        yield from website_lines
    if entry.email:
        yield f"{words.email}: {entry.email}"
    if entry.postal_address:
        yield f"{words.post}: {entry.postal_address}"
    if entry.hours:
        yield f"{words.hours}: {entry.hours[lang]}"
    if entry.cost:
        cost = f"{words.cost}: {words.cost_values[entry.cost]}."
        if entry.cost_note:
            cost = f"{cost} {entry.cost_note[lang]}"
        yield cost
    if entry.confidence != "verified" and entry.confidence_note:
        yield f"{words.caution}: {entry.confidence_note[lang]}"
    yield source_line(entry.source, entry.checked, lang, words)


def source_line(source: str, checked: date | None, lang: Lang, words: CardWords) -> str:
    """Where a fact comes from, and honestly whether a person confirmed it there.

    "checked on <date>" only for a live check; facts taken over from research
    say they were not yet re-checked, so nobody trusts them more than they should.
    """
    if checked is None:
        return f"{words.source}: {source}, {words.not_rechecked}"
    return f"{words.source}: {source} ({words.checked_on} {format_date(checked, lang, words.months)})"


def render_card(entry: Entry, lang: Lang, words: CardWords) -> str:
    """One entry as plain text for a chat message; adapters escape it.

    ``words`` are the card's fixed words in ``lang`` (see ``CardWords``).
    The source line is always last and always present, so no fact reaches a
    user without saying where it comes from and whether (and when) it was checked.
    """
    return "\n".join(_lines(entry, lang, words))
