"""Every user-facing text: locales/<lang>/*.yaml rendered as Jinja2 templates.

A text key such as `complaint.route.gi` names a string in every language's
files (nested YAML, dots join the levels). Placeholders are Jinja2
(`{{ name }}`, `{{ ruling_date | date }}`, `{{ d.veilig_thuis.phone }}`).
Templates run in Jinja's sandbox and produce *plain text*; adapters escape
for their platform. One directory per language, many small files, so two
moderators editing different topics never collide; a key defined twice is an
error.

Every render runs under bot.budget's limits: loops and calls are counted,
operations that multiply a text are estimated before they run, and the output
may not grow past MAX_LENGTH, so a moderator's runaway loop ends in the
engine's apology instead of blocking the store thread.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import jinja2
from jinja2 import Template, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from bot import budget
from bot.budget import Budget, BudgetExceeded
from bot.dates import WEEKDAY_NAMES, format_date, with_the_date
from bot.flows import source as yaml_source
from bot.flows.source import Positions, Where, YamlSyntaxError, load_yaml, shown_path
from bot.remembered import RememberedTable

#: The text with a language's month names, January first, separated by commas.
MONTH_NAMES_KEY = "sys.month_names"
#: texts `intents.words.<route>`: the words that lead typed text at a menu to a route (bot/intents.py)
INTENT_PREFIX = "intents.words."
#: texts `intents.roles.<role>`: the words that say who is typing ("ik ben oma")
ROLE_PREFIX = "intents.roles."
#: Texts that may be written as a YAML list, one phrase a line (`- klacht`): the word lists, hundreds of
#: phrases each. One a line, a moderator's diff shows the one word changed, and a line number points at
#: it; one text with phrases separated by ";" still reads the same (a list of one phrase needs no `-`).
WORD_LISTS = (INTENT_PREFIX, ROLE_PREFIX)


@pass_context
def _date_filter(context: Context, value: Any) -> str:
    if value is None or value == "":
        return ""
    lang = context.get("lang", "nl")  # a letter may `{% set lang = 'nl' %}` to date it in Dutch
    months_of = context.get("_month_names")
    return format_date(value, lang, months_of(lang) if months_of else None)


@pass_context
def _with_date_filter(context: Context, words: Any, found: Any) -> str:
    """`{{ meeting | with_date(meeting_day) }}`: the meeting as typed with its date written in, in Dutch (the
    e-mail to the griffie is Dutch in both languages); `found` is the flow's `date_in` result, or None."""
    if not found:
        return str(words or "")
    day = date.fromisoformat(str(found["day"]))
    months_of = context.get("_month_names")
    said = f"{WEEKDAY_NAMES[day.weekday()][0]} {format_date(day, 'nl', months_of('nl') if months_of else None)}"
    return with_the_date(str(words or ""), day, said, bool(found.get("weekday_only")))


#: Words a typed role may start with that already say which person is meant, in either language: no
#: article is added before them ("een medewerker van ...", "my guardian", "alle medewerkers").
_DETERMINER_WORDS = """
    de het een die dat deze dit mijn onze ons zijn haar hun jullie uw alle beide twee drie meerdere
    verschillende sommige iemand iedereen niemand elke iedere meneer mevrouw dhr mw
    the a an my our his her their your this that these those all both two three several some someone
    somebody everyone everybody each every mr mrs ms
"""
_DETERMINERS = frozenset(_DETERMINER_WORDS.split())
#: A role is a few words (a flow asks at most 120 characters)
_ROLE_LONGEST = 200
#: The article before a role, per language of the letter
_ROLE_ARTICLE = {"nl": "de", "en": "the"}


