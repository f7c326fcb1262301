"""Safe expressions for `branch` conditions, `compute` values and report urgency.

Moderators write small Python-like expressions (`org == 'gi' and age >= 12`,
`add(ruling_date, months=3)`). They are evaluated with simpleeval, never
`eval`: no attribute access to internals, no imports, and bot.budget's
limits (nodes counted, values sized, multiplying operations such as
`replace` estimated before they run), so a runaway expression ends in the
engine's apology instead of blocking the store thread. Each expression is
parsed once when flows load; evaluation reuses the parse tree.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from simpleeval import DEFAULT_OPERATORS, EvalWithCompoundTypes

from bot import budget
from bot.budget import Budget, BudgetExceeded
from bot.clauses import items
from bot.dates import add_period, date_in_text, only_a_weekday, past_date_in_text, read_dates, yearless_date_in_text
from bot.errors import TurnError
from bot.language import looks_english
from bot.not_knowing import DONT_KNOW as DONT_KNOW
from bot.not_knowing import NOT_THAT_I_KNOW as NOT_THAT_I_KNOW
from bot.not_knowing import WORD_LISTS as WORD_LISTS
from bot.not_knowing import one_of
from bot.personal import NAME_PARTICLES


class ExpressionError(TurnError, ValueError):
    pass


class ExpressionBudgetExceeded(BudgetExceeded, ExpressionError):
    """An expression went over its budget: an expression error, answered with the engine's apology."""


