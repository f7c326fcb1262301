"""Cross-reference rules over a whole flow set: a list of named rules, one function each.

Shapes are pydantic's job (model.py); this module checks what no single file
can: that every `next` exists, every step is reachable, no step is a dead
end, every text exists in every language with the same placeholders, every
variable a condition reads is set somewhere, every directory entry exists and
is shown somewhere. Each rule (RULES, in the style of Rasa's flow validation)
looks at the Draft the loader read and yields every Problem it finds, at
file:line:col with the fix; the rule's name is the kind of each of them, so a
moderator reads `error[unknown-next]` and knows which rule spoke. Nothing here
reads files except `code_text_keys`, nothing raises: all problems are collected.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from bot.budget import MAX_INPUT
from bot.expressions import (
    BASE_FUNCTIONS,
    BUILTIN_NAMES,
    DATA_FUNCTIONS,
    Expression,
    ExpressionBudgetExceeded,
    ExpressionError,
    deadline_refs,
    evaluate,
    parse,
)
from bot.flows.model import NEEDS_NEXT, Flow, Step
from bot.flows.problems import Problem
from bot.flows.source import Positions, Where
from bot.flows.steps import AskStep, BranchStep, CallStep, ChooseStep, EndStep, ForgetStep, Option, ShowStep
from bot.markup import problems as markup_problems
from bot.phone import BUTTON_WIDTH, label_width
from bot.texts import (
    MONTH_NAMES_KEY,
    Locales,
    LocaleText,
    TemplateBudgetExceeded,
    directory_refs,
    placeholders,
    render_bounded,
    text_refs,
)

#: Names templates may use without a flow setting them.
#: (min, max, limit, name, names, typed, read, other are filled by the engine for its own system texts;
#: ref ... hours by the safety desk and "my data", see locales/*/desk.yaml and privacy.yaml.)
TEMPLATE_GLOBALS = frozenset(
    {"d", "t", "lang", "today", "now", "min", "max", "limit", "name", "names", "typed", "read", "other",
     "ref", "desk", "who", "text", "title", "when", "details", "urgency", "items", "hours"}
)
#: More names the code fills for the texts of one namespace only
#: (bot/moderation.py for its answers to moderators, see locales/*/moderation.yaml).
NAMESPACE_GLOBALS = {
    "moderation": frozenset({"version", "previous", "count", "flows", "languages", "entries", "weeks",
                             "flow", "step"}),
    # bot/engine/protect.py, for a text checked by bot.personal (see locales/*/public_text.yaml)
    "public_text": frozenset({"personal", "own_case", "route"}),
    # bot/adapters/matrix: the bot's own Matrix id, and whether the room was encrypted
    "matrix": frozenset({"bot", "encrypted"}),
    # bot/privacy.py: the retention period "my data" states, how many notes it keeps on the way, and
    # whether the safety desk concerns this person (a report, or a professional) and whether a desk can reach a person
    "privacy": frozenset({"days", "count", "desk", "person"}),
    # bot/engine/answers.py: how long a refused text answer was; bot/engine/system.py: a week's first and last day;
    # bot/engine/steps.py: what cards shown before give (phone, website, both, none)
    "sys": frozenset({"got", "first", "last", "reach"}),
    # bot/engine/base.py: the "read more" parts already read in this journey (`_read`, "flow.step"), so a
    # text listing them leaves out what its buttons no longer offer ("Wat kan daarna?")
    "complaint": frozenset({"_read"}),
    # bot/engine/crisis.py: a danger typed inside the safety route that a rule read as violence at home
    "crisis": frozenset({"home_violence"}),
}
#: Functions expressions may call (`deadline`, `deadline_term` read the directory, see FlowSet).
FUNCTIONS = frozenset(BASE_FUNCTIONS) | DATA_FUNCTIONS
#: Telegram callback_data is at most 64 bytes: "<step>:<option>".
CALLBACK_LIMIT = 64


#: Text keys the code itself uses (engine, core, desk, adapters ...) start with one of these.
CODE_KEY = re.compile(
    r"""["']((?:sys|desk|console|telegram|matrix|privacy|checkin|moderation|public_text|letters)(?:\.[a-z0-9_]+)+)["']"""
)


