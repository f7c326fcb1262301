"""Recognise a Dutch municipality in what a user typed.

Why: the council-speaking flow must find the user's own griffie, and users
type "den bosch", "sgravenhage", "Weesp" (merged into Amsterdam in 2022),
"amsterdm", or the town they live in ("Sneek", "Scheveningen", "Harns")
rather than its municipality. A wrong guess sends someone to the wrong council, so this module
never guesses silently: it says whether the answer is exact, an alias, ambiguous
(ask which one), a set of suggestions (ask "did you mean"), or nothing.

What it must never do: touch the network, keep state between calls, or invent
a municipality. The data are the TSV files in ``flows/directory``; they are
read once per index and matching is a pure function of the text.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

from bot.folding import unaccented

__all__ = [
    "DEFAULT_DATA_DIR",
    "AliasKind",
    "FlowsetMatch",
    "FlowsetMatcher",
    "MatchOutcome",
    "Municipality",
    "MunicipalityIndex",
    "MunicipalityMatch",
    "Place",
    "Split",
    "default_index",
    "load_for_flowset",
    "match",
    "normalise_name",
]

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "flows" / "directory"

AliasKind = Literal["spelling", "former-municipality"]

# Lower than this, a fuzzy hit is more likely noise than a typo
# ("hello" vs "Hengelo" scores 67, "amsterdm" vs "Amsterdam" 94).
SUGGESTION_CUTOFF = 75.0
MAX_SUGGESTIONS = 3
# A place name found inside a sentence is offered only from this many letters ("Sneek" yes, "Nes" no)
PLACE_INSIDE_MIN = 5
# A button with more characters is cut on a phone (bot.phone, issue 19)
LABEL_MAX = 30

# CBS's mark on a name two municipalities share: "Bergen (L.)", "Bergen (NH.)"
_CBS_MARK = re.compile(r"\s*\([^)]*\)$")
_PREFIXES = re.compile(r"^(?:de |the )?(?:gemeente|gem|municipality(?: of)?)\s+", re.IGNORECASE)
# Province names users type instead of a municipality. "Utrecht" and
# "Groningen" are also municipalities; an exact municipality match wins.
_EXTRA_PROVINCE_NAMES = {
    "Friesland": "Fryslân",
    "Brabant": "Noord-Brabant",
    "Noord Brabant": "Noord-Brabant",
    "Noord Holland": "Noord-Holland",
    "Zuid Holland": "Zuid-Holland",
}


def normalise_name(text: str) -> str:
    """A comparison key forgiving case, diacritics, 's-, hyphens and spaces.

    "'s-Gravenhage", "s gravenhage" and "SGRAVENHAGE" all become
    "sgravenhage"; "Súdwest-Fryslân" becomes "sudwestfryslan".
    """
    text = unaccented(text.strip()).casefold()
    text = _PREFIXES.sub("", text)
    return re.sub(r"[^a-z0-9]", "", text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", unaccented(text).casefold())


#: "aan den" / "aan de" in a place's name, written "a/d" where a button would be too long otherwise
_SHORT_AAN = re.compile(r" aan de[n]? ")

class MatchOutcome(StrEnum):
    EXACT = "exact"
    ALIAS = "alias"
    AMBIGUOUS = "ambiguous"
    #: a town or village (BAG woonplaats), or a name people use for one: its one municipality
    PLACE = "place"
    SUGGESTIONS = "suggestions"
    NONE = "none"


PlaceAliasKind = Literal["dutch-form", "frisian-form", "district"]


@dataclass(frozen=True, slots=True)
class Municipality:
    """A current municipality as CBS names it."""

    code: str
    name: str
    province: str
    #: the municipality's own website, from the government register (gemeenten-websites.tsv)
    website: str | None = None

    @property
    def shown(self) -> str:
        """The name a person reads: CBS's "Bergen (L.)" puzzled people, "Bergen (Limburg)" does not.

        The mark is CBS's abbreviation of the province, so the full province says the same thing.
        """
        bare = _CBS_MARK.sub("", self.name)
        return f"{bare} ({self.province})" if bare != self.name else self.name


@dataclass(frozen=True, slots=True)
class Split:
    """A former municipality divided over several current ones.

    The alias row points at the part with the main village; ``into`` and
    ``villages`` let a flow ask which village the user means.
    """

    former: str
    year: int
    into: tuple[str, ...]
    villages: tuple[tuple[str, str], ...]
    note: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class MunicipalityMatch:
    """What the text matched, and what a flow should ask next."""

    outcome: MatchOutcome
    query: str
    municipality: Municipality | None = None
    alias: str | None = None
    alias_kind: AliasKind | None = None
    split: Split | None = None
    candidates: tuple[Municipality, ...] = ()
    province: str | None = None
    #: the town or village the user named, when the match went through a place name
    place: str | None = None

    @property
    def needs_village(self) -> bool:
        """True when the user named a split municipality: ask for the village."""
        return self.split is not None


@dataclass(frozen=True, slots=True)
class _Alias:
    alias: str
    target: Municipality
    kind: AliasKind


@dataclass(frozen=True, slots=True)
class Place:
    """A name for a town or village, and the municipality (or municipalities) it lies in.

    89 BAG names occur in more than one municipality (Hengelo, Bergen, Rijswijk ...),
    so a place never picks one of them: the flow asks which.
    """

    name: str
    municipalities: tuple[Municipality, ...]
    #: for a name BAG lacks (plaatsen-aliases.tsv): the BAG woonplaats it stands for
    stands_for: str | None = None


@dataclass
class MunicipalityIndex:
    """All municipalities, aliases, splits and places, prepared for fast matching."""

    municipalities: tuple[Municipality, ...]
    aliases: tuple[_Alias, ...]
    splits: Mapping[str, Split]
    places: tuple[Place, ...] = ()
    _by_key: dict[str, Municipality] = field(init=False, repr=False)
    #: "bergenlimburg" -> Bergen (L.): a name as the bot shows it, read back (a saved answer, a button)
    _by_shown: dict[str, Municipality] = field(init=False, repr=False)
    _alias_by_key: dict[str, _Alias] = field(init=False, repr=False)
    _ambiguous: dict[str, tuple[Municipality, ...]] = field(init=False, repr=False)
    _provinces: dict[str, str] = field(init=False, repr=False)
    _fuzzy_keys: list[str] = field(init=False, repr=False)
    _fuzzy_targets: list[Municipality] = field(init=False, repr=False)
    _place_by_key: dict[str, Place] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {}
        for item in self.municipalities:
            key = normalise_name(item.name)
            if key in self._by_key:
                raise ValueError(f"two municipalities normalise to {key!r}")
            self._by_key[key] = item
        self._by_shown = {normalise_name(m.shown): m for m in self.municipalities if m.shown != m.name}
        self._alias_by_key = {}
        for alias in self.aliases:
            key = normalise_name(alias.alias)
            official = self._by_key.get(key)
            if official is not None and official != alias.target:
                raise ValueError(f"alias {alias.alias!r} collides with {official.name!r}")
            self._alias_by_key.setdefault(key, alias)
        # A name with a CBS suffix, e.g. "Bergen (NH.)", is ambiguous when typed
        # bare if the bare name is not itself a municipality.
        groups: dict[str, list[Municipality]] = {}
        for item in self.municipalities:
            bare = re.sub(r"\s*\(.*\)$", "", item.name)
            if bare != item.name:
                groups.setdefault(normalise_name(bare), []).append(item)
        self._ambiguous = {
            key: tuple(items) for key, items in groups.items() if key not in self._by_key and key not in self._alias_by_key
        }
        self._provinces = {normalise_name(m.province): m.province for m in self.municipalities}
        for typed, province in _EXTRA_PROVINCE_NAMES.items():
            self._provinces[normalise_name(typed)] = province
        self._place_by_key = {}
        for place in self.places:
            self._place_by_key.setdefault(normalise_name(place.name), place)
        self._fuzzy_keys = []
        self._fuzzy_targets = []
        for key, item in self._by_key.items():
            self._fuzzy_keys.append(key)
            self._fuzzy_targets.append(item)
        for key, alias in self._alias_by_key.items():
            if key not in self._by_key:
                self._fuzzy_keys.append(key)
                self._fuzzy_targets.append(alias.target)

    # ---------------------------------------------------------------- loading

    @classmethod
    def from_dir(cls, data_dir: Path = DEFAULT_DATA_DIR) -> MunicipalityIndex:
        """Read gemeenten.tsv and, where present, the aliases, splits, websites and places."""
        rows = _read_tsv(data_dir / "gemeenten.tsv")
        websites_file = data_dir / "gemeenten-websites.tsv"
        websites = {r["gemeente_code"]: r["website"] for r in _read_tsv(websites_file)} if websites_file.exists() else {}
        municipalities = tuple(Municipality(r["code"], r["name"], r["province"], websites.get(r["code"]) or None)
                               for r in rows)
        by_name = {m.name: m for m in municipalities}
        aliases: list[_Alias] = []
        for r in _read_tsv(data_dir / "gemeenten-aliases.tsv"):
            kind: AliasKind
            if r["kind"] == "spelling":
                kind = "spelling"
            elif r["kind"] == "former-municipality":
                kind = "former-municipality"
            else:
                raise ValueError(f"alias {r['alias']!r}: unknown kind {r['kind']!r}")
            target = by_name.get(r["current_name"])
            if target is None:
                raise ValueError(f"alias {r['alias']!r} points to unknown municipality {r['current_name']!r}")
            aliases.append(_Alias(r["alias"], target, kind))
        splits: dict[str, Split] = {}
        splits_file = data_dir / "gemeenten-splits.tsv"
        if splits_file.exists():
            for r in _read_tsv(splits_file):
                into = tuple(p for p in r["into"].split(";") if p)
                villages = tuple((v.split("=", 1)[0], v.split("=", 1)[1]) for v in r["villages"].split(";") if "=" in v)
                for name in (*into, *(m for _, m in villages)):
                    if name not in by_name:
                        raise ValueError(f"split {r['former']!r} names unknown municipality {name!r}")
                splits[normalise_name(r["former"])] = Split(
                    former=r["former"],
                    year=int(r["year"]),
                    into=into,
                    villages=villages,
                    note={"nl": r["note_nl"], "en": r["note_en"]},
                )
        return cls(municipalities, tuple(aliases), splits, _read_places(data_dir, municipalities))

    # --------------------------------------------------------------- matching

    def get(self, name: str) -> Municipality | None:
        """A municipality by its official name or the name the bot shows for it (any case or spelling)."""
        key = normalise_name(name)
        return self._by_key.get(key) or self._by_shown.get(key)

    def match(self, text: str) -> MunicipalityMatch:
        """Classify what the user typed; see MatchOutcome for the cases."""
        key = normalise_name(text)
        if not key:
            return MunicipalityMatch(MatchOutcome.NONE, text)
        found = self._match_key(key, text)
        if found is not None:
            return found
        province = self._provinces.get(key)
        if province is not None:
            return MunicipalityMatch(MatchOutcome.NONE, text, province=province)
        candidates = self._suggest(key)
        if not candidates:
            candidates = self._names_inside(text)
        if candidates:
            return MunicipalityMatch(MatchOutcome.SUGGESTIONS, text, candidates=candidates)
        return MunicipalityMatch(MatchOutcome.NONE, text)

    def _match_key(self, key: str, text: str) -> MunicipalityMatch | None:
        official = self._by_key.get(key)
        place = self._place_by_key.get(key)
        if official is not None:
            elsewhere = tuple(m for m in place.municipalities if m != official) if place else ()
            if place is not None and elsewhere:
                # "Hengelo" is a municipality in Overijssel and a village in Bronckhorst (Gelderland):
                # the wrong one sends the user to the wrong council, so ask
                return MunicipalityMatch(MatchOutcome.AMBIGUOUS, text, candidates=(official, *elsewhere),
                                         place=place.name)
            return MunicipalityMatch(MatchOutcome.EXACT, text, municipality=official)
        alias = self._alias_by_key.get(key)
        if alias is not None:
            elsewhere = tuple(m for m in place.municipalities if m != alias.target) if place else ()
            if place is not None and elsewhere and key not in self.splits:
                # "Haren" is part of Groningen since 2019, and a village in Oss: ask
                return MunicipalityMatch(MatchOutcome.AMBIGUOUS, text, candidates=(alias.target, *elsewhere),
                                         alias=alias.alias, alias_kind=alias.kind, place=place.name)
            return MunicipalityMatch(
                MatchOutcome.ALIAS,
                text,
                municipality=alias.target,
                alias=alias.alias,
                alias_kind=alias.kind,
                split=self.splits.get(key),
            )
        ambiguous = self._ambiguous.get(key)
        if ambiguous is not None:
            return MunicipalityMatch(MatchOutcome.AMBIGUOUS, text, candidates=ambiguous)
        if place is not None:
            if len(place.municipalities) > 1:
                # "alphen": the villages, and the municipality whose name starts with it
                starting = tuple(m for k, m in self._by_key.items() if k.startswith(key) and len(key) >= 4)
                candidates = _first_unique((*place.municipalities, *starting), MAX_SUGGESTIONS + 2)
                return MunicipalityMatch(MatchOutcome.AMBIGUOUS, text, candidates=candidates, place=place.name)
            return MunicipalityMatch(MatchOutcome.PLACE, text, municipality=place.municipalities[0],
                                     place=place.name)
        return None

    def _suggest(self, key: str) -> tuple[Municipality, ...]:
        """Typos by edit similarity, then names the text is the start of."""
        hits = process.extract(
            key,
            self._fuzzy_keys,
            scorer=fuzz.ratio,
            limit=12,
            score_cutoff=SUGGESTION_CUTOFF,
        )
        ordered = [self._fuzzy_targets[index] for _, _, index in hits]
        if len(key) >= 4:
            ordered.extend(target for k, target in zip(self._fuzzy_keys, self._fuzzy_targets, strict=True) if k.startswith(key))
        return _first_unique(ordered, MAX_SUGGESTIONS)

    def _names_inside(self, text: str) -> tuple[Municipality, ...]:
        """Municipality names written inside a sentence ("ik woon in Ede").

        Offered as suggestions only, never as a match: many names are also
        ordinary words ("Best", "Sluis", "Beek").
        """
        words = _words(text)
        found: list[Municipality] = []
        for size in range(min(5, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                key = "".join(words[start : start + size])
                if key not in self._by_key and key not in self._alias_by_key and len(key) < PLACE_INSIDE_MIN:
                    continue  # short place names are often ordinary words ("Nes", "Best", "Eext")
                hit = self._match_key(key, text)
                if hit is None:
                    continue
                if hit.municipality is not None:
                    found.append(hit.municipality)
                found.extend(hit.candidates)
        return _first_unique(found, MAX_SUGGESTIONS)


def _first_unique(items: Iterable[Municipality], limit: int) -> tuple[Municipality, ...]:
    seen: list[Municipality] = []
    for item in items:
        if item not in seen:
            seen.append(item)
        if len(seen) == limit:
            break
    return tuple(seen)


def _read_places(data_dir: Path, municipalities: tuple[Municipality, ...]) -> tuple[Place, ...]:
    """woonplaatsen.tsv (CBS/BAG, one row per place and municipality) and plaatsen-aliases.tsv.

    The places file names municipalities by code; an unknown code or place is a data
    error, found when the bot starts rather than when a user types the name.
    """
    places_file = data_dir / "woonplaatsen.tsv"
    if not places_file.exists():
        return ()
    by_code = {m.code: m for m in municipalities}
    # grouped by what matching compares: "Kapel Avezaath" (Tiel) and "Kapel-Avezaath" (Buren)
    # are two places that read the same, so typing either asks which
    grouped: dict[str, list[Municipality]] = {}
    shown: dict[str, str] = {}
    by_name: dict[str, list[Municipality]] = {}
    for r in _read_tsv(places_file):
        target = by_code.get(r["gemeente_code"])
        if target is None:
            raise ValueError(f"place {r['woonplaats']!r} names unknown municipality {r['gemeente_code']!r}")
        key = normalise_name(r["woonplaats"])
        shown.setdefault(key, r["woonplaats"])
        for found in (grouped.setdefault(key, []), by_name.setdefault(r["woonplaats"], [])):
            if target not in found:
                found.append(target)
    places = [Place(shown[key], tuple(found)) for key, found in grouped.items()]
    aliases_file = data_dir / "plaatsen-aliases.tsv"
    if aliases_file.exists():
        for r in _read_tsv(aliases_file):
            if r["kind"] not in ("dutch-form", "frisian-form", "district"):
                raise ValueError(f"place alias {r['alias']!r}: unknown kind {r['kind']!r}")
            stands_for = by_name.get(r["place"])
            if stands_for is None:
                raise ValueError(f"place alias {r['alias']!r} points to unknown place {r['place']!r}")
            places.append(Place(r["alias"], tuple(stands_for), stands_for=r["place"]))
    return tuple(places)


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        return list(csv.DictReader(lines, delimiter="\t"))


@functools.cache
def default_index() -> MunicipalityIndex:
    """The index over the repository's data, loaded once per process."""
    return MunicipalityIndex.from_dir(DEFAULT_DATA_DIR)