@pass_context
def _role_filter(context: Context, value: Any) -> str:
    """A worker's role as typed, with the article a sentence needs: "Mijn klacht gaat over
    gedragswetenschapper." read as a mistake in a letter meant to be taken seriously. A role
    typed with its own article or another word that says who ("een", "mijn", "alle") stays."""
    text = "" if value is None else str(value).strip()
    first = text.split(" ", 1)[0]
    if not text or len(text) > _ROLE_LONGEST or first.lower().strip(".,") in _DETERMINERS:
        return text  # (a text longer than a role is a sentence: as typed)
    if text == first and first[:1].isupper() and first[1:].islower():
        # "Gedragswetenschapper" typed at the start of an answer; a capital in more words is a name's
        # ("Veilig Thuis medewerker", "William Schrikker gezinsvoogd"): as typed
        text = text[:1].lower() + text[1:]
    return f"{_ROLE_ARTICLE.get(context.get('lang', 'nl'), 'de')} {text}"


class TemplateBudgetExceeded(BudgetExceeded, SecurityError):
    """A render went over its budget: a template error, which the engine answers with its apology."""


def _meter() -> Budget:
    return budget.current(TemplateBudgetExceeded)


def _each(iterable: Any) -> Any:
    """Every `{% for %}` loops through this: each turn is a step of the render's budget."""
    return _meter().each(iterable)


def _sized(value: Any) -> Any:
    """Every `~` (joining texts) passes through this: the result must fit the budget."""
    return _meter().sized(value)


def _range(*args: int) -> range:
    numbers = range(*args)
    _meter().allow(len(numbers))
    return numbers