def code_text_keys(package: Path) -> dict[str, Where]:
    """Text keys written as literals in the bot's code, with where each is first used.

    A missing text must show up in `check`, not as a fallback at 2 a.m.; reading
    the sources finds every literal key without importing the adapters.
    """
    found: dict[str, Where] = {}
    for file in sorted(package.rglob("*.py")):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            for match in CODE_KEY.finditer(line):
                found.setdefault(match.group(1),
                                 Where(f"{package.name}/{file.relative_to(package)}", number, match.start() + 2))
    return found


def reachable_steps(flow: Flow, mended: Mapping[str, str] | None = None) -> list[str]:
    """Steps a path from `start` or a timer leads to, depth first in the order offered.

    `mended` reads a misspelt name as the step it was meant to be (the checker asks what a typo cut off)."""
    mend = mended or {}
    order: list[str] = []
    seen: set[str] = set()
    for first in (flow.start, *flow.timers.values()):
        stack = [mend.get(first, first)]
        while stack:
            current = stack.pop()
            if current in seen or current not in flow.steps:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed([mend.get(target, target) for _, target in flow.steps[current].targets()]))
    return order


def variables_set(flows: dict[str, Flow]) -> set[str]:
    names: set[str] = set()
    for flow in flows.values():
        for step in flow.steps.values():
            names.update(step.variables())
    return names


def table_names(flows: dict[str, Flow]) -> set[str]:
    """The names of the flows' word tables (`tables:`), read by expressions and texts like variables."""
    return {name for flow in flows.values() for name in flow.tables}



# ---------------------------------------------------------------- what the rules look at


#: The parts of a flow set a file of which may fail to load.
Part = Literal["flows", "directory", "locales"]


@dataclass(frozen=True)
class Draft:
    """A flow set as read from disk and not yet accepted: everything a rule may look at.

    The loader builds it; `incomplete` names the parts with a file that did not load, so a
    rule whose answer needs that part whole stays quiet instead of sending the moderator
    to a file that is fine ("no step sets it" when the step is in the broken file).
    """

    flows: dict[str, Flow]
    positions: dict[str, Positions]
    locales: Locales
    directory_ids: frozenset[str] = frozenset()
    deadline_ids: frozenset[tuple[str, str]] = frozenset()
    #: language -> entry id -> the entry's fields as templates see them (`d`)
    directory_views: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    #: entry id -> where the entry is written
    entry_places: Mapping[str, Where] = field(default_factory=dict)
    #: entries the bot explains when asked ("wat is een OTS?", bot/glossary.py): shown without a flow
    explained: frozenset[str] = frozenset()
    #: text keys used outside the flows (the crisis replies), with where each is used
    extra_text_keys: Mapping[str, Where] = field(default_factory=dict)
    #: text keys the bot's own code uses (code_text_keys)
    code_text_keys: Mapping[str, Where] = field(default_factory=dict)
    incomplete: frozenset[Part] = frozenset()

    def at(self, flow_id: str, *path: str | int) -> Where:
        return self.positions[flow_id].of(path)

    def steps(self) -> Iterator[tuple[str, str, Step]]:
        for flow_id, flow in self.flows.items():
            for step_id, step in flow.steps.items():
                yield flow_id, step_id, step

    @cached_property
    def known_variables(self) -> frozenset[str]:
        return frozenset(variables_set(self.flows) | BUILTIN_NAMES | table_names(self.flows))

    @cached_property
    def expressions(self) -> list[tuple[Where, str, Expression | ExpressionError]]:
        """Every expression of every step, parsed once for all the rules that read them."""
        found: list[tuple[Where, str, Expression | ExpressionError]] = []
        for flow_id, step_id, step in self.steps():
            for sub, source in step.expressions():
                try:
                    parsed: Expression | ExpressionError = parse(source)
                except ExpressionError as exc:
                    parsed = exc
                found.append((self.at(flow_id, "steps", step_id, *sub), source, parsed))
        return found

    @cached_property
    def text_placeholders(self) -> dict[str, dict[str, set[str]]]:
        """key -> language -> the variables that language's text reads."""
        names: dict[str, dict[str, set[str]]] = {}
        for lang in self.locales.languages:
            for key, entry in self.locales.texts[lang].items():
                names.setdefault(key, {})[lang] = placeholders(entry.source)
        return names

    @cached_property
    def text_directory_refs(self) -> list[tuple[str, str, LocaleText, set[str]]]:
        """(key, language, text, the directory ids it uses as `d.<id>`) for every text."""
        return [(key, lang, entry, directory_refs(entry.source))
                for lang in self.locales.languages for key, entry in sorted(self.locales.texts[lang].items())]


