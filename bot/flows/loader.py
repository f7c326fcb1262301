"""Load and validate a whole flow set from disk, all or nothing.

`load_flowset` either returns a complete, checked FlowSet or raises
FlowSetInvalid with every problem found (file:line:col), so a reload can keep
the running set on any error. Warnings (e.g. a directory entry not checked
for a long time) travel with the loaded set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.clock import NL, SYSTEM, Now
from bot.crisis import CrisisDetector, CrisisRulesError
from bot.crisis_model import CrisisModel, CrisisModelError
from bot.directory import (
    ATW_EQUATED_ENTRY,
    ATW_EQUATED_FACT,
    CARD_TEXT_KEYS,
    CARD_TEXT_PREFIX,
    FALLBACK,
    SECONDARY_SOURCES_FILE,
    WRITTEN_IN,
    CardWords,
    Directory,
    DirectoryError,
    Entry,
    SecondarySite,
    load_directory,
    load_secondary_sites,
    provenance_gaps,
    render_card,
    source_line,
    stale_entries,
)
from bot.flows.check import Draft, Part, check_flows, code_text_keys
from bot.flows.flowset import DeadlineRule, FlowSet
from bot.flows.model import Flow
from bot.flows.problems import FlowSetInvalid, Problem
from bot.flows.source import Positions, Where, YamlSyntaxError, load_yaml, shown_path
from bot.flows.steps import untagged
from bot.glossary import GlossaryIndex
from bot.municipalities import FlowsetMatcher, load_for_flowset
from bot.settings import ROOT, Settings
from bot.texts import Locales, load_locales

#: Files in the flows directory that are not flows.
NOT_FLOWS = {"crisis.yaml"}


def _pydantic_problems(exc: ValidationError, pos: Positions, what: str, *, kind: str = "schema",
                       reference: str = "`python -m bot schema`",
                       guide: str = "see the step kinds and their keys in docs/FLOWS.md (or `python -m bot schema`)",
                       path_of: Callable[[tuple[str | int, ...]], tuple[str | int, ...]] = tuple,
                       ) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = path_of(tuple(err["loc"]))
        where = pos.of(loc)
        path = ".".join(str(p) for p in loc) or what
        message = err["msg"].removeprefix("Value error, ")
        fix = ""
        if err["type"] == "extra_forbidden":
            fix = f"remove `{loc[-1]}` or fix its spelling (see {reference})"
            message = f"`{loc[-1]}` is not a known key here"
        elif err["type"] == "missing":
            fix = f"add `{loc[-1]}`"
        elif err["type"] == "string_pattern_mismatch":
            fix = "use lowercase letters, digits and _ (text keys look like `topic.name`)"
        elif err["type"] == "literal_error":
            fix = f"write one of: {err.get('ctx', {}).get('expected', 'the values listed')}"
        else:
            fix = guide
        problems.append(Problem(where, kind, f"{path}: {message}", fix))
    return problems


def _version(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def load_flowset(
    flows_dir: Path,
    locales_dir: Path,
    *,
    root: Path | None = None,
    today: date | None = None,
    directory_max_age_days: int = 365,
    entry_flow: str = "main",
    loaded_at: datetime | None = None,
) -> FlowSet:
    """Read flows, locales, directory and crisis rules; raise FlowSetInvalid on any error.

    ``today`` (the Dutch date) decides which facts are stale and ``loaded_at`` is shown to
    moderators; both come from the product's clock, the system clock when not given."""
    reading = read_flowset(flows_dir, locales_dir, root=root or flows_dir.parent, today=today or SYSTEM.today(),
                           directory_max_age_days=directory_max_age_days, entry_flow=entry_flow)
    problems = reading.problems + check_flows(reading.draft)
    if any(p.severity == "error" for p in problems):
        raise FlowSetInvalid(problems)
    return _flowset(reading, flows_dir, entry_flow, loaded_at or SYSTEM(), problems)


@dataclass(slots=True)
class Reading:
    """What a load read from disk, before the checker's rules ran over it."""

    draft: Draft
    #: what reading itself found (a file that does not parse, a wrong value ...)
    problems: list[Problem]
    #: every file that makes up the set: a change to any of them is a new version
    files: list[Path]
    directory: _Directory
    crisis: Any
    crisis_routes: dict[str, tuple[str, str]]


