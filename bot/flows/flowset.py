"""The loaded, validated, immutable set of flows, texts and directory.

The engine runs on a FlowSet and nothing else. A FlowSet is built once per
(re)load by `loader.load_flowset`; it is never mutated afterwards, so a reload
swaps one object for another and a running turn never sees half of an edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar, cast

from jinja2 import Template

from bot.dates import add_period
from bot.directory import LegalLastDay, legal_last_day
from bot.expressions import BASE_FUNCTIONS, Expression, ExpressionError, evaluate, parse
from bot.flows.model import Flow, Step
from bot.flows.source import Positions
from bot.flows.steps import ChooseStep
from bot.glossary import GlossaryIndex
from bot.intents import IntentMatcher, RoleRoutes
from bot.personal import known_words
from bot.texts import ENV, INTENT_PREFIX, ROLE_PREFIX, Locales, TextLookup, render_bounded

T = TypeVar("T")
#: The id of the button that leads back to its flow's menu ("Ja, iets anders" -> "Waar gaat het over?"): the
#: menu behind it reads what is typed at its question (menu_behind)
AGAIN = "again"


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    entry: str
    rule: str
    days: int = 0
    weeks: int = 0
    months: int = 0
    years: int = 0
    #: set in a Dutch law: the Algemene termijnenwet moves a last day off a weekend or holiday
    atw: bool = False


@dataclass(slots=True)
class FlowSet:
    flows: dict[str, Flow]
    positions: dict[str, Positions]
    locales: Locales
    #: directory entry id -> per-language view (dict of fields) used by templates as `d`
    directory_views: dict[str, dict[str, dict[str, Any]]]
    #: directory entry id -> its card per language (rendered once at load)
    cards: dict[str, dict[str, str]]
    deadlines: dict[tuple[str, str], DeadlineRule]
    crisis: Any | None  # bot.crisis.CrisisDetector
    crisis_routes: dict[str, tuple[str, str]]  # class -> (reply key, then)
    municipalities: Any | None  # bot.municipalities matcher module/object
    #: the explained words of the directory, for "wat is een OTS?" at any step
    glossary: GlossaryIndex
    version: str
    loaded_at: str
    entry_flow: str = "main"
    safety_flow: str = "safety"
    deeplinks: dict[str, str] = field(default_factory=dict)
    #: problems that do not stop loading (e.g. directory entries not checked for long)
    warnings: list[Any] = field(default_factory=list)
    #: days the Crown equated with a holiday for the Algemene termijnenwet (from the directory)
    atw_equated: frozenset[date] = frozenset()
    _exprs: dict[str, Expression] = field(default_factory=dict)
    #: inline templates (a step's `preview` url, a report field's value), compiled once
    _inline: dict[str, Template] = field(default_factory=dict)
    _known_words: frozenset[str] | None = None
    _intents: IntentMatcher | None = None
    _option_words: dict[tuple[str, str], IntentMatcher | None] = field(default_factory=dict)
    _phrases: dict[str, IntentMatcher] = field(default_factory=dict)
    _derived: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ lookups
    def step(self, flow: str, step: str) -> Step | None:
        f = self.flows.get(flow)
        return f.steps.get(step) if f else None

    def intents(self) -> IntentMatcher:
        """The routes' typed words of every language (locales/*/intents.yaml), built once per flow set."""
        if self._intents is None:
            def lists(prefix: str) -> list[dict[str, str]]:
                return [{key.removeprefix(prefix): text.source for key, text in texts.items() if key.startswith(prefix)}
                        for _lang, texts in sorted(self.locales.texts.items())]
            self._intents = IntentMatcher.from_texts(*lists(INTENT_PREFIX), roles=lists(ROLE_PREFIX),
                                                     fits=self.routes_per_role())
        return self._intents

    def option_words(self, flow: str, step: str) -> IntentMatcher | None:
        """The typed words of a question's options (`words:`, every language merged, as people mix
        them), built once per flow set; None when no option has any."""
        key = (flow, step)
        if key not in self._option_words:
            found = self.step(flow, step)
            # an option without words of its own shows a label another option of the flow has words for
            # ("Horen mijn ouders het?" below the unsafe part, as in the youth menu): the same words
            steps = self.flows[flow].steps.values() if flow in self.flows else ()
            shared = {o.label: o.words for s in steps if isinstance(s, ChooseStep) for o in s.options if o.words}
            options = found.options if isinstance(found, ChooseStep) else []
            words = {o.id: said for o in options if (said := o.words or shared.get(o.label)) is not None}
            self._option_words[key] = IntentMatcher.from_texts(*(
                {oid: texts[said].source for oid, said in words.items() if said in texts}
                for _lang, texts in sorted(self.locales.texts.items()))) if words else None
        return self._option_words[key]

    @property
    def tables(self) -> dict[str, list[str] | dict[str, str]]:
        """Every flow's named word tables (`tables:`), by name: the check keeps names unique and apart from
        the variables steps set, so an expression reads them as variables that no person's state holds."""
        return self.derived("tables", lambda: {name: table for flow in self.flows.values()
                                              for name, table in flow.tables.items()})

    def menu_behind(self, flow: str, step: str) -> tuple[str, str] | None:
        """(option, menu) of a question one of whose buttons leads back to its flow's menu ("Ja, iets anders" at
        "Of wil je iets anders weten?" -> "Waar gaat het over?"): a question with typed words (`words:`) from
        which this question is reached again. None in a `menu: true` flow (typed requests there are routes,
        bot/engine/typed.py) or where no button goes back; built once per flow set.

        Only the button `again` ("Ja, iets anders") leads back to the menu: any question reached again by a
        button is not one. The inspreken review's [Andere vergadering] leads back to "Weet je de vergadering?",
        and "nee" typed at the review deleted the meeting she named (review35)."""
        def build() -> tuple[str, str] | None:
            found = self.flows.get(flow)
            here = found.steps.get(step) if found is not None and not found.menu else None
            if found is None or not isinstance(here, ChooseStep):
                return None
            return next(((o.id, o.next) for o in here.options if o.id == AGAIN and o.next != step
                         and isinstance(found.steps.get(o.next), ChooseStep) and self.option_words(flow, o.next)
                         and step in _reached(found, o.next)), None)
        return self.derived(f"menu_behind:{flow}:{step}", build)

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """What a reader makes of this set's texts (phrases normalised, a word set), built once per flow
        set: a reload is a new set, so nothing read from the old texts outlives it; the engine's readers
        stay where they belong and no message rebuilds them."""
        if key not in self._derived:
            self._derived[key] = build()
        return cast(T, self._derived[key])

    def phrases(self, key: str) -> IntentMatcher:
        """A text of phrases, one a line, of every language merged (people mix them), read as typed
        words are (bot/intents.py), its one route named `key`; built once per flow set."""
        if key not in self._phrases:
            self._phrases[key] = IntentMatcher.from_texts(*(
                {key: texts[key].source} for _lang, texts in sorted(self.locales.texts.items()) if key in texts))
        return self._phrases[key]

    def routes_per_role(self) -> dict[str, RoleRoutes]:
        """What the entry menu offers each role: the step its option opens (its door), and every
        step it can reach from there: that menu's options, and the options beside its own that
        set no role ("Hulplijnen" beside "Familie").

        Why from the flow: which routes suit a parent or a professional is already decided by
        the menu moderators keep; a second list of it would drift.
        """
        flow = self.flows.get(self.entry_flow)
        menus = [step for step in flow.steps.values() if isinstance(step, ChooseStep)] if flow else []
        doors: dict[str, str] = {}
        offered: dict[str, set[str]] = {}
        for menu in menus:
            shared = {o.next for o in menu.options if "role" not in o.set}
            for option in menu.options:
                role = option.set.get("role")
                if isinstance(role, str):
                    after = flow.steps.get(option.next) if flow else None
                    doors.setdefault(role, option.next)
                    offered.setdefault(role, set()).update({option.next} | shared)
                    if isinstance(after, ChooseStep):
                        offered[role].update(o.next for o in after.options)
        return {role: RoleRoutes(door, frozenset(offered[role])) for role, door in doors.items()}

    def known_words(self) -> frozenset[str]:
        """Place names that are not people's names, for bot.personal (built once per flow set)."""
        if self._known_words is None:
            index = getattr(self.municipalities, "index", None)
            names: list[str] = []
            if index is not None:
                names += [m.name for m in index.municipalities] + [m.province for m in index.municipalities]
                names += [a.alias for a in index.aliases]
            self._known_words = known_words(names)
        return self._known_words

    def expression(self, source: str) -> Expression:
        expr = self._exprs.get(source)
        if expr is None:
            expr = self._exprs[source] = parse(source)
        return expr

    def functions(self, today: Any = None) -> dict[str, Callable[..., Any]]:
        funcs = dict(BASE_FUNCTIONS)
        funcs["deadline"] = self._deadline

        def deadline_term(entry: str, rule: str, start: Any) -> dict[str, Any]:
            return self._deadline_term(entry, rule, start, today)

        funcs["deadline_term"] = deadline_term
        funcs["municipality_website"] = self._municipality_website
        return funcs

    def _municipality_website(self, name: Any) -> str:
        """The municipality's own website (government register), "" when unknown: texts say so."""
        website = getattr(self.municipalities, "website", None)
        return (website(str(name)) or "") if website is not None else ""

    def _deadline(self, entry: str, rule: str, start: Any) -> str:
        """The last day that counts (`deadline(...)` in a flow): moved by the Atw where it applies."""
        return self._last_day(entry, rule, start).day.isoformat()

    def _last_day(self, entry: str, rule: str, start: Any) -> LegalLastDay:
        found = self.deadlines.get((entry, rule))
        if found is None:
            raise ExpressionError(f"unknown deadline {entry}.{rule}")
        start_date = start if isinstance(start, date) else date.fromisoformat(str(start))
        calendar_day = add_period(start_date, found.days, found.weeks, found.months, found.years)
        return legal_last_day(start_date, calendar_day, found.atw, self.atw_equated)

    def _deadline_term(self, entry: str, rule: str, start: Any, today: Any) -> dict[str, Any]:
        """The last day with what a person needs to check it: the rule (by entry and id), the
        start date and the days left from the product's today (which the engine passes in).

        `last_day` is the day that counts; when the Algemene termijnenwet moved it off a weekend or
        holiday, `moved_from` is the calendar day and `moved_because` why (`LegalLastDay`), so the
        text can show both. Weekdays (Monday 0) come along for texts that name them.
        """
        found = self._last_day(entry, rule, start)
        start_day = start if isinstance(start, date) else date.fromisoformat(str(start))
        days_left = None
        if today is not None:
            now = today if isinstance(today, date) else date.fromisoformat(str(today))
            days_left = (found.day - now).days
        return {"entry": entry, "rule": rule, "start": start_day.isoformat(), "last_day": found.day.isoformat(),
                "days_left": days_left, "weekday": found.day.weekday(),
                "moved_from": found.calendar.isoformat() if found.moved else "",
                "moved_from_weekday": found.calendar.weekday(), "moved_because": found.because or ""}

    def eval(self, source: str, variables: Mapping[str, Any]) -> Any:
        return evaluate(self.expression(source), variables, self.functions(variables.get("today")))

    # ------------------------------------------------------------ texts
    def render(self, lang: str, key: str, variables: Mapping[str, Any]) -> str:
        return self.locales.render(lang, key, self._context(lang, variables))

    def render_source(self, lang: str, source: str, variables: Mapping[str, Any]) -> str:
        """Render an inline template (report field values)."""
        template = self._inline.get(source)
        if template is None:  # compiled once per flow set: sources are the flows' own, a few per flow set
            template = self._inline[source] = ENV.from_string(source)
        return render_bounded(template, self._context(lang, variables)).rstrip()

    def _context(self, lang: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """What every template sees: the variables, `lang`, the directory `d`, and `t(key)`."""
        context = dict(variables)
        context["lang"] = lang
        context["d"] = self.directory_views.get(lang, {})
        context["_month_names"] = self.locales.month_names  # for the `date` filter, per language
        context["t"] = TextLookup(self.locales, lang, lambda k: self.render(lang, k, variables))
        return context


def _reached(flow: Flow, start: str) -> set[str]:
    """The steps of a flow one can come to from `start` (itself included), following every `next`."""
    seen, todo = {start}, [start]
    while todo:
        step = flow.steps.get(todo.pop())
        for _, target in step.targets() if step is not None else ():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