@dataclass(frozen=True, slots=True)
class Rule:
    """One thing the checker checks; its name is the kind of every problem it reports."""

    name: str
    check: Callable[[Draft], Iterable[Problem]]
    #: parts that must have loaded whole for what the rule says to be true
    needs_whole: frozenset[Part] = frozenset()


def check_flows(draft: Draft) -> list[Problem]:
    """Every problem every rule finds, rule by rule in the order of RULES."""
    return [problem for rule in RULES if not rule.needs_whole & draft.incomplete
            for problem in rule.check(draft)]


# ---------------------------------------------------------------- the rules, one function each


def meant_step(flow: Flow, target: str) -> str | None:
    """The step a misspelt name most likely meant (`contcat` -> `contact`), or None when none is alike."""
    close = difflib.get_close_matches(target, list(flow.steps), n=1)
    return close[0] if close else None


def _step_names(flow: Flow, target: str) -> str:
    """How to fix a name that is no step: the likeliest step first, then the others alphabetically."""
    meant = meant_step(flow, target)
    others = ", ".join(sorted(set(flow.steps) - {meant})) or "(no steps)"
    return f"did you mean `{meant}`? (the other steps: {others})" if meant else f"use one of: {others}"


def _unknown_targets(flow: Flow) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path to the name, the name) of every `start`, timer and `next` that names no step of the flow."""
    if flow.start not in flow.steps:
        yield ("start",), flow.start
    for timer, target in flow.timers.items():
        if target not in flow.steps:
            yield ("timers", timer), target
    for step_id, step in flow.steps.items():
        for sub, target in step.targets():
            if target not in flow.steps:
                yield ("steps", step_id, *sub), target


def _unknown_next(draft: Draft) -> Iterator[Problem]:
    for flow_id, flow in draft.flows.items():
        for path, target in _unknown_targets(flow):
            match path:
                case ("start",):
                    message = f"`start: {target}` names no step of flow `{flow_id}`"
                case ("timers", timer):
                    message = f"timer `{timer}` goes to unknown step `{target}`"
                case _:
                    message = f"step `{path[1]}` goes to `{target}`, which is not a step of flow `{flow_id}`"
            yield Problem(draft.at(flow_id, *path), "unknown-next", message, _step_names(flow, target))


def _dead_end(draft: Draft) -> Iterator[Problem]:
    """A step where the conversation would stop, or a `next` that is never used."""
    for flow_id, step_id, step in draft.steps():
        base = ("steps", step_id)
        if step.kind in NEEDS_NEXT | {"ask"} and not step.next:
            yield Problem(draft.at(flow_id, *base), "dead-end", f"step `{step_id}` ({step.kind}) has no `next`: "
                          "the conversation would stop here",
                          "add `next: <step>` or end the flow with an `end:` step")
        match step:
            case EndStep() | ForgetStep() if step.next:
                yield Problem(draft.at(flow_id, *base, "next"), "dead-end",
                              f"step `{step_id}` ends the flow, so its `next` is never used",
                              "remove `next` or change the step kind")
            case BranchStep() if not any(c.else_ for c in step.branch):
                yield Problem(draft.at(flow_id, *base, "branch"), "dead-end",
                              f"branch `{step_id}` has no `else` case: when no condition holds the conversation "
                              "is stuck", "add a last case `- else: true` with a `next`")
            case _:
                pass  # the other kinds cannot stop a conversation beyond a missing `next`


def _unknown_flow(draft: Draft) -> Iterator[Problem]:
    flows = draft.flows
    for flow_id, step_id, step in draft.steps():
        match step:
            case CallStep() if step.call not in flows:
                yield Problem(draft.at(flow_id, "steps", step_id, "call"), "unknown-flow",
                              f"step `{step_id}` calls flow `{step.call}`, which does not exist",
                              f"use one of: {', '.join(sorted(flows))}")
            case AskStep() if step.own_case and step.own_case not in flows:
                yield Problem(draft.at(flow_id, "steps", step_id, "own_case"), "unknown-flow",
                              f"step `{step_id}` offers flow `{step.own_case}` for the own case, which does not exist",
                              f"use one of: {', '.join(sorted(flows))}")
            case _:
                pass  # only these two kinds name another flow


def _options(draft: Draft) -> Iterator[tuple[str, str, int, Option]]:
    """(flow, step, index, option) of every option of every `choose` step."""
    for flow_id, step_id, step in draft.steps():
        if isinstance(step, ChooseStep):
            for i, option in enumerate(step.options):
                yield flow_id, step_id, i, option


def _duplicate_id(draft: Draft) -> Iterator[Problem]:
    seen: set[tuple[str, str, str]] = set()
    for flow_id, step_id, i, option in _options(draft):
        if (flow_id, step_id, option.id) in seen:
            yield Problem(draft.at(flow_id, "steps", step_id, "options", i, "id"), "duplicate-id",
                          f"option id `{option.id}` appears twice in step `{step_id}`",
                          "give every option of a step its own id")
        seen.add((flow_id, step_id, option.id))


def _typed_option(draft: Draft) -> Iterator[Problem]:
    """`typed: true` hands typed text to the option's question: it must lead to one, and only one option may."""
    for flow_id, step_id, step in draft.steps():
        if not isinstance(step, ChooseStep):
            continue
        typed = [(i, o) for i, o in enumerate(step.options) if o.typed]
        for i, _option in typed[1:]:
            yield Problem(draft.at(flow_id, "steps", step_id, "options", i, "typed"), "typed-option",
                          f"step `{step_id}` has more than one option with `typed: true`",
                          "mark only the option whose question a typed answer belongs to")
        for i, option in typed[:1]:
            if option.next in draft.flows[flow_id].steps and not isinstance(
                    draft.flows[flow_id].steps[option.next], AskStep):
                yield Problem(draft.at(flow_id, "steps", step_id, "options", i, "typed"), "typed-option",
                              f"option `{option.id}` takes typed text, but its `next` (`{option.next}`) is not "
                              "an `ask` step that could read it", "point `next` at an `ask` step, or remove `typed`")


