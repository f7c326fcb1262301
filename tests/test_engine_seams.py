"""The engine's seams: one step walker for every caller, and the named rules an `ask` step runs.

Each is a pure refactor of what a person sees (the conversations in test_engine.py and the
scenarios check that); these tests pin the seams themselves, so a second walker or an unnamed
check does not grow back.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from bot.app import load_flows
from bot.crisis import CrisisDetector, CrisisRulesError
from bot.engine import TurnBuilder, TurnContext
from bot.engine.validation import RULES
from bot.expressions import BASE_FUNCTIONS, DONT_KNOW, NOT_THAT_I_KNOW
from bot.flows.flowset import FlowSet
from bot.flows.steps import AnswerRuleName, AskStep
from bot.settings import Settings
from bot.state import State
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, NOW, PYTHON, TODAY, bot_env, load_fixture_flows
from tests.test_engine import CONSENT, WHAT, Chat, at_menu

ENGINE = Path(__file__).resolve().parent.parent / "bot" / "engine"
CRISIS_RULES = Path(__file__).resolve().parent.parent / "flows" / "crisis.yaml"


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


# ---------------------------------------------------------------- named answer rules


def test_every_answer_rule_a_flow_may_name_is_in_the_registry_and_in_the_moderators_docs():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "FLOWS.md").read_text(encoding="utf-8")
    assert set(RULES) == set(get_args(AnswerRuleName))
    assert all(rule.name == name for name, rule in RULES.items())
    assert [name for name in RULES if f"| `{name}` |" not in docs] == []


def test_a_question_runs_the_rules_that_fit_it_unless_it_names_its_own():
    def ask(**fields: object) -> AskStep:
        return AskStep.model_validate({"ask": "x.ask", "type": "text", "save": "x", "next": "y", **fields})

    assert ask().answer_rules == ("not_a_story",)  # 1,000 characters: a story for a letter
    assert ask(max=200).answer_rules == ()  # a name, a topic
    assert ask(max=600, protect="public").answer_rules == ("not_a_story", "asks_the_bot")
    assert ask(max=120, protect="public").answer_rules == ("asks_the_bot",)
    assert ask(rules=[]).answer_rules == ()
    assert ask(max=80, rules=["not_a_story"]).answer_rules == ("not_a_story",)
    with pytest.raises(ValidationError, match="protect: public"):
        ask(rules=["asks_the_bot"])
    with pytest.raises(ValidationError, match="not_a_story"):
        ask(rules=["not_a_storey"])


def test_the_shipped_questions_run_the_rules_they_ran_before_they_had_names():
    fs = load_flows(Settings())
    story = fs.step("complaint_letter", "what")
    public = fs.step("inspreken", "general")
    topic = fs.step("inspreken", "topic")
    assert isinstance(story, AskStep) and story.answer_rules == ("not_a_story",)
    assert isinstance(public, AskStep) and public.answer_rules == ("not_a_story", "asks_the_bot")
    assert isinstance(topic, AskStep) and topic.answer_rules == ("asks_the_bot",)


def _what_happened(tmp_path: Path, rules: str | None) -> Chat:
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    main = tmp_path / "flows" / "main.yaml"
    if rules is not None:
        text = main.read_text(encoding="utf-8")
        main.write_text(text.replace("    save: what\n", f"    save: what\n    rules: {rules}\n"), encoding="utf-8")
    chat = Chat(load_fixture_flows(tmp_path / "flows"), TurnContext(today=TODAY, now=NOW))
    at_menu(chat)
    assert chat.press("report") == [WHAT]
    return chat


def test_weet_ik_niet_at_a_story_question_is_refused_kindly_by_its_default_rule(tmp_path):
    chat = _what_happened(tmp_path, None)
    assert chat.say("weet ik niet") == ["Weet je het niet precies? Schrijf wat je nog weet."]


def test_a_flow_that_turns_the_rules_off_keeps_weet_ik_niet_as_the_answer(tmp_path):
    chat = _what_happened(tmp_path, "[]")
    assert chat.say("weet ik niet") == [CONSENT]


def test_a_rule_a_flow_cannot_use_is_a_check_error_at_its_line(tmp_path):
    chat = _what_happened(tmp_path, "[not_a_story]")
    assert chat.say("ja") != [CONSENT]  # named, it runs as the default did
    (tmp_path / "locales").symlink_to(FIXTURE_LOCALES)
    main = tmp_path / "flows" / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("rules: [not_a_story]", "rules: [asks_the_bot]"),
                    encoding="utf-8")
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows", "--today", TODAY.isoformat()], cwd=tmp_path,
                          env=bot_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "flows/main.yaml:" in done.stdout + done.stderr and "protect: public" in done.stdout + done.stderr


# ---------------------------------------------------------------- one list of "I don't know"


@pytest.fixture(scope="module")
def crisis_rules() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(CRISIS_RULES.read_text(encoding="utf-8"))
    return data


def test_every_dont_know_the_engine_reads_is_an_answer_to_the_crisis_check_too(crisis_rules):
    """The crisis check reads "I don't know" from the list the engine reads (`{{words.dont_know}}`),
    so a "geen flauw idee" the buttons know is an answer at a question, not the model's to judge."""
    detector = CrisisDetector.from_data(crisis_rules)
    assert [w for w in sorted(DONT_KNOW | NOT_THAT_I_KNOW) if not detector.only_an_answer(w)] == []
    assert detector.only_an_answer("Geen flauw idee sorry")
    assert detector.only_an_answer("no idea when")
    assert detector.only_an_answer("Nee, niet dat ik weet.")


def test_a_list_the_crisis_rules_name_is_read_from_the_engines_words_and_an_unknown_one_is_an_error(crisis_rules):
    answers = [{"id": "only_lists", "pattern": "({{words.dont_know}})"}]
    detector = CrisisDetector.from_data({**crisis_rules, "answers": answers})
    assert detector.only_an_answer("I'm not sure") and detector.only_an_answer("weet ik niet")
    assert not detector.only_an_answer("ik weet het niet meer")  # not in the list: only a pattern adds it
    with pytest.raises(CrisisRulesError, match=r"answer 'typo': unknown word list \{\{words.dont_knw\}\}"):
        CrisisDetector.from_data({**crisis_rules, "answers": [{"id": "typo", "pattern": "{{words.dont_knw}}"}]})


def test_not_that_i_know_is_one_list_for_the_witness_question_and_the_crisis_check(crisis_rules):
    detector = CrisisDetector.from_data(crisis_rules)
    for said in sorted(NOT_THAT_I_KNOW):
        assert BASE_FUNCTIONS["no_one"](f"nee, {said}") and detector.only_an_answer(f"nee, {said}")