class _Metered(NodeTransformer):
    """Rewrites a parsed template so its loops and `~` joins report to the budget."""

    def __init__(self, environment: SandboxedEnvironment) -> None:
        self.environment = environment

    def _through(self, name: str, node: Any) -> nodes.Call:
        call = nodes.Call(nodes.Name(name, "load"), [node], [], None, None)
        call.set_lineno(node.lineno)
        call.set_environment(self.environment)
        return call

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._through("_ww_each", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return self._through("_ww_sized", node)


class BoundedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox plus bot.budget: counted loops and calls, sized values, estimated growth."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        # only when compiling: `parse` (placeholders, checks) sees the template as written
        _Metered(self).visit(source)
        return super()._generate(source, name, filename, defer_init)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = _meter()
        budget.check_binop(meter, operator, left, right)
        return meter.sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        meter.step()
        # our own helpers (a `~` join, `t('key')`) size what they return themselves: no estimate,
        # no sandbox check and no second sizing, on the texts every turn renders
        if __obj is _sized and len(args) == 1 and not kwargs:
            return meter.sized(args[0])
        if type(__obj) is TextLookup and len(args) == 1 and not kwargs:
            return meter.sized(__obj(args[0]))
        if getattr(__obj, "__name__", "") == "join" and args and not isinstance(args[0], list | tuple | str):
            args = (list(meter.each(args[0])), *args[1:])
        budget.check_call(meter, getattr(__obj, "__wrapped__", __obj), args, kwargs)
        return meter.sized(super().call(__context, __obj, *args, **kwargs))


def _bounded_filter(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps Jinja's pass_context/pass_eval_context marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        meter = _meter()
        meter.step()
        budget.check_call(meter, func, args, kwargs)
        return meter.sized(func(*args, **kwargs))

    return bounded


def make_environment() -> SandboxedEnvironment:
    env = BoundedEnvironment(autoescape=False, keep_trailing_newline=False)
    env.filters["date"] = _date_filter
    env.filters["role"] = _role_filter
    env.filters["with_date"] = _with_date_filter
    env.filters = {name: _bounded_filter(func) for name, func in env.filters.items()}
    env.globals.update(range=_range, _ww_each=_each, _ww_sized=_sized)
    return env


def render_bounded(template: Template, context: Mapping[str, Any]) -> str:
    """Render under a budget (shared with the render this one is part of, e.g. through `t()`)."""
    outer = budget.active()
    meter = outer or Budget(TemplateBudgetExceeded)
    token = budget.begin(meter) if outer is None else None
    parts: list[str] = []
    size = 0
    try:
        for part in template.root_render_func(_new_context(template, context)):
            size += len(part)
            if size > budget.MAX_LENGTH:
                meter.allow(size)
            parts.append(part)
    except RecursionError as exc:
        raise TemplateBudgetExceeded("texts that call each other without end") from exc
    except Exception:
        template.environment.handle_exception()  # re-raises, with the template's lines in the traceback
    finally:
        if token is not None:
            budget.end(token)
    return "".join(parts)


def _new_context(template: Template, variables: Mapping[str, Any]) -> Context:
    """`template.new_context(variables)` without reading the globals through a ChainMap at every render.

    Why: Jinja merges the template's globals (a ChainMap over the environment's) into each context with
    Python-level look-ups, twice per render; a plain copy kept on the template gives the same context.
    The environment's globals are set once, in make_environment, before any template is compiled.
    """
    plain: dict[str, Any] | None = template.__dict__.get("_ww_globals")
    if plain is None:
        plain = template.__dict__["_ww_globals"] = dict(template.globals)
    return template.environment.context_class(template.environment, {**plain, **variables}, template.name,
                                              template.blocks, globals=plain)


ENV = make_environment()


class TextLookup:
    """`t('key')` in a template: another text of the same language, rendered with the same answers.

    A plain text (no variables) is returned as it is, without building a context for it.
    A key that does not exist is shown as itself (`check` reports it). Its attributes start
    with `_`, so the sandbox keeps templates from reaching through it.
    """

    __slots__ = ("_lang", "_locales", "_render")

    def __init__(self, locales: Locales, lang: str, render: Callable[[str], str]) -> None:
        self._locales = locales
        self._lang = lang
        self._render = render

    def __call__(self, key: str) -> str:
        if not self._locales.has(self._lang, key):
            return key
        constant = self._locales.constant(self._lang, key)
        return constant if constant is not None else self._render(key)


#: Jinja's markers; a text without any of them renders as itself, whatever the context.
_JINJA_MARKERS = ("{{", "{%", "{#")


@dataclass(slots=True)
class LocaleText:
    source: str
    where: Where
    #: the variables of a text that loops, calls or builds (bot.budget), which `check`
    #: tries with sample answers; None for the texts that cannot outgrow their budget
    growing: frozenset[str] | None = None
    _compiled: Template | None = None
    #: the rendered text of a template without any Jinja syntax (most button labels and
    #: questions): rendered once, then returned as is (no context, no Jinja call)
    _constant: str | None = None

    def template(self) -> Template:
        if self._compiled is None:
            self._compiled = ENV.from_string(self.source)
            if not any(marker in self.source for marker in _JINJA_MARKERS):
                self._constant = self._compiled.render().rstrip()
        return self._compiled

    def render(self, context: Mapping[str, Any]) -> str:
        template = self._compiled or self.template()
        if self._constant is not None:
            return self._constant
        return render_bounded(template, context).rstrip()

    @property
    def constant(self) -> str | None:
        """The text when it needs no context (compiling it first), else None."""
        if self._compiled is None:
            self.template()
        return self._constant


@dataclass(slots=True)
class LocaleProblem:
    where: Where
    kind: str
    message: str
    fix: str
    #: the YAML parser's own words behind a plain message (Problem.detail)
    detail: str = ""


@dataclass(slots=True)
class Locales:
    """All texts of all languages, compiled lazily and cached."""

    texts: dict[str, dict[str, LocaleText]] = field(default_factory=dict)
    #: Per language, text keys and top-level names (`main`) whose texts could not be read:
    #: a file that does not parse, a value that is not a text. That such a key is absent
    #: proves nothing, so the checks do not call it missing (the one real error is reported).
    unreadable: dict[str, set[str]] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return sorted(self.texts)

    def pick(self, *candidates: str | None) -> str:
        """The first candidate we have texts for ("en-GB" counts as "en"), else the first language.

        Candidates go from most to least specific: the conversation's language, the
        user's app language, the configured default.
        """
        languages = self.languages
        for candidate in candidates:
            short = (candidate or "").split("-")[0].lower()
            if short in languages:
                return short
        return languages[0] if languages else "nl"

    def month_names(self, lang: str) -> list[str] | None:
        """The twelve months of `lang` (`sys.month_names`, January first), or None when not given as twelve."""
        entry = self.texts.get(lang, {}).get(MONTH_NAMES_KEY)
        names = [name.strip() for name in entry.source.split(",")] if entry is not None else []
        return names if len(names) == 12 and all(names) else None

    def has(self, lang: str, key: str) -> bool:
        return key in self.texts.get(lang, {})

    def unread(self, lang: str, key: str) -> bool:
        """True when `key` may be written in a text of `lang` that could not be read."""
        marks = self.unreadable.get(lang, set())
        return key in marks or key.split(".", 1)[0] in marks

    def lacks(self, lang: str, key: str) -> bool:
        """True when `lang`'s files were read and surely do not define `key`."""
        return lang in self.texts and not self.has(lang, key) and not self.unread(lang, key)

    def render(self, lang: str, key: str, context: Mapping[str, Any]) -> str:
        entry = self.texts[lang].get(key) or self.texts["nl"][key]
        return entry.render(context)

    def constant(self, lang: str, key: str) -> str | None:
        """The text of `key` when it reads no variable (no need to build a context), else None."""
        entry = self.texts[lang].get(key) or self.texts["nl"].get(key)
        return entry.constant if entry is not None else None


def _flatten(data: Any, prefix: str, out: dict[str, tuple[Any, tuple[str, ...]]],
             path: tuple[str, ...]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else key, out, (*path, key))
    else:
        out[prefix] = (data, path)


#: Top-level keys of a locale file, read line by line (also from a file that does not parse).
_TOP_KEY = re.compile(r"^([A-Za-z0-9_]+)[ \t]*:", re.MULTILINE)

#: The fix for a text key written twice in one language.
DUPLICATE_FIX = ("a text key is written once per language: delete one of the two, or give one "
                 "another name (and use that name in the flow)")
#: The fix for a template Jinja cannot read.
TEMPLATE_FIX = ("write each placeholder as `{{ name }}` (two braces on both sides) and end every "
                "`{% if ... %}` with `{% endif %}`; compare with the same text in locales/nl/")


def load_locales(directory: Path, root: Path | None = None) -> tuple[Locales, list[LocaleProblem]]:
    """Read locales/<lang>/*.yaml; return what loaded plus every problem found."""
    locales = Locales()
    if not directory.is_dir():
        return locales, [LocaleProblem(
            Where(shown_path(directory, root), 1, 1), "missing-locales", "the locales directory does not exist",
            "create it with one folder per language (locales/nl/, locales/en/), or point --locales "
            "(WEGWIJZER_LOCALES_DIR) at the directory that has them")]
    problems: list[LocaleProblem] = []
    names: dict[tuple[str, str], set[str]] = {}  # (lang, file name) -> its top-level keys
    unread_files: list[tuple[str, Path]] = []
    for lang_dir in sorted(p for p in directory.iterdir() if p.is_dir()):
        lang = lang_dir.name
        locales.texts.setdefault(lang, {})
        locales.unreadable.setdefault(lang, set())
        for file in sorted(lang_dir.glob("*.yaml")):
            data, pos, unreadable = _read_locale_file(file, shown_path(file, root))
            problems.extend(unreadable)
            if unreadable:
                unread_files.append((lang, file))
            elif data is not None:
                names[(lang, file.name)] = {str(key) for key in data}
                problems.extend(_add_texts(locales, lang, file, data, pos))
    _mark_unread(locales, names, unread_files)
    KNOWN_FACTS.save()
    return locales, problems


def _read_locale_file(file: Path, shown: str) -> tuple[dict[str, Any] | None, Positions, list[LocaleProblem]]:
    """A locale file's mapping (None when empty), or the one problem that keeps it from being read."""
    try:
        data, pos = load_yaml(file, shown)
    except YamlSyntaxError as exc:
        return None, Positions(shown), [LocaleProblem(exc.where, "duplicate-text-key" if exc.duplicate else "yaml-syntax",
                                                      exc.problem, DUPLICATE_FIX if exc.duplicate else exc.fix,
                                                      exc.detail)]
    if data is None or isinstance(data, dict):
        return data, pos, []
    return None, pos, [LocaleProblem(
        pos.of(()), "locale-shape", "a locale file is a mapping of keys to texts, not a list or one text",
        f"start with a name such as `{file.stem}:` and put `key: text` lines under it, "
        f"indented by two spaces (as in locales/nl/{file.name})")]


def _add_texts(locales: Locales, lang: str, file: Path, data: dict[str, Any], pos: Positions) -> list[LocaleProblem]:
    """Every text of one file into `lang`'s table; a text that cannot be used is marked unreadable."""
    problems: list[LocaleProblem] = []
    table, unreadable = locales.texts[lang], locales.unreadable[lang]
    flat: dict[str, tuple[Any, tuple[str, ...]]] = {}
    _flatten(data, "", flat, ())
    for key, (value, path) in flat.items():
        where = pos.of(path)
        if isinstance(value, list) and key.startswith(WORD_LISTS):
            value = _phrases(key, value, path, pos, file, problems)
        if not isinstance(value, str):
            what, fix = _not_a_text(value, path[-1] if path else key)
            problems.append(LocaleProblem(where, "locale-shape", f"`{key}` is {what}, not a text", fix))
            unreadable.add(key)
            continue
        if key in table:
            problems.append(LocaleProblem(
                where, "duplicate-text-key", f"`{key}` is already defined at {table[key].where}", DUPLICATE_FIX))
            continue
        try:
            found = facts(value)
        except TemplateSyntaxError as exc:
            problems.append(LocaleProblem(_template_line(file, pos.value_of(path), exc.lineno),
                                          "template-syntax", f"`{key}`: {exc.message}", TEMPLATE_FIX))
            unreadable.add(key)
            continue
        table[key] = LocaleText(value, where, found.growing)
    return problems


def _phrases(key: str, items: list[Any], path: tuple[str, ...], pos: Positions, file: Path,
             problems: list[LocaleProblem]) -> str:
    """A word list as the one text bot/intents.py reads (a phrase a line).

    An item that is no phrase is reported at its own line and left out, so one slip does not cost
    the route its other words. So is a phrase followed by a comment: in `- binnen # weken` YAML reads
    only "binnen", where the moderator meant "#" as any number (in the old one-text form it was).
    """
    phrases: list[str] = []
    lines: list[str] | None = None
    for index, item in enumerate(items):
        where = pos.value_of((*path, index))
        what, fix = "", ""
        if isinstance(item, str) and item.strip():
            lines = lines if lines is not None else file.read_text(encoding="utf-8").splitlines()
            rest = lines[where.line - 1][where.col - 1:] if where.line <= len(lines) else ""
            if rest.startswith(item) and rest[len(item):].strip().startswith("#"):
                what, fix = "followed by a comment", (
                    f'a `#` after a phrase starts a comment; put the whole phrase in quotes (`- "{rest.strip()}"`, '
                    "`#` is any number), or put the comment on a line of its own")
            else:
                phrases.append(item.strip())
                continue
        elif isinstance(item, str) or item is None:
            what, fix = "empty", "write a word or phrase after `- `, or delete the line"
        elif isinstance(item, list | dict):
            what, fix = "not one phrase", "write one word or phrase after `- ` (a phrase with `#` or `: ` in quotes)"
        else:
            what, fix = "a number or yes/no", f'put it in quotes: `- "{str(item).lower()}"`'
        problems.append(LocaleProblem(where, "locale-shape", f"`{key}`, phrase {index + 1}, is {what}, not a phrase",
                                      fix))
    return "\n".join(phrases)


def _mark_unread(locales: Locales, names: dict[tuple[str, str], set[str]],
                 unread_files: list[tuple[str, Path]]) -> None:
    """What an unread file may hold is unknown, not missing: no "missing text" for those keys."""
    for lang, file in unread_files:
        # the same file in another language names what this one holds; its own text may too
        locales.unreadable[lang].update(*(keys for (_, name), keys in names.items() if name == file.name))
        locales.unreadable[lang].update(_TOP_KEY.findall(file.read_text(encoding="utf-8", errors="replace")))


def _not_a_text(value: Any, name: str) -> tuple[str, str]:
    """(what a value is, how to make it a text), in a moderator's words."""
    if value is None:
        return "empty", f"write the text after `{name}:`, or delete the line"
    if isinstance(value, list):
        return "a list", f"write one text after `{name}:` (for several lines use `{name}: |-` and indented lines)"
    if isinstance(value, bool):
        return "yes/no", f'put the text in quotes: `{name}: "{str(value).lower()}"`'
    return "a number", f'put the text in quotes: `{name}: "{value}"`'


def _template_line(file: Path, value: Where, lineno: int) -> Where:
    """Where line `lineno` of a text is in its file (a `|` or `>` text starts on the next line)."""
    lines = file.read_text(encoding="utf-8").splitlines()
    block = lines[value.line - 1][value.col - 1:value.col] in ("|", ">")
    line = value.line + (1 if block else 0) + max(lineno - 1, 0)
    if line == value.line or line > len(lines):
        return value
    text = lines[line - 1]
    return Where(value.file, line, len(text) - len(text.lstrip()) + 1)


#: The Jinja parts of a text, and what in one may loop, call or build.
_JINJA_PART = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
_MAYBE_GROWING = re.compile(r"[(*+~|%]|\b(?:for|macro|call|filter)\b")
#: Template parts that can make a render long or slow (filters other than `date` too).
_GROWING = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Call,
            nodes.Mul, nodes.Pow, nodes.Mod, nodes.Add, nodes.Concat, nodes.Filter)


#: Filters whose result does not grow with the template: a date (short), a role (what was typed, with
#: at most an article before it: a text longer than `_ROLE_LONGEST` comes back as typed)
_SHORT_FILTERS = frozenset({"date", "role"})


def _grows(source: str, tree: nodes.Template) -> bool:
    """Does a text loop, call or build, and so could outgrow its budget?"""
    if not any(_MAYBE_GROWING.search(a or b) for a, b in _JINJA_PART.findall(source)):
        return False  # plain words and `{{ name }}` (most texts): no need to walk the tree
    return any(not isinstance(node, nodes.Filter) or node.name not in _SHORT_FILTERS for node in tree.find_all(_GROWING))


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What the checks read from one template's source, found in one parse."""

    #: variables it reads (`range` and the like are no placeholders)
    placeholders: frozenset[str]
    #: directory ids it names as `d.<id>`
    directory_refs: frozenset[str]
    #: text keys it names literally as t('a.b')
    text_refs: frozenset[str]
    #: its variables when it loops, calls or builds and so could outgrow its budget (`check` tries
    #: those texts with sample answers); None for the texts that cannot
    growing: frozenset[str] | None


def facts(source: str) -> TextFacts:
    """The facts of a template, parsed once per distinct source (TemplateSyntaxError if it cannot be).

    Start-up reads every text for several checks (placeholders per language, directory and text
    references, growth); parsing each text once for each of them was most of start-up's time
    (bench/README.md). The facts are also kept on disk (`KNOWN_FACTS`), so an unchanged
    text is not parsed at all at the next start. Errors are raised anew every time, never
    remembered, so a moderator's message and its line number are Jinja's own.
    """
    return KNOWN_FACTS.get(source)


def _read_facts(source: str) -> TextFacts:
    tree = ENV.parse(source)
    if _JINJA_MARKERS[0] not in source and _JINJA_MARKERS[1] not in source:
        names: frozenset[str] = frozenset()  # words only (a comment at most): nothing to walk
    else:
        names = frozenset(meta.find_undeclared_variables(tree)) - frozenset(ENV.globals)
    directory: set[str] = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "d":
            directory.add(node.attr)
    texts: set[str] = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "t" and call.args:
            arg = call.args[0]
            if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                texts.add(arg.value)
    return TextFacts(names, frozenset(directory), frozenset(texts), names if _grows(source, tree) else None)


class KnownFacts:
    """The facts of every text read; those of the last load also on disk (bot/remembered.py).

    Kept beside the parsed YAML files (`WEGWIJZER_YAML_CACHE`; `off` keeps them in memory
    only), stamped with Jinja's version and this module's code, so a change to either reads
    every text anew.
    """

    def __init__(self) -> None:
        self._known: dict[str, TextFacts] = {}
        self._table: RememberedTable | None = None

    def table(self) -> RememberedTable:
        if self._table is None:
            folder = yaml_source.CACHE.folder
            self._table = RememberedTable(folder / "text-facts.bin" if folder is not None else None, _FACTS_STAMP)
        return self._table

    def get(self, source: str) -> TextFacts:
        found = self._known.get(source)
        stored = self.table().get(source)  # also marks it as used: the next file keeps it
        if found is None and stored is not None:
            names, directory, texts, grows = stored
            found = TextFacts(frozenset(names), frozenset(directory), frozenset(texts),
                              None if grows is None else frozenset(grows))
        if found is None:
            found = _read_facts(source)
        if stored is None:
            self.table().put(source, (tuple(found.placeholders), tuple(found.directory_refs),
                                      tuple(found.text_refs), None if found.growing is None else tuple(found.growing)))
        self._known[source] = found
        return found

    def save(self) -> None:
        """Keep the facts of the texts read by this process for the next start."""
        self.table().save()


_FACTS_STAMP = hashlib.sha256(
    f"{jinja2.__version__}:{marshal.version}:".encode() + Path(__file__).read_bytes()).hexdigest()
KNOWN_FACTS = KnownFacts()


def placeholders(source: str) -> set[str]:
    """Variables a template reads (for the placeholder-mismatch check); `range` and the like are no placeholders."""
    return set(facts(source).placeholders)


def directory_refs(source: str) -> set[str]:
    """Directory ids a template names as `d.<id>`."""
    return set(facts(source).directory_refs)


def text_refs(source: str) -> set[str]:
    """Text keys a template names literally as t('a.b')."""
    return set(facts(source).text_refs)


# ---------------------------------------------------------------- texts the code needs, never failing

_log = logging.getLogger(__name__)
#: keys already reported missing: one error per text, not one per message
_MISSING: set[str] = set()


class Renders(Protocol):
    def render(self, lang: str, key: str, values: dict[str, Any]) -> str: ...


def render_or_facts(flows: Renders, lang: str, key: str, values: dict[str, Any], *, needs: str,
                    leave_out: frozenset[str] = frozenset()) -> str:
    """A text the code itself sends (desk, privacy, moderation); the key and the facts when it cannot be shown.

    Why never raise: a trial flow set or a bad reload may lack a feature's texts, and a person
    must still get an answer (a moderator their reload result, a user their report reference).
    The error is logged once per key, with `needs` saying which locale files to add; never the
    values, which may hold what a user typed.
    """
    try:
        return str(flows.render(lang, key, values))
    except Exception as exc:
        if key not in _MISSING:
            _MISSING.add(key)
            _log.error("text %s cannot be shown (%s): add %s to the flow set", key, type(exc).__name__, needs)
        facts = " · ".join(str(v) for k, v in values.items() if k not in leave_out and v not in (None, ""))
        return f"[{key}] {facts}".strip()