def _id_too_long(draft: Draft) -> Iterator[Problem]:
    for flow_id, step_id, i, option in _options(draft):
        if len(f"{step_id}:{option.id}".encode()) > CALLBACK_LIMIT:
            yield Problem(draft.at(flow_id, "steps", step_id, "options", i, "id"), "id-too-long",
                          f"`{step_id}:{option.id}` is longer than Telegram's {CALLBACK_LIMIT} bytes for a button",
                          "use shorter step and option ids")


def _bad_expression(draft: Draft) -> Iterator[Problem]:
    for where, _source, expr in draft.expressions:
        if isinstance(expr, ExpressionError):
            yield Problem(where, "bad-expression", str(expr),
                          "write e.g. `org == 'gi'` or `add(ruling_date, months=3)`")
            continue
        for call in sorted(expr.calls - FUNCTIONS):
            yield Problem(where, "bad-expression", f"`{call}()` is not a function flows can use",
                          f"use one of: {', '.join(sorted(FUNCTIONS))}")


def _table_name(draft: Draft) -> Iterator[Problem]:
    """A word table named like a variable a step sets, a built-in name, or another flow's table: the engine
    reads every table by its name alone, so the name must say one thing."""
    taken = variables_set(draft.flows) | BUILTIN_NAMES
    owner: dict[str, str] = {}
    for flow_id, flow in draft.flows.items():
        for name in flow.tables:
            if name in taken or name in owner:
                other = f"flow `{owner[name]}` has a table" if name in owner else "a step or the bot sets a variable"
                yield Problem(draft.at(flow_id, "tables", name), "table-name", f"table `{name}`: {other} of that name",
                              "give the table a name of its own")
            owner.setdefault(name, flow_id)


