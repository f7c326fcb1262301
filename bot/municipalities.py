"""Recognise a Dutch municipality in what a user typed.

Why: the council-speaking flow must find the user's own griffie, and users
type "den bosch", "sgravenhage", "Weesp" (merged into Amsterdam in 2022) or
"amsterdm". A wrong guess sends someone to the wrong council, so this module
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
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

__all__ = [
    "DEFAULT_DATA_DIR",
    "AliasKind",
    "FlowsetMatch",
    "FlowsetMatcher",
    "MatchOutcome",
    "Municipality",
    "MunicipalityIndex",
    "MunicipalityMatch",
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


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise_name(text: str) -> str:
    """A comparison key forgiving case, diacritics, 's-, hyphens and spaces.

    "'s-Gravenhage", "s gravenhage" and "SGRAVENHAGE" all become
    "sgravenhage"; "Súdwest-Fryslân" becomes "sudwestfryslan".
    """
    text = _strip_diacritics(text.strip()).casefold()
    text = _PREFIXES.sub("", text)
    return re.sub(r"[^a-z0-9]", "", text)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _strip_diacritics(text).casefold())


class MatchOutcome(StrEnum):
    EXACT = "exact"
    ALIAS = "alias"
    AMBIGUOUS = "ambiguous"
    SUGGESTIONS = "suggestions"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Municipality:
    """A current municipality as CBS names it."""

    code: str
    name: str
    province: str


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

    @property
    def needs_village(self) -> bool:
        """True when the user named a split municipality: ask for the village."""
        return self.split is not None


@dataclass(frozen=True, slots=True)
class _Alias:
    alias: str
    target: Municipality
    kind: AliasKind


@dataclass
class MunicipalityIndex:
    """All municipalities, aliases and splits, prepared for fast matching."""

    municipalities: tuple[Municipality, ...]
    aliases: tuple[_Alias, ...]
    splits: Mapping[str, Split]
    _by_key: dict[str, Municipality] = field(init=False, repr=False)
    _alias_by_key: dict[str, _Alias] = field(init=False, repr=False)
    _ambiguous: dict[str, tuple[Municipality, ...]] = field(init=False, repr=False)
    _provinces: dict[str, str] = field(init=False, repr=False)
    _fuzzy_keys: list[str] = field(init=False, repr=False)
    _fuzzy_targets: list[Municipality] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {}
        for item in self.municipalities:
            key = normalise_name(item.name)
            if key in self._by_key:
                raise ValueError(f"two municipalities normalise to {key!r}")
            self._by_key[key] = item
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
        """Read gemeenten.tsv, gemeenten-aliases.tsv and gemeenten-splits.tsv."""
        rows = _read_tsv(data_dir / "gemeenten.tsv")
        municipalities = tuple(Municipality(r["code"], r["name"], r["province"]) for r in rows)
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
        return cls(municipalities, tuple(aliases), splits)

    # --------------------------------------------------------------- matching

    def get(self, name: str) -> Municipality | None:
        """A municipality by its official name (any case or spelling of it)."""
        return self._by_key.get(normalise_name(name))

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
        if official is not None:
            return MunicipalityMatch(MatchOutcome.EXACT, text, municipality=official)
        alias = self._alias_by_key.get(key)
        if alias is not None:
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
    points) would send them to the wrong council.
    """

    kind: str
    name: str | None
    typed: str
    note_key: str | None
    candidates: tuple[str, ...]
    detail: MunicipalityMatch


@dataclass(frozen=True)
class FlowsetMatcher:
    """What the flow loader stores and the engine calls for ``ask: municipality``."""

    index: MunicipalityIndex

    def match(self, text: str) -> FlowsetMatch:
        found = self.index.match(text)
        names = tuple(c.name for c in found.candidates)
        if found.split is not None:
            return FlowsetMatch("ambiguous", None, text, None, found.split.into, found)
        name = found.municipality.name if found.municipality else None
        # "Weesp" is Amsterdam since 2022: say so, or the user wonders why we changed their answer
        note = "sys.municipality_merged" if found.alias_kind == "former-municipality" else None
        typed = found.alias or text
        return FlowsetMatch(found.outcome.value, name, typed, note, names, found)


def load_for_flowset(data_dir: Path = DEFAULT_DATA_DIR) -> FlowsetMatcher:
    """Entry point for bot.flows.loader: an index over ``data_dir``'s TSV files."""
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve():
        return FlowsetMatcher(default_index())
    return FlowsetMatcher(MunicipalityIndex.from_dir(data_dir))