def read_flowset(flows_dir: Path, locales_dir: Path, *, root: Path, today: date,
                 directory_max_age_days: int = 365, entry_flow: str = "main") -> Reading:
    """Read every part of a flow set as far as it loads, collecting what is wrong on the way.

    Raises FlowSetInvalid only when there is no flows directory to read at all."""
    if not flows_dir.is_dir():
        raise FlowSetInvalid([Problem(Where(shown_path(flows_dir, root), 1, 1), "missing-flows",
                                      "the flows directory does not exist",
                                      "set WEGWIJZER_FLOWS_DIR or create the directory")])
    flows = _read_flows(flows_dir, root)
    locales, locale_problems = load_locales(locales_dir, root)
    directory = _load_directory(flows_dir / "directory", root, today, directory_max_age_days,
                                locales, locales_dir)
    crisis = _read_crisis(flows_dir / "crisis.yaml", root)
    problems = [*flows.problems, *(Problem(lp.where, lp.kind, lp.message, lp.fix, detail=lp.detail) for lp in locale_problems),
                *directory.problems, *crisis.problems]
    if entry_flow not in flows.flows and not any(p.severity == "error" for p in problems):
        problems.append(Problem(Where(shown_path(flows_dir, root), 1, 1), "unknown-flow",
                                f"the entry flow `{entry_flow}` does not exist",
                                f"add flows/{entry_flow}.yaml or set the entry flow"))
    parts: tuple[tuple[Part, bool], ...] = (("flows", flows.unloaded), ("directory", directory.unloaded),
                                            ("locales", bool(locale_problems)))
    incomplete = frozenset(part for part, broken in parts if broken)
    draft = Draft(flows.flows, flows.positions, locales,
                  directory_ids=frozenset(directory.views_ids), deadline_ids=frozenset(directory.deadlines),
                  directory_views=directory.views, entry_places=directory.places,
                  explained=frozenset(directory.typed), extra_text_keys=crisis.text_keys,
                  code_text_keys=code_text_keys(Path(__file__).resolve().parent.parent), incomplete=incomplete)
    files = [*flows.files, *(sorted(locales_dir.rglob("*.yaml")) if locales_dir.is_dir() else []),
             *directory.files, *crisis.files]
    return Reading(draft, problems, files, directory, crisis.detector, crisis.routes)


def _flowset(reading: Reading, flows_dir: Path, entry_flow: str, loaded_at: datetime,
             problems: list[Problem]) -> FlowSet:
    """The running set, from a reading that passed every rule."""
    draft, directory = reading.draft, reading.directory
    deeplinks = {f.deeplink: f.flow for f in draft.flows.values() if f.deeplink}
    deeplinks.update({f.flow: f.flow for f in draft.flows.values()})
    return FlowSet(
        flows=draft.flows,
        positions=draft.positions,
        locales=draft.locales,
        directory_views=directory.views,
        cards=directory.cards,
        deadlines=directory.deadlines,
        atw_equated=directory.atw_equated,
        crisis=reading.crisis,
        crisis_routes=reading.crisis_routes,
        municipalities=_municipalities(flows_dir / "directory"),
        glossary=GlossaryIndex(directory.typed),
        version=_version(reading.files),
        loaded_at=loaded_at.astimezone(UTC).isoformat(timespec="seconds"),
        entry_flow=entry_flow,
        deeplinks=deeplinks,
        warnings=[p for p in problems if p.severity == "warning"],
    )


# ---------------------------------------------------------------- flows


@dataclass(slots=True)
class _Flows:
    flows: dict[str, Flow] = field(default_factory=dict)
    positions: dict[str, Positions] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: a flow file that did not load: its steps are unknown to the rules
    unloaded: bool = False


def _read_flows(flows_dir: Path, root: Path) -> _Flows:
    """Every flow file of the directory, each on its own: one broken file does not hide the others."""
    out = _Flows()
    for file in sorted(flows_dir.glob("*.yaml")):
        if file.name in NOT_FLOWS:
            continue
        out.files.append(file)
        flow, pos, problems = _read_flow(file, shown_path(file, root))
        out.problems.extend(problems)
        if flow is None or pos is None:
            out.unloaded = True
        elif flow.flow in out.flows:
            out.problems.append(Problem(pos.of(("flow",)), "duplicate-id",
                                        f"flow id `{flow.flow}` is also used by {out.positions[flow.flow].file}",
                                        "give every flow its own id"))
        else:
            out.flows[flow.flow] = flow
            out.positions[flow.flow] = pos
    return out