def _unknown_variable(draft: Draft) -> Iterator[Problem]:
    """A variable an expression or a text reads that no step sets."""
    known = draft.known_variables
    for where, source, expr in draft.expressions:
        for name in sorted(expr.names - known) if isinstance(expr, Expression) else ():
            yield Problem(where, "unknown-variable", f"`{name}` is used in `{source}` but no step sets it",
                          "set it with `save:`, an option's `set:` or `compute:`, or fix the spelling")
    for key, per_lang in sorted(draft.text_placeholders.items()):
        given = TEMPLATE_GLOBALS | NAMESPACE_GLOBALS.get(key.split(".", 1)[0], frozenset())
        for lang, found in per_lang.items():
            for name in sorted(found - known - given):
                yield Problem(draft.locales.texts[lang][key].where, "unknown-variable",
                              f"`{key}` uses `{{{{ {name} }}}}`, which no step sets",
                              "set it in a flow or fix the spelling")


def _entry_fix(ids: Iterable[str], name: str, fix: str) -> str:
    """The fix for an unknown directory id, with the likeliest meant id first (`kindertelefon`)."""
    close = difflib.get_close_matches(name, sorted(ids), n=1)
    return f"did you mean `{close[0]}`? else {fix}" if close else fix


def _unknown_directory_entry(draft: Draft) -> Iterator[Problem]:
    """A `show:`, a preview, a deadline or a text that names an entry the directory lacks."""
    ids = draft.directory_ids
    for flow_id, step_id, step in draft.steps():
        base = ("steps", step_id)
        for i, entry in enumerate(step.show if isinstance(step, ShowStep) else ()):
            if entry not in ids:
                yield Problem(draft.at(flow_id, *base, "show", i), "unknown-directory-entry",
                              f"`{entry}` is not in the directory (flows/directory/)",
                              _entry_fix(ids, entry, "add the entry to the directory or fix the id"))
        for missing in sorted(directory_refs(step.preview.url) - ids) if step.preview is not None else ():
            yield Problem(draft.at(flow_id, *base, "preview", "url"), "unknown-directory-entry",
                          f"the preview of step `{step_id}` uses `d.{missing}`, which is not in the directory",
                          _entry_fix(ids, missing, "add the entry to flows/directory/ or fix the id"))
    for where, _source, expr in draft.expressions:
        for rule in deadline_refs(expr) if isinstance(expr, Expression) else ():
            if rule not in draft.deadline_ids:
                yield Problem(where, "unknown-directory-entry",
                              f"deadline `{rule[0]}`/`{rule[1]}` is not in the directory",
                              "add the deadline rule to the entry in flows/directory/")
    for key, lang, text, refs in draft.text_directory_refs:
        for name in sorted(refs - ids):
            yield Problem(text.where, "unknown-directory-entry",
                          f"`{key}` ({lang}) uses `d.{name}`, which is not in the directory",
                          _entry_fix(ids, name, "add the entry to flows/directory/ or fix the id"))


