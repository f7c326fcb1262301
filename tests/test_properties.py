"""Property-based tests: random conversations against EVERY shipped flow.

Each example starts one shipped flow the way a deep link does (`/start <flow id>`) and
then plays a random user: typed text (answers that fit the question, keywords, crisis
phrases, random unicode, empty, whitespace, over the length limit), buttons of the
current question, buttons of an older question (stale), random ids with random tokens,
commands (known and unknown), unsupported messages and timers. After every single turn:

- the engine did not raise and no flow failed at run time (`turn.error` is None);
- the new state validates: None, or its flow and step exist and the step waits for the
  user (choose/ask), or a system question is pending; every return point of the call
  stack exists; the language is one the flow set has; it survives to_json/from_json;
- the state handed in was not changed (the engine is pure);
- a user event got at least one message (Send or Edit); a question with buttons has a token;
- every flow start counted names a flow, every end counted is an end step of the flow it is counted for.

Example counts are moderate so the suite stays fast; a failure prints the shortest
sequence hypothesis found.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import load_flows
from bot.engine import COMMANDS, MAX_INPUT, TurnContext, handle
from bot.events import (
    Action,
    CancelTimers,
    Choice,
    Command,
    Edit,
    Event,
    ForgetUser,
    HandOff,
    Schedule,
    Send,
    Text,
    Timer,
    Unsupported,
)
from bot.flows.flowset import FlowSet
from bot.flows.model import WAITING_KINDS
from bot.flows.problems import FlowSetInvalid
from bot.settings import Settings
from bot.state import State
from tests.conftest import NOW, TODAY

CTX = TurnContext(today=TODAY, now=NOW, default_lang="nl")


@functools.cache
def shipped() -> FlowSet:
    return load_flows(Settings(_env_file=None))  # type: ignore[call-arg]


def shipped_flow_ids() -> list[str]:
    try:
        return sorted(shipped().flows)
    except FlowSetInvalid as exc:  # then the test fails and says why, instead of testing nothing
        return [f"<the shipped flows do not load: {exc}>"]


# ---------------------------------------------------------------- what a user may type

#: Answers that fit a question of each `ask` type, so random walks get deep into flows.
FITTING = {
    "text": ["Mijn gezinsvoogd belt nooit terug.", "Anna de Vries", "De Jeugdzorg Noord", "ja"],
    "date": ["gisteren", "1 oktober 2026", "01-10-2026", "1/10", "vandaag", "3 maart 2027", "morgen"],
    "number": ["1", "2", "3", "12", "0", "-4", "2,5"],
    "yesno": ["ja", "nee", "yes", "no", "misschien"],
    "municipality": ["Utrecht", "Bergen", "Utrect", "'s-Hertogenbosch", "Weesp", "Amsterdm", "Nergenshuizen"],
}
WORDS = [
    "1", "2", "3", "9", "ja", "nee", "terug", "back", "opnieuw", "menu", "stop", "vergeet mij", "taal", "english",
    "nederlands", "hulp", "?", "mens", "mijn gegevens", "ik wil niet meer leven", "hij slaat mijn kind",
    "ik word bedreigd door een ouder", "ik maak hem af", "lach me dood", "/start", "/start klacht",
    "/start onbekend", "/taal en", "/vergeet", "/onzin", "/", "<b>vet</b> & {{ x }}", "{% raw %}", "Één café",
]
UNSUPPORTED = ["photo", "sticker", "voice", "video", "document", "location", "contact", "poll"]
COMMAND_NAMES = [*sorted(COMMANDS), "unknown", "x", "START", "/start", ""]


def typed_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(WORDS),
        st.text(max_size=40),  # any unicode, empty included
        st.sampled_from(["", " ", "\n\t ", "\u200b", "\U0001f600" * 3, "e\u0301" * 20]),
        st.sampled_from([MAX_INPUT, MAX_INPUT + 1, 5000]).map(lambda n: "x" * n),
        st.builds(lambda word, n: (word + " ") * n, st.sampled_from(["klacht", "ik", "dood"]), st.integers(1, 300)),
    )


class Walker:
    """One random user; remembers every question shown so it can press stale buttons."""

    def __init__(self, fs: FlowSet) -> None:
        self.fs = fs
        self.state: State | None = None
        self.questions: list[Send | Edit] = []
        self.stats: list[str] = []
        #: timer name -> the variables it carries when it fires
        self.armed: dict[str, tuple[tuple[str, Any], ...]] = {}

    def current_question(self) -> Send | Edit | None:
        return self.questions[-1] if self.questions else None

    def send(self, event: Event) -> list[Action]:
        before = self.state.to_json() if self.state else None
        turn = handle(self.fs, self.state, event, CTX)  # never raises: hypothesis reports it if it does
        assert turn.error is None, f"a flow failed at run time: {turn.error} after {event!r}"
        if before is not None:
            assert self.state is not None and self.state.to_json() == before, "the engine changed its input state"
        self.check_state(turn.state)
        if not isinstance(event, Timer):
            # a hand-off is answered by the desk feature in the core (tests/test_desk.py)
            assert any(isinstance(a, Send | Edit | HandOff) for a in turn.actions), f"no answer to {event!r}"
        for action in turn.actions:
            if isinstance(action, Send | Edit) and action.choices:
                assert action.token, f"a question with buttons has no token: {action.text!r}"
                self.questions.append(action)
        self.state = turn.state
        self.stats = turn.stats
        self.check_stats(turn.stats)
        self.track_timers(event, turn.actions)
        return turn.actions

    def track_timers(self, event: Event, actions: list[Action]) -> None:
        """Which timers are armed, kept the way bot/timers.py keeps them.

        One per name, carrying the flow's variables of the moment it was set, until it
        fires or is cancelled (`at: None`, CancelTimers, forget me). Starting over does
        not cancel it: it fires later into whatever the user is doing then.
        """
        if isinstance(event, Timer):
            self.armed.pop(event.name, None)
        values = {k: v for k, v in self.state.vars.items() if not k.startswith("_")} if self.state else {}
        for action in actions:
            if isinstance(action, Schedule):
                if action.at.strip() in ("None", ""):
                    self.armed.pop(action.name, None)
                else:
                    self.armed[action.name] = tuple(sorted(values.items()))
            elif isinstance(action, CancelTimers | ForgetUser):
                self.armed.clear()

    def check_stats(self, stats: list[str]) -> None:
        """Every start names a flow, and every end is counted for the flow that owns that end step."""
        for event in stats:
            kind, _, rest = event.partition(":")
            if kind == "start":
                assert rest in self.fs.flows, f"a start of an unknown flow: {event}"
            elif kind == "end":
                flow, _, where = rest.partition(":")
                owner, _, step_id = where.partition(".")
                step = self.fs.step(owner, step_id)
                assert owner == flow and step is not None and step.kind == "end", f"a wrong end: {event}"

    def check_state(self, state: State | None) -> None:
        if state is None:
            return
        step = self.fs.step(state.flow, state.step)
        waits = step is not None and step.kind in WAITING_KINDS
        assert waits or state.pending is not None, (
            f"the conversation stopped at {state.flow}.{state.step}, which does not wait and asks nothing")
        for flow, nxt in state.stack:
            assert self.fs.step(flow, nxt) is not None, f"return point {flow}.{nxt} does not exist"
        assert state.lang in self.fs.locales.languages
        assert State.from_json(state.to_json()) == state, "the state does not survive its JSON round trip"

    def fitting_answers(self) -> list[str]:
        if self.state is None:
            return []
        step = self.fs.step(self.state.flow, self.state.step)
        if step is None or step.kind != "ask" or step.type is None:
            return []
        return FITTING[step.type]


@st.composite
def next_event(draw: st.DrawFn, walker: Walker) -> Event:
    kind = draw(st.sampled_from(["press", "press", "press", "answer", "answer", "text", "stale", "random",
                                 "command", "other"]))
    question = walker.current_question()
    if kind == "press" and question is not None and question.choices:
        return Choice(draw(st.sampled_from([c.id for c in question.choices])), question.token)
    if kind == "answer" and walker.fitting_answers():
        return Text(draw(st.sampled_from(walker.fitting_answers())))
    if kind == "stale" and len(walker.questions) > 1:
        old = draw(st.sampled_from(walker.questions[:-1]))
        return Choice(draw(st.sampled_from([c.id for c in old.choices])), old.token)
    if kind == "random":
        tokens = [q.token for q in walker.questions] + ["_lang", "_forget", "_way", "_recover", "", "x" * 70]
        return Choice(draw(st.text(max_size=12) | st.sampled_from(["yes", "no", "c0", "c9", "none", "back"])),
                      draw(st.sampled_from(tokens) | st.text(max_size=12)))
    if kind == "command":
        return Command(draw(st.sampled_from(COMMAND_NAMES)),
                       draw(st.sampled_from(["", "en", "klacht", "veilig", "onbekend", "x" * 300])))
    if kind == "other":
        timers = [Timer(name, values) for name, values in sorted(walker.armed.items())] + [Timer("unknown")]
        return draw(st.sampled_from([*(Unsupported(k) for k in UNSUPPORTED), *timers]))
    return Text(draw(typed_texts()))


@pytest.mark.parametrize("flow_id", shipped_flow_ids())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_conversations_in_every_shipped_flow_keep_the_invariants(flow_id: str, data: st.DataObject) -> None:
    fs = shipped()
    walker = Walker(fs)
    walker.send(Command("start", flow_id))
    assert f"start:{flow_id}" in walker.stats
    for _ in range(data.draw(st.integers(min_value=1, max_value=30), label="turns")):
        walker.send(data.draw(next_event(walker)))


@pytest.mark.parametrize("flow_id", shipped_flow_ids())
def test_every_shipped_flow_starts_from_its_deep_link(flow_id: str) -> None:
    """The property test's starting point is real: `/start <flow id>` opens that flow."""
    walker = Walker(shipped())
    walker.send(Command("start", flow_id))
    assert walker.stats[:1] == [f"start:{flow_id}"]
    assert walker.state is None or walker.state.started == flow_id