def _read_flow(file: Path, shown: str) -> tuple[Flow | None, Positions | None, list[Problem]]:
    try:
        data, pos = load_yaml(file, shown)
    except YamlSyntaxError as exc:
        return None, None, [Problem(exc.where, "duplicate-id" if exc.duplicate else "yaml-syntax",
                                    exc.problem, exc.fix, detail=exc.detail)]
    if not isinstance(data, dict):
        return None, None, [Problem(Where(shown, 1, 1), "schema", "a flow file is a mapping",
                                    "start with `flow: <id>`")]
    try:
        return Flow.model_validate(data), pos, []
    except ValidationError as exc:
        return None, None, _pydantic_problems(exc, pos, "flow", path_of=untagged)


# ---------------------------------------------------------------- directory


class _Directory:
    def __init__(self) -> None:
        self.views: dict[str, dict[str, dict[str, Any]]] = {}
        self.cards: dict[str, dict[str, str]] = {}
        self.deadlines: dict[tuple[str, str], DeadlineRule] = {}
        self.views_ids: set[str] = set()
        #: entry id -> where its id is written (for a warning about the whole entry)
        self.places: dict[str, Where] = {}
        #: entry id -> the words people type for it ("wat is een OTS?"): bot.glossary
        self.typed: dict[str, list[str]] = {}
        self.problems: list[Problem] = []
        self.files: list[Path] = []
        #: the directory did not load: its entries are unknown, not missing
        self.unloaded = False
        #: the days equated with a holiday for the Algemene termijnenwet (`ATW_EQUATED_ENTRY`)
        self.atw_equated: frozenset[date] = frozenset()


def _load_directory(directory: Path, root: Path, today: date, max_age: int,
                    locales: Locales, locales_dir: Path) -> _Directory:
    """Read flows/directory/ (bot.directory) into what templates and `show` steps use.

    For every language of `locales/`: a language is data, so a folder with all its texts
    (the card's words included) is enough for its cards and views to exist."""
    out = _Directory()
    if not directory.is_dir():
        return out
    words = _card_words(locales, locales_dir, root, out.problems)
    # the municipality lists (*.tsv) are part of the set: a change to them is a new version
    out.files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.tsv"))
    try:
        loaded = load_directory(directory, root=root)
    except DirectoryError as exc:
        for problem in exc.problems:
            out.problems.append(Problem(
                problem.pos, "directory", problem.message.replace("Value error, ", ""),
                problem.hint or "change the value as the message says; the other entries in this file show forms that work",
                detail=problem.detail))
        out.unloaded = True
        return out
    for entry_id, entry in loaded.entries.items():
        if entry.typed:
            out.typed[entry_id] = list(entry.typed)
        out.views_ids.add(entry_id)
        out.places[entry_id] = loaded.place(entry_id)
        out.cards[entry_id] = {}
        for lang in locales.languages:
            out.views.setdefault(lang, {})[entry_id] = _view(entry, lang, locales, words.get(lang))
            if lang in words:
                out.cards[entry_id][lang] = render_card(entry, lang, words[lang])
        for deadline in entry.deadlines:
            units = dict(deadline.period.units())
            out.deadlines[(entry_id, deadline.id)] = DeadlineRule(entry_id, deadline.id, **units, atw=deadline.atw)
        equated = (entry.value or {}).get(ATW_EQUATED_FACT) if entry_id == ATW_EQUATED_ENTRY else None
        if isinstance(equated, list):
            out.atw_equated = frozenset(equated)
    secondary, problems = load_secondary_sites(directory / SECONDARY_SOURCES_FILE, root)
    out.problems.extend(Problem(problem.pos, "directory", problem.message, problem.hint) for problem in problems)
    out.problems.extend(_directory_warnings(loaded, max_age, today, secondary))
    return out