def _used_text_keys(draft: Draft) -> dict[str, Where]:
    """Every text key the flow set uses, with the first place that uses it.

    The crisis replies, then per flow its title and its steps' texts, then the
    texts that other texts name with t('...').
    """
    used: dict[str, Where] = dict(draft.extra_text_keys)
    for flow_id, flow in draft.flows.items():
        used.setdefault(flow.title, draft.at(flow_id, "title"))
        for step_id, step in flow.steps.items():
            for sub, key in step.text_keys():
                used.setdefault(key, draft.at(flow_id, "steps", step_id, *sub))
    for lang in draft.locales.languages:
        for entry in draft.locales.texts[lang].values():
            for ref in text_refs(entry.source):
                used.setdefault(ref, entry.where)
    return used


def _add_text_where(locales: Locales, lang: str, key: str) -> str:
    """Where to add a missing text: the file of the same name as the one another language keeps it in."""
    for other in locales.languages:
        entry = locales.texts[other].get(key)
        if other != lang and entry is not None:
            return f"add `{key}` to locales/{lang}/{Path(entry.where.file).name} (`{other}` has it in {entry.where.file})"
    return f"add `{key}` to a file in locales/{lang}/"


def _missing_text_key(draft: Draft) -> Iterator[Problem]:
    """A text the code or the flow set uses that a language lacks.

    Code keys are checked per namespace the set provides: a set with any `desk.*`
    text must have every `desk.*` text the desk uses; a set without the desk at all
    (a test fixture) is not asked for its texts. The engine's `sys.*` always.
    """
    locales = draft.locales
    provided = {key.split(".", 1)[0] for lang in locales.languages for key in locales.texts[lang]}
    for key, where in sorted(draft.code_text_keys.items()):
        namespace = key.split(".", 1)[0]
        for lang in locales.languages if namespace == "sys" or namespace in provided else ():
            if locales.lacks(lang, key):
                yield Problem(where, "missing-text-key", f"the code uses text `{key}`, which has no `{lang}` version",
                              _add_text_where(locales, lang, key))
    for lang in locales.languages:
        for other in locales.languages:
            if locales.lacks(lang, f"sys.language_name.{other}"):
                yield Problem(Where("bot/engine/system.py", 1, 1), "missing-text-key",
                              f"the language menu needs `sys.language_name.{other}` in `{lang}`",
                              f"add it to locales/{lang}/system.yaml")
    for key, where in sorted(_used_text_keys(draft).items()):
        for lang in locales.languages:
            if locales.lacks(lang, key):
                yield Problem(where, "missing-text-key", f"text `{key}` has no `{lang}` version",
                              _add_text_where(locales, lang, key))


def _locale_shape(draft: Draft) -> Iterator[Problem]:
    """The texts the code reads as data (not shown as they are) have their shape."""
    for lang in draft.locales.languages:
        months = draft.locales.texts[lang].get(MONTH_NAMES_KEY)
        if months is not None and draft.locales.month_names(lang) is None:
            yield Problem(months.where, "locale-shape", f"`{MONTH_NAMES_KEY}` in `{lang}` does not name twelve months",
                          "write the twelve months, January first, separated by commas (as in locales/en/system.yaml)")


def _placeholder_mismatch(draft: Draft) -> Iterator[Problem]:
    """A text that reads other variables in one language than in Dutch."""
    locales = draft.locales
    for key, names in sorted(draft.text_placeholders.items()):
        if any(locales.unread(lang, key) for lang in locales.languages):
            continue  # a language whose text of this key could not be read has nothing to compare yet
        reference = names.get("nl") or next(iter(names.values()))
        for lang, found in names.items():
            if found != reference:
                yield Problem(locales.texts[lang][key].where, "placeholder-mismatch",
                              f"`{key}` in `{lang}` has different placeholders than in nl"
                              f" (missing: {sorted(reference - found) or '-'}; extra: {sorted(found - reference) or '-'})",
                              "use the same {{ names }} in every language")


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _label_too_wide(draft: Draft) -> Iterator[Problem]:
    """Warn about an option label a phone may cut off (bot/phone.py), at the text to shorten.

    A placeholder counts as eight characters: a name or a date fills about that much."""
    for key in sorted({option.label for *_, option in _options(draft)}):
        for lang in draft.locales.languages:
            entry = draft.locales.texts[lang].get(key)
            if entry is None:
                continue  # missing-text-key says so already
            width = label_width(_TEMPLATE_PART.sub("x" * 8, entry.source).strip())
            if width > BUTTON_WIDTH:
                yield Problem(
                    entry.where, "label-too-wide",
                    f"button `{key}` ({lang}) is about {width:.0f} characters wide; a phone shows about "
                    f"{BUTTON_WIDTH:.0f} and cuts the rest with \u2026",
                    "make the label short and distinct in its first 30 characters; put the full wording "
                    "in the question's text", severity="warning")


