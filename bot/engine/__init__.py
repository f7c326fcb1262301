"""The engine: (flow set, state, event, context) -> (new state, actions).

Invariants, in the spirit of h11's state machine:
- Pure and synchronous. No I/O, no asyncio, no clock (`TurnContext` carries
  today's date), no platform types, no logging of what users type.
- Everything that decides what a user sees lives here, driven by the flow
  tables in a FlowSet, so it is tested with plain function calls and the
  diagrams come from the same tables.
- A returned state is None (the conversation is over and its answers are
  dropped) or points at a step that waits for the user (`choose`/`ask`) or
  at a pending system question. Every user event gets at least one message.
- Global interrupts (help, back, start over, language, stop/forget me, ask
  for a person) and the crisis check work at every step without flows
  naming them. A button from an old question is recognised by its token and
  never applied to the current question.

Theory of operation: `handle` gives the event to a `TurnBuilder`, which routes it
(command, text, choice, unsupported, timer); answering a question moves the position
and `run` walks the flow through non-waiting steps (say, branch, compute, show,
document, report, call, end ...) until the next question or the end; it is the one walker
(`until_question=False`: only the silent compute and branch steps).

The package, bottom up (each layer subclasses the one before):
- `turn`: `TurnContext`, `Turn`, `FlowError` (what goes in and out);
- `words`: reading commands, keywords, yes/no and typed buttons (also for the desk and moderation);
- `base`: a turn's working memory, rendering texts, moving, walking a flow;
- `steps`: step execution, one `case` per step kind (the preview runs it too);
- `system`: the engine's own questions as one table (`SystemQuestion`);
- `protect`, `answers`: answers per `ask` type, and texts checked for names (`validation`: the
  named rules a typed answer passes first, one table);
- `crisis`: the crisis hook on every typed text; `check`: answers to its check question;
- `interrupts`, `builder`: what works at every step, and routing an event.
"""

from __future__ import annotations

from jinja2 import TemplateError

from bot.engine.answers import text_bounds
from bot.engine.base import MAX_STEPS_PER_TURN, SHOWN_CARDS
from bot.engine.builder import TurnBuilder
from bot.engine.crisis import OPEN_CHECK
from bot.engine.protect import LETTER_WARNS
from bot.engine.system import CRISIS_CHECK_TOKEN, PUBLIC_DRAFT, SYSTEM_TOKENS, WAY_OUT_AFTER, SystemQuestion
from bot.engine.turn import FlowError, Turn, TurnContext
from bot.engine.words import (
    COMMAND_TEXT,
    COMMANDS,
    HELP_WORDS,
    KEYWORDS,
    MAX_INPUT,
    NO,
    TYPED_DIGITS,
    YES,
    normalise,
    typed_number,
)
from bot.errors import TurnError
from bot.events import Edit, Event, HandOff, Send, Timer
from bot.flows.flowset import FlowSet
from bot.state import State

__all__ = [
    "COMMANDS", "COMMAND_TEXT", "CRISIS_CHECK_TOKEN", "HELP_WORDS", "KEYWORDS", "LETTER_WARNS",
    "MAX_INPUT", "MAX_STEPS_PER_TURN", "NO", "OPEN_CHECK", "PUBLIC_DRAFT", "SHOWN_CARDS", "SYSTEM_TOKENS",
    "TYPED_DIGITS", "WAY_OUT_AFTER", "YES", "FlowError", "SystemQuestion", "Turn", "TurnBuilder", "TurnContext",
    "handle", "normalise", "text_bounds", "typed_number",
]


def handle(fs: FlowSet, state: State | None, event: Event, ctx: TurnContext, *, owned: bool = False) -> Turn:
    """Run one event. Never raises for user input; a broken flow yields an apology.

    Only the engine's own errors (`TurnError`: a loop, an expression or render over budget)
    and a template that fails are answered here. Anything else (a `KeyError`, a `TypeError`)
    is a bug in the code: it is raised, so a test fails on it and the core logs it as a bug,
    instead of hiding it as an apology and a restart.

    `owned`: the caller hands the state over (the core's, just read from the store) and never
    looks at it again, so it is changed in place instead of copied first (a copy per turn).
    """
    if state is not None and not owned:
        state = state.copy()  # the caller's state is never changed
    run = TurnBuilder(fs, ctx)
    error = None
    try:
        run.dispatch(state, event)
    except (TurnError, TemplateError) as exc:
        where = f"{state.flow}.{state.step}" if state else "new conversation"
        error = f"{type(exc).__name__} at {where}"
        run.out.clear()
        run.say_key("sys.error")
        run.state = None
        run.begin(fs.entry_flow, fresh=True, lang=state.lang if state else None)
    # a turn always answers; a hand-off is answered by the desk feature (or its "nobody here")
    if not any(isinstance(a, Send | Edit | HandOff) for a in run.out) and not isinstance(event, Timer):
        run.say_key("sys.help")
    return Turn(run.state, run.out, run.stats, error, run.lang, stale=run.stale_press and error is None)