class _BoundedEval(EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval with every node counted and sized, and growth estimated before a call runs."""

    def __init__(self, meter: Budget, names: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> None:
        operators = dict(DEFAULT_OPERATORS)
        for node, symbol in ((ast.Mult, "*"), (ast.Pow, "**"), (ast.Mod, "%")):
            operators[node] = self._estimated(symbol, operators[node])
        super().__init__(operators=operators, names=names, functions=functions)
        self.meter = meter

    def _estimated(self, symbol: str, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(left: Any, right: Any) -> Any:
            budget.check_binop(self.meter, symbol, left, right)
            return op(left, right)

        return run

    def _eval(self, node: ast.AST) -> Any:
        self.meter.step()
        return self.meter.sized(super()._eval(node))

    def _eval_call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Attribute):
            func = self.functions.get(getattr(node.func, "id", ""))
            if func is None:
                return super()._eval_call(node)
        else:
            func = self._eval(node.func)
        args = tuple(self._eval(a) for a in node.args)
        kwargs = dict(self._eval(k) for k in node.keywords)
        budget.check_call(self.meter, func, args, kwargs)
        return func(*args, **kwargs)

    def _eval_formattedvalue(self, node: ast.FormattedValue) -> Any:
        if node.format_spec:
            budget.check_format(self.meter, str(self._eval(node.format_spec)))
        return super()._eval_formattedvalue(node)


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ExpressionError(f"not a date: {value!r}")


#: Typed answers that mean "nothing" (nothing done yet, nothing attached): a letter says so, or
#: leaves the part out, instead of a [placeholder] the person would think they must still fill in.
NOTHING = frozenset({
    "geen", "niets", "niks", "nee", "nog niets", "nog niks", "nog geen", "helemaal niets", "-", "nvt", "n.v.t",
    "none", "nothing", "no", "nothing yet", "not yet", "nothing so far", "n/a",
})
#: Typed answers that mean "I don't know (yet)": a letter then keeps its [placeholder].
NOT_KNOWN = NOTHING | DONT_KNOW | frozenset({"later", "onbekend", "unknown", "skip"})
#: "No one" in words, at "Were there witnesses?" ("nee, niemand", "nobody saw it", "niet dat ik weet"):
#: a no, where any other words are a yes kept as a note (review 2026-12-07: these read as a yes).
_NO_ONE = re.compile(
    r"^(?:(?:nee|no|nope|neen)\b[\s,.!]*)?(?:"
    r"(?:niemand|nobody|no ?one|no-one|geen getuigen|no witnesses|none)(?!.*\b(?:behalve|except|but|maar)\b)"
    r"|" + one_of(NOT_THAT_I_KNOW) + r"\b)")


def _plain_answer(value: Any) -> str:
    return " ".join(str(value).strip().lower().strip(".!").split())


def _known(value: Any) -> Any:
    """The answer, or None when it says "I don't know" / "later" / "nothing" (see NOT_KNOWN)."""
    return None if value is None or _plain_answer(value) in NOT_KNOWN else value


def _nothing(value: Any) -> bool:
    """Did the person answer "nothing" ("niets", "nog niets", "nee")? Not "later": that keeps a [placeholder]."""
    return value is not None and _plain_answer(value) in NOTHING


def _no_one(value: Any) -> bool:
    """Did the person answer "no one" ("nee, niemand", "nobody saw it") or "nothing" ("nee")?"""
    return value is not None and (_nothing(value) or _NO_ONE.match(_plain_answer(value)) is not None)


#: Where one sentence ends and the next begins in a typed text (after . ! ? and a space, or at a line break)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of a typed text, without their spaces around."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _without(text: Any, part: Any) -> str | None:
    """`text` without the sentences of `part` (a letter answer without the part that read as a threat,
    bot/engine/protect.py); None when nothing else was in it, so the letter keeps its [placeholder]."""
    if text is None:
        return None
    left = str(text)
    for sentence in sentences(str(part or "")):
        left = left.replace(sentence, " ")
    left = re.sub(r"[ \t]{2,}", " ", left).strip(" \t\n,;")
    return left if re.search(r"\w", left) else None


def _add(value: Any, days: int = 0, weeks: int = 0, months: int = 0, years: int = 0) -> str:
    return add_period(_as_date(value), days, weeks, months, years).isoformat()


def _days_between(a: Any, b: Any) -> int:
    return (_as_date(b) - _as_date(a)).days


def _date_in(text: Any, today: Any) -> dict[str, Any] | None:
    """The first date written in a typed text (`date_in(meeting, today)`), with its weekday
    (Monday 0) and the days from today to it, for a text that reads it back; None without one."""
    found = date_in_text(str(text or ""), _as_date(today))
    if found is None:
        return None
    return {"day": found.isoformat(), "weekday": found.weekday(), "days_left": (found - _as_date(today)).days,
            "weekday_only": only_a_weekday(str(text or ""))}


def _yearless_date_in(text: Any, today: Any) -> dict[str, Any] | None:
    """A day and month typed without a year inside a text (`yearless_date_in(fix_wrong, today)`):
    {typed, day}, the words as typed and the day read (ISO, up to today), so a flow can ask
    about the year before a letter quotes the text; None without one."""
    found = yearless_date_in_text(str(text or ""), _as_date(today))
    return None if found is None else {"typed": found[0], "day": found[1].isoformat()}


#: Words a Dutch name keeps in lower case ("Raad voor de Kinderbescherming", "Leger des Heils").
_NAME_PARTICLES = NAME_PARTICLES | {"voor", "en", "des", "in", "op", "of", "and", "the"}
#: Short names written in capitals ("de gi", "jeugd-ggz" stays as typed: only whole words). Not "big":
#: an everyday English word in a name, written "BIG" it was shouting (review 2026-12-07).
_NAME_ACRONYMS = frozenset({"gi", "ggz", "rvdk", "vt", "skj", "jgz", "avg", "wsg"})


def _proper_name(value: Any) -> Any:
    """An organisation's name typed all in lower case ("william schrikker") with capitals, for a
    letter; a name typed with any capital is left as typed (the person knows it best)."""
    if not isinstance(value, str) or value != value.lower():
        return value
    words = value.split()
    return " ".join(word.upper() if word in _NAME_ACRONYMS else word if i and word in _NAME_PARTICLES
                    else word[:1].upper() + word[1:] for i, word in enumerate(words))


#: A one-word phrase this long also counts at the start of a longer word: Dutch writes compounds as one
#: word ("facebookgroep", "whatsappgroep"; "fb-groep" is two). Not shorter: "insta" starts "instantie".
COMPOUND_HEAD = 6


def _words(text: Any) -> list[str]:
    return re.findall(r"\w+", str(text or "").lower())


def _at(words: list[str], wanted: list[str], at: int) -> bool:
    """Does the phrase (its words) stand in the text at `at`, a one-word phrase also as a compound's head?"""
    if len(wanted) == 1:
        typed, word = (words[at] if at < len(words) else ""), wanted[0]
        return typed == word or (len(word) >= COMPOUND_HEAD and typed.startswith(word))
    return bool(wanted) and words[at:at + len(wanted)] == wanted


def any_word_in(text: Any, words: Any) -> bool:
    """Does the text hold one of the words as a whole word, in any case (`any_word_in(text, ['facebook'])`), or
    as a compound's head ("in een facebookgroep"); for a table of phrases, one of its phrases?"""
    said = _words(text)
    return any(_at(said, _words(word), at) for word in words for at in range(len(said)))


#: Words after which a text names who did something ("by a parent", "door de vader")
_BY = frozenset({"by", "door"})


def _said_in(text: Any, phrases: Any) -> Any:
    """The one phrase of a list a text holds as whole words (`said_in(_typed_before, ['a parent', 'de vader'])`),
    or, for a dict, what the phrase stands for (`{'insta': 'Instagram'}`); None when none is there.

    Why so careful: it fills a line of a summary from what a person typed first, so it must not guess.
    Two different phrases ("I visited the mother when the father shouted") give the one said right after
    "by" / "door", else None; the summary says where the value came from, so the person can correct it.
    """
    words = _words(text)
    table = phrases if isinstance(phrases, Mapping) else {phrase: phrase for phrase in phrases}
    found: dict[Any, bool] = {}
    for phrase, meant in table.items():
        wanted = _words(phrase)
        for at in range(len(words) - len(wanted) + 1):
            if _at(words, wanted, at):
                found[meant] = found.get(meant, False) or (at > 0 and words[at - 1] in _BY)
    if len(found) == 1:
        return next(iter(found))
    after_by = [meant for meant, by in found.items() if by]
    return after_by[0] if len(after_by) == 1 else None


def _told_date_in(text: Any, today: Any) -> dict[str, Any] | None:
    """The first day up to today a longer text names (`told_date_in(_typed_before, today)`):
    {typed, day}, to read it back instead of asking the date again; None without one."""
    found = past_date_in_text(str(text or ""), _as_date(today))
    return None if found is None else {"typed": found[0], "day": found[1].isoformat()}


def _years_between(a: Any, b: Any) -> int:
    """Whole years from a to b: someone born on `a` is this old on `b` (a birthday counts on its day)."""
    start, end = _as_date(a), _as_date(b)
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _past_date_in(text: Any, today: Any, lang: Any = "nl") -> str | None:
    """The date a typed text names (ISO), read as a date question about the past reads it
    (bot.dates.read_dates; a date without a year lies in the past), or None when it names none.

    For a text answer that may also be "later" (a child's date of birth in a letter): the flow
    can then say plainly when the date cannot be right, and ask again. (`date_in` reads a date
    to come, such as a meeting's.)
    """
    if text is None:
        return None
    found = read_dates(str(text), _as_date(today), str(lang), "past")
    return found[0].isoformat() if found else None


def _past_dates_in(text: Any, today: Any, lang: Any = "nl") -> list[str] | None:
    """The dates, in typed order, of a text naming two or more days up to today ("12-5-2016 en 3-9-2019");
    None when it names fewer than two, or a part is not exactly one such day.

    Why: a letter about two children said "geboren op 12 mei 2016" for both (try-out 33). Each date
    is read as `past_date_in` reads one; a part that is not one clear past date makes the whole answer
    None, so the flow asks again instead of writing a wrong fact.
    """
    if text is None:
        return None
    parts = items(str(text))  # what stands between two dates typed for two children: bot/clauses.py
    found = [read_dates(part, _as_date(today), str(lang), "past") for part in parts]
    if len(parts) < 2 or any(len(dates) != 1 or dates[0] > _as_date(today) for dates in found):
        return None
    return [dates[0].isoformat() for dates in found]


def _add_minutes(moment: Any, minutes: Any) -> str:
    """An ISO date-time plus minutes (for check-in timers): `add_minutes(now, 45)`."""
    start = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return (start + timedelta(minutes=float(minutes))).isoformat(timespec="minutes")


#: Functions every expression may call. `deadline` is added by the flow set,
#: because it reads the directory.
BASE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "add": _add,
    "days_between": _days_between,
    "years_between": _years_between,
    "past_date_in": _past_date_in,
    "past_dates_in": _past_dates_in,
    "add_minutes": _add_minutes,
    "len": len,
    "lower": lambda s: str(s).lower(),
    "str": str,
    "int": int,
    "known": _known,
    "without": _without,
    "date_in": _date_in,
    "yearless_date_in": _yearless_date_in,
    "told_date_in": _told_date_in,
    "any_word_in": any_word_in,
    "said_in": _said_in,
    "proper_name": _proper_name,
    "nothing": _nothing,
    "no_one": _no_one,
    "english": lambda text: text is not None and looks_english(str(text)),
}
#: Functions the flow set adds because they read the directory's deadlines:
#: `deadline('entry', 'rule', start)` is the last day (ISO); `deadline_term(...)` is that day
#: with how it was reached ({entry, rule, start, last_day, days_left}), for the texts that
#: show a person the rule, the start date, the last day and the days left.
DEADLINE_FUNCTIONS = frozenset({"deadline", "deadline_term"})
#: Functions that read the flow set's data: the deadlines, and `municipality_website(name)`,
#: a municipality's own site from the government register ("" when unknown).
DATA_FUNCTIONS = DEADLINE_FUNCTIONS | {"municipality_website"}
#: Names that are always defined. `desk_available` is a fact about the bot the core supplies
#: each turn (TurnContext): true when a safety desk is set up, so a report reaches people.
#: `_typed_before` is what the person typed first (a story at a menu, or the message that opened the
#: safety flow), kept by the engine until a question that asks what happened takes it; else None.
#: `_told_ahead`: a day to come a message typed at a menu named (ISO; "de zitting is op 14 januari" said first),
#: for a later question to read back instead of asking again; else None.
#: `retention_days`: after how many days unused a conversation is deleted (the bot's setting).
BUILTIN_NAMES = frozenset({"today", "now", "lang", "desk_available", "_typed_before", "_also_told", "_told_ahead",
                           "retention_days",
                           "True", "False", "None", "true", "false"})


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    tree: ast.AST
    names: frozenset[str]
    calls: frozenset[str]


