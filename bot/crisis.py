"""Recognise a crisis in any free text a user sends, at any step.

Why: someone who writes "ik wil niet meer leven" in the middle of a complaint
letter must get 113 first, not the next question. The check runs on every
message, so it is precompiled regular expressions over normalised text, and
its rules are data (``flows/crisis.yaml``) that moderators can extend without
touching code.

How a message is read, in order:

1. ``normalise``: lowercase, diacritics stripped, curly quotes unified,
   apostrophes inside words dropped ("z'n" -> "zn"), hyphens inside words
   dropped, letters repeated 3+ times cut to 2 ("dooood" -> "dood"), clause
   punctuation (. , ; ! ? newline) turned into " . ", everything else
   (including ":", so "hij zei: ..." stays one clause) into spaces. Patterns
   are written against this form.
2. ``blank`` exclusions remove spans (idioms such as "lach me dood", quoted
   text for some classes) so they cannot trigger anything.
3. The text is split into clauses; a clause matching a ``veto`` exclusion of
   a class (a news report, a group described in general, an allegation being
   denied) is ignored for that class, except by ``strong`` rules.
4. Classes are tried in priority order; the first rule that matches wins.

What it must never do: log or store the text, call out to anything, or decide
what to say (it returns a reply key; texts live in the locales).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.flows.source import load_yaml

__all__ = [
    "CrisisDetector",
    "CrisisMatch",
    "CrisisRules",
    "CrisisRulesError",
    "normalise",
]

_ID = r"^[a-z][a-z0-9_]*$"
_FRAGMENT = re.compile(r"\{\{\s*([a-z][a-z0-9_]*)\s*\}\}")


# ---------------------------------------------------------------- normalising

_QUOTES = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "`": "'",
        "\u00b4": "'",
    }
)
_INNER_APOSTROPHE = re.compile(r"(?<=[a-z0-9])'(?=[a-z])")
_S_APOSTROPHE = re.compile(r"(^|\s)'s\b")
_INNER_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_CLAUSE_PUNCT = re.compile(r"[.,;!?\n\r]+")
_OTHER = re.compile(r"[^a-z0-9\". ]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_CLAUSE_SEP = " . "


def normalise(text: str) -> str:
    """The form every crisis pattern is written against (see module doc)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().translate(_QUOTES)
    text = _S_APOSTROPHE.sub(r"\1s", text)
    text = _INNER_APOSTROPHE.sub("", text)
    text = text.replace("'", '"')
    text = _INNER_HYPHEN.sub("", text)
    text = _CLAUSE_PUNCT.sub(_CLAUSE_SEP, text)
    text = _OTHER.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------------- models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exclusion(_Strict):
    """Text that must not count: removed (blank) or voiding its clause (veto)."""

    id: Annotated[str, Field(pattern=_ID)]
    kind: Literal["blank", "veto"]
    pattern: str
    classes: list[str] | None = None
    note: str | None = None


class Rule(_Strict):
    """One way a class shows up: a pattern, or several that must all occur."""

    id: Annotated[str, Field(pattern=_ID)]
    pattern: str | None = None
    all: list[str] | None = None
    strong: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Rule:
        if (self.pattern is None) == (self.all is None):
            raise ValueError(f"rule {self.id!r}: give exactly one of 'pattern' or 'all'")
        return self


class CrisisClass(_Strict):
    """What to recognise and what follows: a reply key and where to go next."""

    reply: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")]
    then: Literal["continue", "safety"]
    #: In the safety flow this is an answer, not a new crisis (the flow already
    #: gives this help). Always so for ``then: safety``.
    quiet_in_safety_flow: bool = False
    rules: list[Rule]
    note: str | None = None


