"""How much work one template render or one expression may do.

Why: moderators write templates (Jinja2) and expressions (simpleeval), and
both run inside the engine on the store's one thread. A loop over a billion
numbers, or `'x'.replace('x', 'xxxxxxxxxx')` chained nine times (a 1 GB
string in two seconds), would block that thread: nobody is answered and
"stop" hangs. So every render and every evaluation runs under three budgets:

- size: no text, list or mapping longer than MAX_LENGTH (simpleeval's own
  MAX_STRING_LENGTH) and no number longer than MAX_INT_BITS. Operations that
  multiply (`*`, `**`, `%`-formatting, `replace`, `join`, padding, `{:>N}`)
  are estimated before they run; everything else is checked after;
- work: at most MAX_STEPS loop turns, calls and expression nodes, counted,
  so the same input always gives the same outcome;
- time: MAX_SECONDS per render or evaluation, read from a monotonic clock
  (a duration, never the product's clock), as a backstop.

Going over raises BudgetExceeded (as the template or expression error the
engine already turns into its apology), and `check` tries every risky
template and every expression with sample values at load, so most of these
never go live. Never include user text in a message here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import simpleeval

from bot.errors import TurnError

#: Longest text the engine reads as one answer; longer input is refused politely. `check` tries
#: templates and expressions with answers this long, so what a user may type cannot overrun them.
MAX_INPUT = 4000
#: Longest text, list or mapping a template or expression may build.
MAX_LENGTH: int = simpleeval.MAX_STRING_LENGTH
#: Largest number (in bits, ~30,000 digits) an expression or template may build.
MAX_INT_BITS = 100_000
#: Loop turns, calls and expression nodes per render or evaluation.
MAX_STEPS = 100_000
#: Wall time per render or evaluation.
MAX_SECONDS = 1.0
#: How often (in steps) the clock is read.
_CLOCK_EVERY = 256
#: Calls whose number arguments are widths of the text they build (str methods, Jinja filters).
_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "do_center", "do_indent", "do_wordwrap"})
#: Numbers in a format: `%1000000s`, `{:>1000000}`, `%.1000000f`.
_FORMAT_NUMBER = re.compile(r"\d+")


class BudgetExceeded(TurnError):
    """A render or evaluation went over its budget (the message names which, never a value)."""


class Budget:
    """One render's or evaluation's allowance; `error` is the exception type its callers expect."""

    def __init__(self, error: type[BudgetExceeded] = BudgetExceeded) -> None:
        self.error = error
        self.steps = 0
        #: set at the first step: most renders take none, and pay nothing for the clock
        self.deadline = 0.0

    def step(self, count: int = 1) -> None:
        if not self.steps:
            self.deadline = time.monotonic() + MAX_SECONDS
        self.steps += count
        if self.steps > MAX_STEPS:
            raise self.error(f"more than {MAX_STEPS:,} steps (loop turns, calls)")
        if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise self.error(f"longer than {MAX_SECONDS:g} s")

    def sized(self, value: Any) -> Any:
        """`value` itself, when it is within the size budget."""
        if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
            if len(value) > MAX_LENGTH:
                raise self.error(f"a value longer than {MAX_LENGTH:,}")
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise self.error(f"a number longer than {MAX_INT_BITS:,} bits")
        return value

    def allow(self, estimate: int) -> None:
        """Refuse an operation before it runs when its result would be too long."""
        if estimate > MAX_LENGTH:
            raise self.error(f"a value longer than {MAX_LENGTH:,}")

    def each(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """Loop over `iterable`, counting each turn."""
        for item in iterable:
            self.step()
            yield item


_CURRENT: ContextVar[Budget | None] = ContextVar("wegwijzer_budget", default=None)


def current(error: type[BudgetExceeded] = BudgetExceeded) -> Budget:
    """The budget of the render in progress (a fresh one outside any)."""
    return _CURRENT.get() or Budget(error)


def begin(budget: Budget) -> Any:
    """Make `budget` the current one; returns the token for `end`."""
    return _CURRENT.set(budget)


def end(token: Any) -> None:
    _CURRENT.reset(token)


def active() -> Budget | None:
    return _CURRENT.get()


# ---------------------------------------------------------------- estimates


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else len(str(value))


def check_call(budget: Budget, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Estimate what a call to a string method, or to a Jinja filter like one, would build.

    `replace`, `join`, `expandtabs`, `format` and `indent` can build far more
    than they are given; padding and widths come as numbers. Anything else is
    checked after it ran (`sized`).
    """
    name = getattr(func, "__name__", "")
    owner = getattr(func, "__self__", None)
    numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
    if name in _PADDING and any(abs(n) > MAX_LENGTH for n in numbers):
        raise budget.error(f"a width above {MAX_LENGTH:,}")
    if name == "do_join":  # (eval_ctx, value, d="", attribute=None)
        items = list(args[1]) if len(args) > 1 and not isinstance(args[1], str) else []
        glue = args[2] if len(args) > 2 else kwargs.get("d", "")
        budget.allow(sum(_length(item) for item in items) + _length(glue) * max(0, len(items) - 1))
        return
    if name == "join" and isinstance(owner, str) and args:
        items = list(args[0]) if isinstance(args[0], list | tuple) else []
        budget.allow(sum(_length(item) for item in items) + len(owner) * max(0, len(items) - 1))
        return
    texts = [a for a in args if isinstance(a, str)]
    subject = owner if isinstance(owner, str) else (texts[0] if texts else None)
    rest = texts if isinstance(owner, str) else texts[1:]
    if subject is None:
        return
    if name in ("replace", "do_replace") and len(rest) >= 2:
        old, new = rest[0], rest[1]
        times = len(subject) + 1 if old == "" else subject.count(old)
        budget.allow(len(subject) + times * max(0, len(new) - len(old)))
    elif name == "expandtabs":
        budget.allow(len(subject) + subject.count("\t") * max([8, *numbers]))
    elif name in ("format", "format_map", "do_format"):
        check_format(budget, subject)
    elif name == "do_indent":  # (s, width=4, first=False, blank=False)
        width = args[1] if len(args) > 1 else kwargs.get("width", 4)
        prefix = len(width) if isinstance(width, str) else int(width)
        budget.allow(len(subject) + (subject.count("\n") + 1) * prefix)


def check_format(budget: Budget, pattern: str) -> None:
    """A format string whose widths or precisions alone would make too long a text."""
    if any(int(number) > MAX_LENGTH for number in _FORMAT_NUMBER.findall(pattern)):
        raise budget.error(f"a format width above {MAX_LENGTH:,}")


def check_binop(budget: Budget, operator: str, left: Any, right: Any) -> None:
    """`*` (repetition), `**` (powers) and `%` (formatting) estimated before they run."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | bytes | list | tuple) and isinstance(count, int):
                budget.allow(len(seq) * count)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
        if right > 0 and left.bit_length() * right > MAX_INT_BITS:
            raise budget.error(f"a number longer than {MAX_INT_BITS:,} bits")
    elif operator == "%" and isinstance(left, str):
        check_format(budget, left)
        values = right if isinstance(right, tuple) else (right,)
        if "*" in left and any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_LENGTH
                               for v in values):  # `%*s`: the width comes with the values
            raise budget.error(f"a format width above {MAX_LENGTH:,}")