def parse(source: str) -> Expression:
    """Parse once; raise ExpressionError with a moderator-readable reason."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"this is not a valid expression: {exc.msg}") from exc
    calls = frozenset(
        node.func.id for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    )
    names = frozenset(
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
    ) - calls
    return Expression(source, tree.body, names, calls)


def deadline_refs(expr: Expression) -> list[tuple[str, str]]:
    """(entry, rule) of every deadline call an expression names literally (the checker, graphs)."""
    refs = []
    for node in ast.walk(expr.tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DEADLINE_FUNCTIONS
                and len(node.args) >= 2 and all(isinstance(a, ast.Constant) for a in node.args[:2])):
            first, second = node.args[0], node.args[1]
            assert isinstance(first, ast.Constant) and isinstance(second, ast.Constant)
            refs.append((str(first.value), str(second.value)))
    return refs


def evaluate(
    expr: Expression,
    variables: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]],
) -> Any:
    """Evaluate with unknown variables as None (a flow may branch before a value is asked)."""
    names = {name: variables.get(name) for name in expr.names}
    names.update(true=True, false=False)
    evaluator = _BoundedEval(Budget(ExpressionBudgetExceeded), names, dict(functions))
    try:
        return evaluator.eval(expr.source, previously_parsed=expr.tree)
    except ExpressionError:
        raise
    except Exception as exc:  # simpleeval raises many kinds; all mean "cannot evaluate"
        raise ExpressionError(f"{expr.source}: {exc}") from exc
