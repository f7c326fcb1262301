"""The engine's seams: one step walker for every caller, and the named rules an `ask` step runs.

Each is a pure refactor of what a person sees (the conversations in test_engine.py and the
scenarios check that); these tests pin the seams themselves, so a second walker or an unnamed
check does not grow back.
"""

from __future__ import annotations

import ast
from pathlib import Path

from bot.engine import TurnBuilder, TurnContext
from bot.flows.flowset import FlowSet
from bot.state import State
from tests.conftest import NOW, TODAY

ENGINE = Path(__file__).resolve().parent.parent / "bot" / "engine"


def builder_at(fs: FlowSet, step: str, **answers: object) -> TurnBuilder:
    run = TurnBuilder(fs, TurnContext(today=TODAY, now=NOW))
    run.state = State(flow="main", step=step, lang="nl", version=fs.version, started="main", vars=dict(answers))
    return run


def test_walking_only_silent_steps_computes_and_branches_and_stops_before_a_text(flowset):
    run = builder_at(flowset, "reckon", decision_date=TODAY.isoformat(), age=12)
    run.run(until_question=False)
    assert run.out == []  # nothing shown: the next question waits behind "go on now?"
    assert run.state is not None and run.state.step == "young"  # the branch taken, its text not yet said
    assert run.state.vars["reply_by"] > TODAY.isoformat()  # the compute ran


def test_walking_only_silent_steps_stops_at_a_step_that_sends_a_document(flowset):
    run = builder_at(flowset, "reckon", decision_date=TODAY.isoformat(), age=30)
    run.run(until_question=False)
    assert run.out == [] and run.state is not None and run.state.step == "letter"


def test_walking_on_from_there_says_the_text_and_asks_the_question(flowset):
    run = builder_at(flowset, "reckon", decision_date=TODAY.isoformat(), age=12)
    run.run(until_question=False)
    run.run()
    assert run.state is not None and run.state.step == "more"
    assert len(run.out) >= 3  # the text for the young, the letter, the question


def test_the_engine_walks_steps_in_one_loop_only():
    """`execute` is called by `run` alone: a second loop over steps (the crisis hook had one) would
    count and stop differently from the first."""
    callers = []
    for path in sorted(ENGINE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                calls = [c for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                         and c.func.attr == "execute"]
                if calls:
                    callers.append(f"{path.name}:{node.name}")
    assert callers == ["base.py:run"]