def _markup(draft: Draft) -> Iterator[Problem]:
    """Warn where a text breaks the one markup rule (bot/markup.py): a heading line and `- ` lists, nothing else."""
    locales = draft.locales
    for lang in locales.languages:
        for key, entry in sorted(locales.texts[lang].items()):
            for what, fix in markup_problems(entry.source):
                yield Problem(entry.where, "markup", f"`{key}` ({lang}): {what}", fix, severity="warning")


def shown_entries(draft: Draft) -> dict[str, set[str]]:
    """Each way the flow set reaches a directory entry, with the ids it reaches.

    A `show:` step lists it (a card); a text (or a step's preview) uses one of its
    facts as `d.<id>`; a flow computes a deadline from it; the glossary explains it
    when asked ("wat is een OTS?"), at any step.
    """
    cards = {entry for _, _, step in draft.steps() if isinstance(step, ShowStep) for entry in step.show}
    texts = {ref for *_, refs in draft.text_directory_refs for ref in refs}
    texts |= {ref for _, _, step in draft.steps() if step.preview is not None
              for ref in directory_refs(step.preview.url)}
    deadlines = {ref[0] for _, _, expr in draft.expressions if isinstance(expr, Expression)
                 for ref in deadline_refs(expr)}
    return {"show": cards, "text": texts, "deadline": deadlines, "glossary": set(draft.explained)}


def _unused_directory_entry(draft: Draft) -> Iterator[Problem]:
    """Warn about a researched fact nobody is shown: it helps no one and goes stale unnoticed."""
    shown = set().union(*shown_entries(draft).values())
    for entry_id, where in sorted(draft.entry_places.items()):
        if entry_id not in shown:
            yield Problem(where, "unused-directory-entry",
                          f"`{entry_id}` is shown by no flow: no `show:` step lists it, no text uses "
                          f"`d.{entry_id}`, no flow computes a deadline from it",
                          f"show it where it helps a person (`show: [{entry_id}]` in a flow, or "
                          f"`{{{{ d.{entry_id}.phone }}}}` in a text), or delete the entry", severity="warning")


def _unreachable_step(draft: Draft) -> Iterator[Problem]:
    """A step nothing leads to; when a misspelt name is why, that error is the one to fix.

    A moderator told "delete it" about a step a typo cut off deletes real content, so a flow
    with an unknown name never hears "delete": a step the likeliest meant name would reach
    again says it follows from that error, and any other says to look at it first.
    """
    for flow_id, flow in draft.flows.items():
        reachable = set(reachable_steps(flow))
        typos = list(_unknown_targets(flow))
        meant = {target: step for _, target in typos if (step := meant_step(flow, target)) is not None}
        for step_id in flow.steps:
            if step_id in reachable:
                continue
            message = f"no path from `start` leads to step `{step_id}`"
            cause = next(((path, target) for path, target in typos if target in meant
                          and step_id in reachable_steps(flow, {target: meant[target]})), None)
            if cause is not None:
                path, target = cause
                where = draft.at(flow_id, *path)
                yield Problem(draft.at(flow_id, "steps", step_id), "unreachable-step",
                              f"{message}: this follows from the error above (`{target}` at line {where.line}, "
                              f"probably meant `{meant[target]}`); fix that first",
                              f"do not delete this step: correct `{target}` at {where} and it is reached again",
                              follows=str(where))
            elif typos:
                path, target = typos[0]
                yield Problem(draft.at(flow_id, "steps", step_id), "unreachable-step", message,
                              f"first fix `{target}` at {draft.at(flow_id, *path)} (a name that is no step): if it "
                              "was meant to lead here, this error goes too; otherwise point a `next` at this step")
            else:
                yield Problem(draft.at(flow_id, "steps", step_id), "unreachable-step", message,
                              "point a `next` at it, or delete it")