def _card_words(locales: Locales, locales_dir: Path, root: Path, problems: list[Problem]) -> dict[str, CardWords]:
    """The words on a card (phone, website, checked on ...) per language that has them all."""
    words: dict[str, CardWords] = {}
    for lang in locales.languages:
        where = Where(shown_path(locales_dir / lang, root), 1, 1)
        if lang not in WRITTEN_IN:
            problems.append(Problem(
                where, "directory-language",
                f"the directory (flows/directory) is written in {' and '.join(WRITTEN_IN)}: `{lang}` cards "
                f"show the names and notes of bodies in `{FALLBACK}`",
                f"nothing to do if that is acceptable; otherwise ask a developer to add `{lang}` to the "
                "directory's languages (bot/directory.py, WRITTEN_IN)", severity="warning"))
        keys = [CARD_TEXT_PREFIX + key for key in CARD_TEXT_KEYS]
        missing = [key for key in keys if not locales.has(lang, key)]
        for key in (key for key in missing if locales.lacks(lang, key)):
            problems.append(Problem(
                where, "missing-text-key",
                f"text `{key}` (a word on every directory card) has no `{lang}` version",
                f"add `{key}` to locales/{lang}/directory.yaml"))
        if not missing:
            words[lang] = CardWords.from_texts({key: locales.render(lang, key, {}) for key in keys},
                                               locales.month_names(lang))
    return words


def _view(entry: Entry, lang: str, locales: Locales, words: CardWords | None) -> dict[str, Any]:
    """One entry's fields in one language, as templates read them (`d.<entry>.phone`)."""
    view: dict[str, Any] = {
        "name": entry.name[lang],
        "purpose": entry.purpose[lang],
        "phone": entry.phone or "",
        "phone_alt": entry.phone_alt or "",
        # what calling costs, where the number is not free ("0900-8020" is shown with it, never alone)
        "phone_note": entry.phone_note[lang] if entry.phone_note else "",
        "website": entry.website or "",
        "email": entry.email or "",
        "postal_address": entry.postal_address or "",
        "hours": entry.hours[lang] if entry.hours else "",
        "cost": entry.cost or "",
        "source": entry.source,
        # "Bron: <page>, nog niet opnieuw gecontroleerd": a fact's source as a text shows it
        "source_line": source_line(entry.source, entry.checked, lang, words) if words is not None else entry.source,
        "checked": entry.checked.isoformat() if entry.checked else "",
        "checked_live": entry.checked_live,
        "researched": entry.researched.isoformat() if entry.researched else "",
        "confidence": entry.confidence,
        "note": entry.confidence_note[lang] if entry.confidence_note else "",
    }
    # deadline notes for texts: d.<id>.deadlines.<rule>.note / counted_from / confidence_note
    view["deadlines"] = {
        deadline.id: {
            "period": _period_words(deadline.period.units(), lang, locales),
            "counted_from": deadline.counted_from[lang],
            "note": deadline.note[lang] if deadline.note else "",
            "confidence": deadline.confidence,
            "confidence_note": deadline.confidence_note[lang] if deadline.confidence_note else "",
            "source": deadline.source,
            # set in a law: the Algemene termijnenwet applies, and the law, not the body, decides
            "atw": deadline.atw,
            # "Bron: <page>, nog niet opnieuw gecontroleerd": what a text shows under a deadline
            "source_line": source_line(deadline.source, entry.checked, lang, words)
            if words is not None else deadline.source,
        }
        for deadline in entry.deadlines
    }
    for name, value in (entry.value or {}).items():
        view[name] = (value.isoformat() if isinstance(value, date)
                      else [day.isoformat() for day in value] if isinstance(value, list) else value)
    return view


def _directory_warnings(loaded: Directory, max_age: int, today: date,
                        secondary: Sequence[SecondarySite] = ()) -> list[Problem]:
    """Facts not looked at for long, and sources that do not say enough (bot.directory's checks)."""
    problems = []
    for stale in stale_entries(loaded.entries, max_age, today):
        live = loaded.entries[stale.entry_id].checked == stale.checked
        problems.append(Problem(
            loaded.where(stale.entry_id, "checked" if live else "researched"), "stale-directory-entry",
            f"`{stale.entry_id}` was last {'checked' if live else 'researched'} {stale.age_days} days ago "
            f"({stale.checked})",
            "check the facts at the source and update `checked:`", severity="warning"))
    gaps = [Problem(loaded.where(gap.entry_id, *gap.path), gap.kind, gap.message, gap.fix, severity="warning")
            for gap in provenance_gaps(loaded.entries, secondary)]
    return problems + sorted(gaps, key=lambda p: (p.where.file, p.where.line, p.where.col)) + _atw_equated_days(loaded, today)