class CrisisRules(_Strict):
    """The whole of ``flows/crisis.yaml``."""

    priority: list[str]
    fragments: dict[str, str] = Field(default_factory=dict)
    exclusions: list[Exclusion] = Field(default_factory=list)
    classes: dict[str, CrisisClass]

    @model_validator(mode="after")
    def _consistent(self) -> CrisisRules:
        if sorted(self.priority) != sorted(self.classes):
            raise ValueError(
                f"priority must name every class exactly once; classes are {sorted(self.classes)}, priority is {self.priority}"
            )
        for exclusion in self.exclusions:
            for name in exclusion.classes or []:
                if name not in self.classes:
                    raise ValueError(f"exclusion {exclusion.id!r} names unknown class {name!r}")
        ids = [e.id for e in self.exclusions] + [r.id for c in self.classes.values() for r in c.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule/exclusion ids used more than once: {duplicates}")
        return self


class CrisisRulesError(ValueError):
    """The rules cannot be used; the message says which rule and why."""


# -------------------------------------------------------------------- detector


@dataclass(frozen=True, slots=True)
class CrisisMatch:
    """Which class was recognised, by which rule, and what the bot does."""

    crisis_class: str
    rule_id: str
    reply: str
    then: Literal["continue", "safety"]
    quiet_in_safety_flow: bool = False


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    id: str
    patterns: tuple[re.Pattern[str], ...]
    strong: bool

    def matches(self, text: str) -> bool:
        return all(p.search(text) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class _CompiledClass:
    name: str
    reply: str
    then: Literal["continue", "safety"]
    quiet_in_safety_flow: bool
    blanks: tuple[re.Pattern[str], ...]
    vetoes: tuple[re.Pattern[str], ...]
    rules: tuple[_CompiledRule, ...]


def _expand(pattern: str, fragments: Mapping[str, str], where: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in fragments:
            raise CrisisRulesError(f"{where}: unknown fragment {{{{{name}}}}}")
        return f"(?:{fragments[name]})"

    return _FRAGMENT.sub(replace, pattern)


def _compile(pattern: str, fragments: Mapping[str, str], where: str) -> re.Pattern[str]:
    expanded = _expand(pattern, fragments, where)
    try:
        return re.compile(expanded)
    except re.error as exc:
        raise CrisisRulesError(f"{where}: invalid regular expression: {exc}") from exc


class CrisisDetector:
    """Precompiled crisis rules; ``detect`` is pure and cheap per message."""

    def __init__(self, classes: Sequence[_CompiledClass]) -> None:
        self._classes = tuple(classes)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CrisisDetector:
        """Build from the parsed YAML mapping; raise CrisisRulesError if unusable."""
        try:
            rules = CrisisRules.model_validate(data)
        except ValidationError as exc:
            lines = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()]
            raise CrisisRulesError("invalid crisis rules:\n" + "\n".join(lines)) from exc
        return cls._build(rules)

    @classmethod
    def from_yaml_file(cls, path: Path) -> CrisisDetector:
        """Convenience for tests and tools: read and build in one step."""
        data, _ = load_yaml(path)
        if not isinstance(data, Mapping):
            raise CrisisRulesError(f"{path}: expected a mapping at the top level")
        return cls.from_data(data)

    @classmethod
    def _build(cls, rules: CrisisRules) -> CrisisDetector:
        fragments = {name: _expand(value, rules.fragments, f"fragment {name!r}") for name, value in rules.fragments.items()}
        # one compiled object per exclusion, shared by the classes it applies to, so
        # `detect` works each one out once per message; exclusions for every class come
        # first, so all classes share that part of the blanking
        exclusions = sorted(rules.exclusions, key=lambda e: e.classes is not None)
        patterns = {e.id: _compile(e.pattern, fragments, f"exclusion {e.id!r}") for e in exclusions}
        compiled: list[_CompiledClass] = []
        for name in rules.priority:
            spec = rules.classes[name]
            blanks: list[re.Pattern[str]] = []
            vetoes: list[re.Pattern[str]] = []
            for exclusion in exclusions:
                if exclusion.classes is not None and name not in exclusion.classes:
                    continue
                (blanks if exclusion.kind == "blank" else vetoes).append(patterns[exclusion.id])
            compiled_rules = []
            for rule in spec.rules:
                sources = [rule.pattern] if rule.pattern is not None else rule.all or []
                compiled_rules.append(
                    _CompiledRule(
                        rule.id,
                        tuple(_compile(p, fragments, f"{name} rule {rule.id!r}") for p in sources),
                        rule.strong,
                    )
                )
            compiled.append(
                _CompiledClass(
                    name,
                    spec.reply,
                    spec.then,
                    spec.then == "safety" or spec.quiet_in_safety_flow,
                    tuple(blanks),
                    tuple(vetoes),
                    tuple(compiled_rules),
                )
            )
        return cls(compiled)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in priority order."""
        return tuple(c.name for c in self._classes)

    @property
    def quiet_in_safety_flow(self) -> frozenset[str]:
        """Classes that are an answer, not a new crisis, inside the safety flow."""
        return frozenset(c.name for c in self._classes if c.quiet_in_safety_flow)

    def detect(self, text: str) -> CrisisMatch | None:
        """The highest-priority crisis in ``text``, or None."""
        normalised = normalise(text)
        if not normalised:
            return None
        # exclusions shared by several classes are applied once per message (ids: a
        # Pattern hashes its whole program, which is slow)
        blanked_after: dict[tuple[int, ...], str] = {}
        vetoed: dict[tuple[int, str], bool] = {}
        for spec in self._classes:
            blanked = normalised
            done: tuple[int, ...] = ()
            for blank in spec.blanks:
                done = (*done, id(blank))
                found = blanked_after.get(done)
                if found is None:
                    found = blanked_after[done] = blank.sub(" ", blanked)
                blanked = found
            everything = blanked
            kept_clauses = []
            for clause in blanked.split(_CLAUSE_SEP):
                for veto in spec.vetoes:
                    hit = vetoed.get((id(veto), clause))
                    if hit is None:
                        hit = vetoed[(id(veto), clause)] = veto.search(clause) is not None
                    if hit:
                        break
                else:
                    kept_clauses.append(clause)
            kept = _CLAUSE_SEP.join(kept_clauses)
            for rule in spec.rules:
                if rule.matches(everything if rule.strong else kept):
                    return CrisisMatch(spec.name, rule.id, spec.reply, spec.then, spec.quiet_in_safety_flow)
        return None
