"""Cross-reference rules over a whole flow set, one named error kind per rule.

Shapes are pydantic's job (model.py); this module checks what no single file
can: that every `next` exists, every step is reachable, no step is a dead
end, every text exists in every language with the same placeholders, every
variable a condition reads is set somewhere, every directory entry exists.
Each rule yields Problems naming file:line:col and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bot.budget import MAX_INPUT
from bot.expressions import (
    BASE_FUNCTIONS,
    BUILTIN_NAMES,
    DATA_FUNCTIONS,
    ExpressionBudgetExceeded,
    ExpressionError,
    deadline_refs,
    evaluate,
    parse,
)
from bot.flows.model import NEEDS_NEXT, Flow, Step
from bot.flows.problems import Problem
from bot.flows.source import Positions, Where
from bot.flows.steps import AskStep, BranchStep, CallStep, ChooseStep, EndStep, ForgetStep, ShowStep
from bot.markup import problems as markup_problems
from bot.phone import BUTTON_WIDTH, label_width
from bot.texts import MONTH_NAMES_KEY, Locales, TemplateBudgetExceeded, directory_refs, placeholders, render_bounded, text_refs

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


def check_code_texts(locales: Locales, keys: dict[str, Where]) -> list[Problem]:
    """Every text the code uses exists in every language.

    Checked per namespace the set provides: a set with any `desk.*` text must
    have every `desk.*` text the desk uses; a set without the desk at all (a
    test fixture) is not asked for its texts. The engine's `sys.*` always.
    """
    problems = []
    provided = {key.split(".", 1)[0] for lang in locales.languages for key in locales.texts[lang]}
    for key, where in sorted(keys.items()):
        namespace = key.split(".", 1)[0]
        if namespace != "sys" and namespace not in provided:
            continue
        for lang in locales.languages:
            if locales.lacks(lang, key):
                problems.append(Problem(
                    where, "missing-text-key", f"the code uses text `{key}`, which has no `{lang}` version",
                    f"add `{key}` to a file in locales/{lang}/"))
    for lang in locales.languages:
        for other in locales.languages:
            if locales.lacks(lang, f"sys.language_name.{other}"):
                problems.append(Problem(
                    Where("bot/engine/system.py", 1, 1), "missing-text-key",
                    f"the language menu needs `sys.language_name.{other}` in `{lang}`",
                    f"add it to locales/{lang}/system.yaml"))
        months = locales.texts[lang].get(MONTH_NAMES_KEY)
        if months is not None and locales.month_names(lang) is None:
            problems.append(Problem(
                months.where, "locale-shape", f"`{MONTH_NAMES_KEY}` in `{lang}` does not name twelve months",
                "write the twelve months, January first, separated by commas (as in locales/en/system.yaml)"))
    return problems


def reachable_steps(flow: Flow) -> list[str]:
    """Steps a path from `start` or a timer leads to, depth first in the order offered."""
    order: list[str] = []
    seen: set[str] = set()
    for first in (flow.start, *flow.timers.values()):
        stack = [first]
        while stack:
            current = stack.pop()
            if current in seen or current not in flow.steps:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(reversed([target for _, target in flow.steps[current].targets()]))
    return order


def variables_set(flows: dict[str, Flow]) -> set[str]:
    names: set[str] = set()
    for flow in flows.values():
        for step in flow.steps.values():
            names.update(step.variables())
    return names


def check_flows(
    flows: dict[str, Flow],
    positions: dict[str, Positions],
    locales: Locales,
    directory_ids: set[str],
    deadline_ids: set[tuple[str, str]],
    extra_text_keys: dict[str, Where] | None = None,
) -> list[Problem]:
    problems: list[Problem] = []
    known_vars = variables_set(flows) | BUILTIN_NAMES
    used_keys: dict[str, Where] = dict(extra_text_keys or {})

    for flow_id, flow in flows.items():
        pos = positions[flow_id]

        def at(*path: str | int, _pos: Positions = pos) -> Where:
            return _pos.of(path)

        if flow.start not in flow.steps:
            problems.append(Problem(at("start"), "unknown-next",
                                    f"`start: {flow.start}` names no step of flow `{flow_id}`",
                                    f"name one of: {', '.join(sorted(flow.steps)) or '(no steps)'}"))
        for timer, target in flow.timers.items():
            if target not in flow.steps:
                problems.append(Problem(at("timers", timer), "unknown-next",
                                        f"timer `{timer}` goes to unknown step `{target}`",
                                        "name a step of this flow"))
        used_keys.setdefault(flow.title, at("title"))

        # edges, dead ends, duplicates
        for step_id, step in flow.steps.items():
            base = ("steps", step_id)
            for sub, target in step.targets():
                if target not in flow.steps:
                    problems.append(Problem(
                        at(*base, *sub), "unknown-next",
                        f"step `{step_id}` goes to `{target}`, which is not a step of flow `{flow_id}`",
                        f"use one of: {', '.join(sorted(flow.steps))}"))
            problems.extend(_step_problems(step_id, step, at, flows, directory_ids))
            if step.preview is not None:  # the page a preview shows comes from the directory too
                for missing in sorted(directory_refs(step.preview.url) - directory_ids):
                    problems.append(Problem(at(*base, "preview", "url"), "unknown-directory-entry",
                                            f"the preview of step `{step_id}` uses `d.{missing}`, "
                                            "which is not in the directory",
                                            "add the entry to flows/directory/ or fix the id"))
            for sub, key in step.text_keys():
                used_keys.setdefault(key, at(*base, *sub))
            for sub, source in step.expressions():
                try:
                    expr = parse(source)
                except ExpressionError as exc:
                    problems.append(Problem(at(*base, *sub), "bad-expression", str(exc),
                                            "write e.g. `org == 'gi'` or `add(ruling_date, months=3)`"))
                    continue
                for name in sorted(expr.names - known_vars):
                    problems.append(Problem(at(*base, *sub), "unknown-variable",
                                            f"`{name}` is used in `{source}` but no step sets it",
                                            "set it with `save:`, an option's `set:` or `compute:`, or fix the spelling"))
                for call in sorted(expr.calls):
                    if call not in FUNCTIONS:
                        problems.append(Problem(at(*base, *sub), "bad-expression",
                                                f"`{call}()` is not a function flows can use",
                                                f"use one of: {', '.join(sorted(FUNCTIONS))}"))
                for ref in deadline_refs(expr):
                    if ref not in deadline_ids:
                        problems.append(Problem(at(*base, *sub), "unknown-directory-entry",
                                                f"deadline `{ref[0]}`/`{ref[1]}` is not in the directory",
                                                "add the deadline rule to the entry in flows/directory/"))

        # reachability
        reachable = set(reachable_steps(flow))
        for step_id in flow.steps:
            if step_id not in reachable:
                problems.append(Problem(at("steps", step_id), "unreachable-step",
                                        f"no path from `start` leads to step `{step_id}`",
                                        "point a `next` at it, or delete it"))

    problems.extend(_check_texts(used_keys, locales, known_vars, directory_ids))
    problems.extend(_check_labels(flows, locales))
    problems.extend(_check_markup(locales))
    return problems


def _check_markup(locales: Locales) -> list[Problem]:
    """Warn where a text breaks the one markup rule (bot/markup.py): a heading line and `- ` lists, nothing else."""
    return [Problem(entry.where, "markup", f"`{key}` ({lang}): {what}", fix, severity="warning")
            for lang in locales.languages for key, entry in sorted(locales.texts[lang].items())
            for what, fix in markup_problems(entry.source)]


def _step_problems(step_id: str, step: Step, at: Callable[..., Where], flows: dict[str, Flow],
                   directory_ids: set[str]) -> Iterator[Problem]:
    """What one step's own kind can get wrong: a dead end, a missing flow, an unknown id."""
    base = ("steps", step_id)
    if step.kind in NEEDS_NEXT | {"ask"} and not step.next:
        yield Problem(at(*base), "dead-end", f"step `{step_id}` ({step.kind}) has no `next`: "
                      "the conversation would stop here",
                      "add `next: <step>` or end the flow with an `end:` step")
    match step:
        case EndStep() | ForgetStep() if step.next:
            yield Problem(at(*base, "next"), "dead-end",
                          f"step `{step_id}` ends the flow, so its `next` is never used",
                          "remove `next` or change the step kind")
        case BranchStep() if not any(c.else_ for c in step.branch):
            yield Problem(at(*base, "branch"), "dead-end",
                          f"branch `{step_id}` has no `else` case: when no condition holds the conversation is stuck",
                          "add a last case `- else: true` with a `next`")
        case ChooseStep():
            yield from _option_problems(step_id, step, at)
        case CallStep() if step.call not in flows:
            yield Problem(at(*base, "call"), "unknown-flow",
                          f"step `{step_id}` calls flow `{step.call}`, which does not exist",
                          f"use one of: {', '.join(sorted(flows))}")
        case AskStep() if step.own_case and step.own_case not in flows:
            yield Problem(at(*base, "own_case"), "unknown-flow",
                          f"step `{step_id}` offers flow `{step.own_case}` for the own case, which does not exist",
                          f"use one of: {', '.join(sorted(flows))}")
        case ShowStep():
            for i, entry in enumerate(step.show):
                if entry not in directory_ids:
                    yield Problem(at(*base, "show", i), "unknown-directory-entry",
                                  f"`{entry}` is not in the directory (flows/directory/)",
                                  "add the entry to the directory or fix the id")
        case _:
            pass  # the other kinds have no rule of their own beyond the shared ones