def _atw_equated_days(loaded: Directory, today: date) -> list[Problem]:
    """Warn when the days equated with a holiday (art. 3 lid 3 Atw) end before next year.

    The Crown equates them by a decree every few years; a last day computed late in the year may
    fall in the next one, so its days must be in the directory before then.
    """
    moving = [(entry_id, i) for entry_id, entry in loaded.entries.items()
              for i, item in enumerate(entry.deadlines) if item.atw]
    if not moving:
        return []
    entry = loaded.entries.get(ATW_EQUATED_ENTRY)
    days = (entry.value or {}).get(ATW_EQUATED_FACT) if entry is not None else None
    listed = [day for day in days if isinstance(day, date)] if isinstance(days, list) else []
    if listed and max(listed).year > today.year:
        return []
    entry_id, i = moving[0]
    where = (loaded.where(ATW_EQUATED_ENTRY, "value", ATW_EQUATED_FACT) if days is not None
             else loaded.where(entry_id, "deadlines", i, "atw"))
    return [Problem(
        where, "atw-equated-days",
        f"the days equated with a holiday for the Algemene termijnenwet (`{ATW_EQUATED_ENTRY}`) "
        + (f"end in {max(listed).year}" if listed else "are not in the directory")
        + f": a last day in {today.year + 1} may fall on one",
        f"find the decree \"Besluit gelijkstelling van ... met een algemeen erkende feestdag\" for {today.year + 1} "
        f"(officielebekendmakingen.nl) and add its days to `{ATW_EQUATED_ENTRY}`: value: {{{ATW_EQUATED_FACT}: [...]}}",
        severity="warning")]


#: The words of a period's unit (one, more), e.g. "2 weken", in locales/<lang>/dates.yaml.
PERIOD_WORDS = {
    "days": ("sys.period.day", "sys.period.days"),
    "weeks": ("sys.period.week", "sys.period.weeks"),
    "months": ("sys.period.month", "sys.period.months"),
    "years": ("sys.period.year", "sys.period.years"),
}


def _period_words(units: list[tuple[str, int]], lang: str, locales: Locales) -> str:
    """A deadline's period as a person reads it ("3 maanden"), for texts that show the rule."""
    parts = []
    for unit, count in units:
        key = PERIOD_WORDS[unit][0 if count == 1 else 1]
        word = locales.render(lang, key, {}) if locales.has(lang, key) else unit
        parts.append(f"{count} {word}")
    return " ".join(parts)


@dataclass(slots=True)
class _Crisis:
    detector: Any  # bot.crisis.CrisisDetector, None without flows/crisis.yaml (or when it is broken)
    routes: dict[str, tuple[str, str]]
    #: the texts crisis.yaml names (replies, checks), with where it names each
    text_keys: dict[str, Where]
    problems: list[Problem]
    files: list[Path]


def _read_crisis(path: Path, root: Path) -> _Crisis:
    detector, routes, keys, problems = _load_crisis(path, root)
    files = [path] if path.exists() else []
    if detector is not None and detector.model_path is not None:
        files.append(detector.model_path)
    return _Crisis(detector, routes, keys, problems, files)


def _load_crisis(path: Path, root: Path) -> tuple[Any, dict[str, tuple[str, str]], dict[str, Where], list[Problem]]:
    """Read flows/crisis.yaml (bot.crisis): the detector and the reply text of each class."""
    if not path.exists():
        return None, {}, {}, []
    shown = shown_path(path, root)
    try:
        data, pos = load_yaml(path, shown)
        detector = CrisisDetector.from_data(data)
    except YamlSyntaxError as exc:
        return None, {}, {}, [Problem(exc.where, "yaml-syntax", exc.problem, exc.fix, detail=exc.detail)]
    except CrisisRulesError as exc:
        return None, {}, {}, _crisis_problems(exc, data, pos)
    model_file = data.get("model")
    if isinstance(model_file, str):
        detector, problem = _load_crisis_model(detector, path.parent / model_file, pos.of(("model",)), root)
        if problem is not None:
            return None, {}, {}, [problem]
    routes: dict[str, tuple[str, str]] = {}
    keys: dict[str, Where] = {}
    for name, spec in (data.get("classes") or {}).items():
        routes[name] = (spec["reply"], spec.get("then", "continue"))
        keys[spec["reply"]] = pos.of(("classes", name, "reply"))
        for name_of_key in ("check", "kept_note"):
            if spec.get(name_of_key):
                keys[spec[name_of_key]] = pos.of(("classes", name, name_of_key))
        for index, rule in enumerate(spec.get("rules") or []):  # a rule's own check question
            if isinstance(rule, dict) and rule.get("check"):
                keys[rule["check"]] = pos.of(("classes", name, "rules", index, "check"))
    for name_of_key in ("check_no", "in_safety_flow"):
        if data.get(name_of_key):
            keys[data[name_of_key]] = pos.of((name_of_key,))
    for name_of_key, key in (data.get("pause") or {}).items():
        keys[key] = pos.of(("pause", name_of_key))
    return detector, routes, keys, []