def match(text: str) -> MunicipalityMatch:
    """Match ``text`` against the repository's municipality data."""
    return default_index().match(text)


# ------------------------------------------------------------ engine adapter


@dataclass(frozen=True, slots=True)
class FlowsetMatch:
    """The flat shape ``bot.engine`` reads; ``detail`` keeps the full match.

    A split former municipality is reported as ``ambiguous`` with the parts as
    candidates: assigning a resident of Esch to Oisterwijk (where the alias
    points) would send them to the wrong council. ``split_note`` says why the
    user is asked, in each language. A place is reported as ``alias`` with a note
    that names its municipality, so the user sees the answer changed and why.
    ``labels`` are the buttons for ``candidates``, with their province
    ("Hengelo (Overijssel)", "Bronckhorst (Gelderland)"). Names are as a person reads them
    (``Municipality.shown``: "Bergen (Limburg)", not CBS's "Bergen (L.)"): they are saved and
    shown in the flow's texts, and ``get`` and ``website`` read them back.
    """

    kind: str
    name: str | None
    typed: str
    note_key: str | None
    candidates: tuple[str, ...]
    detail: MunicipalityMatch
    labels: tuple[str, ...] = ()
    split_note: Mapping[str, str] | None = None


@dataclass(frozen=True)
class FlowsetMatcher:
    """What the flow loader stores and the engine calls for ``ask: municipality``."""

    index: MunicipalityIndex

    def match(self, text: str) -> FlowsetMatch:
        found = self.index.match(text)
        names = tuple(c.shown for c in found.candidates)
        if found.split is not None:
            parts = tuple(m for m in (self.index.get(n) for n in found.split.into) if m is not None)
            return FlowsetMatch("ambiguous", None, text, None, tuple(m.shown for m in parts), found,
                                labels=tuple(self.label(m.name) for m in parts), split_note=found.split.note)
        if found.outcome is MatchOutcome.PLACE and found.municipality is not None:
            return FlowsetMatch("alias", found.municipality.shown, found.place or text, "sys.municipality_place",
                                (), found)
        name = found.municipality.shown if found.municipality else None
        # "Weesp" is Amsterdam since 2022: say so, or the user wonders why we changed their answer
        note = "sys.municipality_merged" if found.alias_kind == "former-municipality" else None
        typed = found.alias or found.place or text
        return FlowsetMatch(found.outcome.value, name, typed, note, names, found,
                            labels=tuple(self.label(n) for n in names))

    def label(self, name: str) -> str:
        """A button for a municipality the user may pick: with its province where that fits.

        Same-named places lie in different provinces (Hengelo, Wirdum), so the province is
        what tells the buttons apart; a name that already carries one ("Bergen (Noord-Holland)"),
        or would be cut on a phone with it (bot.phone), stays bare.
        """
        found = self.index.get(name)
        if found is not None and found.shown != found.name:
            return found.shown
        if found is None or found.name == found.province:  # not "Utrecht (Utrecht)"
            return name
        labelled = f"{found.name} ({found.province})"
        if len(labelled) > LABEL_MAX:  # "Alphen a/d Rijn (Zuid-Holland)": the short form the Dutch write too
            labelled = f"{_SHORT_AAN.sub(' a/d ', found.name)} ({found.province})"
        return labelled if len(labelled) <= LABEL_MAX else name

    def website(self, name: str) -> str | None:
        """The municipality's own website (government register), for finding its griffie."""
        found = self.index.get(name)
        return found.website if found is not None else None


def load_for_flowset(data_dir: Path = DEFAULT_DATA_DIR) -> FlowsetMatcher:
    """Entry point for bot.flows.loader: an index over ``data_dir``'s TSV files."""
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve():
        return FlowsetMatcher(default_index())
    return FlowsetMatcher(MunicipalityIndex.from_dir(data_dir))