def _option_problems(step_id: str, step: ChooseStep, at: Callable[..., Where]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, option in enumerate(step.options):
        if option.id in seen:
            yield Problem(at("steps", step_id, "options", i, "id"), "duplicate-id",
                          f"option id `{option.id}` appears twice in step `{step_id}`",
                          "give every option of a step its own id")
        seen[option.id] = i
        if len(f"{step_id}:{option.id}".encode()) > CALLBACK_LIMIT:
            yield Problem(at("steps", step_id, "options", i, "id"), "id-too-long",
                          f"`{step_id}:{option.id}` is longer than Telegram's {CALLBACK_LIMIT} bytes for a button",
                          "use shorter step and option ids")


_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _check_labels(flows: dict[str, Flow], locales: Locales) -> list[Problem]:
    """Warn about an option label a phone may cut off (bot/phone.py), at the text to shorten.

    A placeholder counts as eight characters: a name or a date fills about that much."""
    problems: list[Problem] = []
    keys = sorted({option.label for flow in flows.values() for step in flow.steps.values()
                   if isinstance(step, ChooseStep) for option in step.options})
    for key in keys:
        for lang in locales.languages:
            entry = locales.texts[lang].get(key)
            if entry is None:
                continue  # missing-text-key says so already
            shown = _TEMPLATE_PART.sub("x" * 8, entry.source).strip()
            width = label_width(shown)
            if width > BUTTON_WIDTH:
                problems.append(Problem(
                    entry.where, "label-too-wide",
                    f"button `{key}` ({lang}) is about {width:.0f} characters wide; a phone shows about "
                    f"{BUTTON_WIDTH:.0f} and cuts the rest with \u2026",
                    "make the label short and distinct in its first 30 characters; put the full wording "
                    "in the question's text", severity="warning"))
    return problems


def _check_texts(used_keys: dict[str, Where], locales: Locales, known_vars: set[str],
                 directory_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    langs = locales.languages
    # keys referenced from templates with t('...') count as used too
    for lang in langs:
        for entry in locales.texts[lang].values():
            for ref in text_refs(entry.source):
                used_keys.setdefault(ref, entry.where)
    for key, where in sorted(used_keys.items()):
        for lang in langs:
            if locales.lacks(lang, key):
                problems.append(Problem(where, "missing-text-key",
                                        f"text `{key}` has no `{lang}` version",
                                        f"add `{key}` to a file in locales/{lang}/"))
    all_keys = set().union(*(locales.texts[lang] for lang in langs)) if langs else set()
    for key in sorted(all_keys):
        variants = {lang: locales.texts[lang][key] for lang in langs if key in locales.texts[lang]}
        names = {lang: placeholders(entry.source) for lang, entry in variants.items()}
        reference = names.get("nl") or next(iter(names.values()))
        # a language whose text of this key could not be read has nothing to compare yet
        compare = not any(locales.unread(lang, key) for lang in langs)
        for lang, found in names.items():
            if compare and found != reference:
                missing = sorted(reference - found)
                extra = sorted(found - reference)
                problems.append(Problem(variants[lang].where, "placeholder-mismatch",
                                        f"`{key}` in `{lang}` has different placeholders than in nl"
                                        f" (missing: {missing or '-'}; extra: {extra or '-'})",
                                        "use the same {{ names }} in every language"))
            given = TEMPLATE_GLOBALS | NAMESPACE_GLOBALS.get(key.split(".", 1)[0], frozenset())
            for name in sorted(found - known_vars - given):
                problems.append(Problem(variants[lang].where, "unknown-variable",
                                        f"`{key}` uses `{{{{ {name} }}}}`, which no step sets",
                                        "set it in a flow or fix the spelling"))
        for lang, entry in variants.items():
            for ref in sorted(directory_refs(entry.source) - directory_ids):
                problems.append(Problem(entry.where, "unknown-directory-entry",
                                        f"`{key}` ({lang}) uses `d.{ref}`, which is not in the directory",
                                        "add the entry to flows/directory/ or fix the id"))
    return problems


# ---------------------------------------------------------------- budgets


#: What a moderator is told when a text or expression outgrows its budget.
BUDGET_FIX = ("keep loops short and do not build texts by repeating or replacing: "
              "a text may be at most 100,000 characters and a loop at most 100,000 turns (see docs/FLOWS.md)")
def _sample() -> str:
    """An answer as long as a user may type one (the engine refuses longer ones)."""
    return ("Voorbeeld 12, 1234 AB. " * (MAX_INPUT // 23 + 1))[:MAX_INPUT]


def check_budgets(flows: dict[str, Flow], positions: dict[str, Positions], locales: Locales,
                  views: dict[str, dict[str, dict[str, Any]]]) -> list[Problem]:
    """Try every expression and every text that loops, calls or builds, with sample answers.

    Each variable is given the longest answer a user may type. What goes over
    bot.budget's limits is reported here, at its file:line, instead of ending
    in an apology to users later. Other failures are not: sample values do not
    suit every expression (a date, a number), and the other rules check shape.
    """
    problems: list[Problem] = []
    sample = _sample()
    values = dict.fromkeys(variables_set(flows), sample)
    functions = dict(BASE_FUNCTIONS) | dict.fromkeys(DATA_FUNCTIONS, lambda *_: "2026-01-01")
    for flow_id, flow in flows.items():
        for step_id, step in flow.steps.items():
            for sub, source in step.expressions():
                try:
                    evaluate(parse(source), values, functions)
                except ExpressionBudgetExceeded as exc:
                    problems.append(Problem(positions[flow_id].of(("steps", step_id, *sub)), "over-budget",
                                            f"`{source}` goes over its budget with sample answers: {exc}", BUDGET_FIX))
                except Exception:  # noqa: S112 - only the budget is checked here (see the docstring)
                    continue
    for lang in locales.languages:
        for key, entry in locales.texts[lang].items():
            if entry.growing is None:
                continue
            context: dict[str, Any] = dict.fromkeys(entry.growing, sample)
            context.update(lang=lang, d=views.get(lang, {}), t=lambda _key: sample)
            try:
                render_bounded(entry.template(), context)
            except TemplateBudgetExceeded as exc:
                problems.append(Problem(entry.where, "over-budget",
                                        f"`{key}` ({lang}) goes over its budget with sample answers: {exc}", BUDGET_FIX))
            except Exception:  # noqa: S112 - as above
                continue
    return problems