#: What a moderator is told when a text or expression outgrows its budget.
BUDGET_FIX = ("keep loops short and do not build texts by repeating or replacing: "
              "a text may be at most 100,000 characters and a loop at most 100,000 turns (see docs/FLOWS.md)")


def _sample() -> str:
    """An answer as long as a user may type one (the engine refuses longer ones)."""
    return ("Voorbeeld 12, 1234 AB. " * (MAX_INPUT // 23 + 1))[:MAX_INPUT]


def _over_budget(draft: Draft) -> Iterator[Problem]:
    """Try every expression and every text that loops, calls or builds, with sample answers.

    Each variable is given the longest answer a user may type. What goes over
    bot.budget's limits is reported here, at its file:line, instead of ending
    in an apology to users later. Other failures are not: sample values do not
    suit every expression (a date, a number), and the other rules check shape.
    """
    sample = _sample()
    values: dict[str, Any] = dict.fromkeys(variables_set(draft.flows), sample)
    values.update((name, table) for flow in draft.flows.values() for name, table in flow.tables.items())
    functions = dict(BASE_FUNCTIONS) | dict.fromkeys(DATA_FUNCTIONS, lambda *_: "2026-01-01")
    for where, source, expr in draft.expressions:
        try:
            if isinstance(expr, Expression):
                evaluate(expr, values, functions)
        except ExpressionBudgetExceeded as exc:
            yield Problem(where, "over-budget", f"`{source}` goes over its budget with sample answers: {exc}",
                          BUDGET_FIX)
        except Exception:  # noqa: S112 - only the budget is checked here (see the docstring)
            continue
    for lang in draft.locales.languages:
        for key, entry in draft.locales.texts[lang].items():
            if entry.growing is None:
                continue
            context: dict[str, Any] = dict.fromkeys(entry.growing, sample)
            context.update(lang=lang, d=draft.directory_views.get(lang, {}), t=lambda _key: sample)
            try:
                render_bounded(entry.template(), context)
            except TemplateBudgetExceeded as exc:
                yield Problem(entry.where, "over-budget",
                              f"`{key}` ({lang}) goes over its budget with sample answers: {exc}", BUDGET_FIX)
            except Exception:  # noqa: S112 - as above
                continue


#: Every rule, in the order `check` reports them. A rule that needs a part whole is
#: skipped when a file of that part did not load (see Draft).
RULES: tuple[Rule, ...] = (
    Rule("unknown-next", _unknown_next),
    Rule("unreachable-step", _unreachable_step),
    Rule("dead-end", _dead_end),
    Rule("unknown-flow", _unknown_flow, needs_whole=frozenset({"flows"})),
    Rule("duplicate-id", _duplicate_id),
    Rule("id-too-long", _id_too_long),
    Rule("typed-option", _typed_option),
    Rule("bad-expression", _bad_expression),
    Rule("unknown-variable", _unknown_variable, needs_whole=frozenset({"flows"})),
    Rule("table-name", _table_name),
    Rule("unknown-directory-entry", _unknown_directory_entry, needs_whole=frozenset({"directory"})),
    Rule("missing-text-key", _missing_text_key),
    Rule("locale-shape", _locale_shape),
    Rule("placeholder-mismatch", _placeholder_mismatch),
    Rule("label-too-wide", _label_too_wide),
    Rule("markup", _markup),
    Rule("over-budget", _over_budget),
    Rule("unused-directory-entry", _unused_directory_entry, needs_whole=frozenset({"flows", "locales"})),
)