def _load_crisis_model(detector: Any, path: Path, where: Where, root: Path) -> tuple[Any, Problem | None]:
    """The model that `model:` in flows/crisis.yaml names: it must exist and fit the rules' classes."""
    shown = shown_path(path, root)
    if not path.is_file():
        return None, Problem(where, "crisis-model", f"the crisis model {shown} does not exist",
                             "run `python -m bot crisis train`, or remove `model:` to use the rules alone")
    try:
        model = CrisisModel.from_file(path, detector.classes)
    except CrisisModelError as exc:
        return None, Problem(where, "crisis-model", f"{shown}: {exc}",
                             "rebuild it with `python -m bot crisis train` (after changing the classes, too)")
    return detector.with_model(model, path), None


#: How to fix crisis rules that do not fit their shape.
CRISIS_GUIDE = "see the comments at the top of flows/crisis.yaml (each class has `reply`, `then` and `rules`)"


def _crisis_problems(exc: Exception, data: Any, pos: Positions) -> list[Problem]:
    """A crisis rule that cannot be used, at the key or pattern that is wrong."""
    if isinstance(exc.__cause__, ValidationError):
        return _pydantic_problems(exc.__cause__, pos, "crisis rules", kind="crisis-rules",
                                  reference="flows/crisis.yaml", guide=CRISIS_GUIDE)
    message = str(exc)
    where = pos.of(_crisis_pattern_path(data, message))
    if "unknown fragment" in message:
        return [Problem(where, "crisis-rules", message,
                        "define the fragment under `fragments:` at the top of the file, or fix its name")]
    return [Problem(where, "crisis-rules", message,
                    "fix the regular expression: close every ( and [, and write \\ before a ( ) [ . ? + * "
                    "that is meant literally")]


def _crisis_pattern_path(data: Any, message: str) -> tuple[str | int, ...]:
    """The path of the pattern a CrisisRulesError names (`<class> rule 'id'`, `exclusion 'id'`, `fragment 'name'`)."""
    named = re.search(r"\b(rule|exclusion|fragment) '([^']*)'", message)
    if named is None or not isinstance(data, dict):
        return ()
    what, name = named.groups()
    if what == "fragment":
        return ("fragments", name)
    if what == "exclusion":
        for i, exclusion in enumerate(data.get("exclusions") or []):
            if exclusion.get("id") == name:
                return ("exclusions", i, "pattern")
        return ("exclusions",)
    for class_name, spec in (data.get("classes") or {}).items():
        for i, rule in enumerate(spec.get("rules") or []):
            if rule.get("id") == name:
                return ("classes", class_name, "rules", i, "pattern" if "pattern" in rule else "all")
    return ("classes",)


def _municipalities(directory: Path) -> FlowsetMatcher | None:
    if not (directory / "gemeenten.tsv").is_file():
        return None  # no municipality list: `ask: municipality` keeps what the user typed
    return load_for_flowset(directory)


def load_flows(settings: Settings, clock: Now = SYSTEM, *, root: Path | None = None) -> FlowSet:
    """Load and validate the flow set named by the settings (raises FlowSetInvalid).

    The clock decides how old a directory fact is (the stale-fact warning); `root` is what file
    names are shown relative to (moderators' tools: as `check` shows them)."""
    return load_flowset(
        settings.flows_dir,
        settings.locales_dir,
        root=root or (ROOT if settings.flows_dir.resolve().is_relative_to(ROOT) else settings.flows_dir.parent),
        today=clock().astimezone(NL).date(),
        loaded_at=clock(),
        directory_max_age_days=settings.directory_max_age_days,
        entry_flow=settings.entry_flow,
    )