@settings(max_examples=60, deadline=None)
@given(event=st.one_of(
    st.builds(Text, typed_texts()),
    st.builds(Choice, st.text(max_size=10), st.text(max_size=10)),
    st.builds(Command, st.sampled_from(COMMAND_NAMES), st.text(max_size=20)),
    st.builds(Unsupported, st.sampled_from(UNSUPPORTED)),
))
def test_a_first_message_of_any_kind_gets_an_answer_and_a_valid_state(event: Event) -> None:
    walker = Walker(shipped())
    walker.send(event)


# ---------------------------------------------------------------- State.copy

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)
NAMES = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    vars_=st.dictionaries(NAMES, JSON_VALUES, max_size=5),
    stack=st.lists(st.tuples(NAMES, NAMES), max_size=3),
    history=st.lists(st.tuples(NAMES, NAMES, st.lists(st.tuples(NAMES, NAMES), max_size=2).map(tuple),
                               st.none() | st.dictionaries(NAMES, JSON_VALUES, max_size=3)), max_size=4),
    offer=st.lists(st.text(max_size=10), max_size=3),
    pending=st.none() | st.sampled_from(["forget", "pick"]),
)
def test_state_copy_is_a_deep_copy(vars_, stack, history, offer, pending) -> None:
    state = State(flow="f", step="s", lang="nl", version="v", vars=vars_, stack=stack, history=history,
                  fails=2, pending=pending, offer=offer, started="g")
    before = state.to_json()
    clone = state.copy()
    assert clone == copy.deepcopy(state)
    # changing anything mutable in the copy leaves the original alone
    clone.vars["new"] = [1]
    for value in clone.vars.values():
        if isinstance(value, list):
            value.append("x")
        elif isinstance(value, dict):
            value["x"] = 1
    clone.stack.append(("a", "b"))
    clone.offer.append("x")
    for _f, _s, _k, snapshot in clone.history:
        if snapshot is not None:
            snapshot["x"] = 1
    clone.history.append(("a", "b", (), None))
    assert state.to_json() == before


def test_state_copy_knows_every_field() -> None:
    """A new State field must be added to State.copy() too (then to this list)."""
    assert [f.name for f in dataclasses.fields(State)] == [
        "flow", "step", "lang", "version", "vars", "stack", "history", "fails", "pending", "offer", "started"]
