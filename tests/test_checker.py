"""`python -m bot check`: one broken file per error kind, reported where the moderator must look.

Each case copies the fixture flow set to a temporary directory, breaks one
thing, and runs both the command (as a moderator would) and the loader (as a
reload would). Both must name the same file:line:column, the error kind and
a fix, and the command must exit non-zero. Positions are found in the broken
file itself, so "line 12, column 5" below is the `next` a moderator typed.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest

from bot.flows.check import RULES, Draft, shown_entries
from bot.flows.loader import load_flowset, read_flowset
from bot.flows.problems import FlowSetInvalid
from bot.flows.source import load_yaml
from bot.phone import label_width
from tests import test_languages as languages
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, REPO, TODAY, bot_env

REPORTED = re.compile(
    r"^(?P<where>\S+:\d+:\d+): (?P<severity>error|warning)\[(?P<kind>[a-z-]+)\]: (?P<message>.*)\n    fix: (?P<fix>.+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Reported:
    where: str
    kind: str
    message: str
    fix: str


# ---------------------------------------------------------------- helpers


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A moderator's copy of the fixture set: <tmp>/flows and <tmp>/locales."""
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    shutil.copytree(FIXTURE_LOCALES, tmp_path / "locales")
    return tmp_path


def edit(project: Path, old: str, new: str, file: str = "flows/main.yaml") -> None:
    """Replace `old` (which must occur exactly once) in one file of the project."""
    path = project / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def locate(project: Path, file: str, needle: str, nth: int = 0) -> str:
    """file:line:column (1-based) of the nth occurrence of `needle`, as the checker writes it."""
    text = (project / file).read_text(encoding="utf-8")
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{file}:{line}:{column}"


def run_check(project: Path, today: date = TODAY) -> tuple[int, list[Reported], str]:
    """`python -m bot check flows --today ...`, run in the project as a moderator would.

    Always on a given day: a fact's age (and so the warnings) depends on the date."""
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows", "--today", today.isoformat()],
                          cwd=project, env=bot_env(),
                          capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    found = [Reported(m["where"], m["kind"], m["message"], m["fix"])
             for m in REPORTED.finditer(output) if m["severity"] == "error"]
    return done.returncode, found, output


def run_loader(project: Path) -> list[Reported]:
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(project / "flows", project / "locales", root=project, today=TODAY)
    return [Reported(str(p.where), p.kind, p.message, p.fix) for p in caught.value.problems if p.severity == "error"]


def assert_reported(project: Path, expected: list[tuple[str, ...]]) -> None:
    """The command and the loader report exactly these errors.

    Each is (file:line:col, kind, part of the message) or, with a fourth item,
    also a part of the fix the moderator is told.
    """
    status, by_command, output = run_check(project)
    by_loader = run_loader(project)
    assert status == 1, output
    for found in (by_command, by_loader):
        assert sorted((r.where, r.kind) for r in found) == sorted((w, k) for w, k, *_ in expected), output
        for where, kind, words, *fix in expected:
            [hit] = [r for r in found if (r.where, r.kind) == (where, kind) and words in r.message]
            assert len(hit.fix) > 10, f"no useful fix for {kind}: {hit.fix!r}"
            assert not fix or fix[0] in hit.fix, f"{kind}: {hit.fix!r}"
            assert "\n" not in hit.message, f"{kind}: the message is one line: {hit.message!r}"
    assert f"{len(expected)} error(s); nothing was loaded." in output
    if (project / "flows").is_dir():  # without flows there is nothing for the rules to read
        assert_each_rule_reports_its_own_kind(read(project))


def read(project: Path) -> Draft:
    """The project as the checker's rules see it (what `load_flowset` reads before they run)."""
    return read_flowset(project / "flows", project / "locales", root=project, today=TODAY).draft


def assert_each_rule_reports_its_own_kind(draft: Draft) -> None:
    """A problem's kind names the rule that found it: `error[unknown-next]` is rule `unknown-next`."""
    for rule in RULES:
        assert {problem.kind for problem in rule.check(draft)} <= {rule.name}, rule.name


# ---------------------------------------------------------------- one case per error kind

Case = Callable[[Path], list[tuple[str, ...]]]
M = "flows/main.yaml"
EN = "locales/en/main.yaml"


def yaml_syntax(p: Path):
    edit(p, "    say: main.welcome\n", "    say: main.welcome: x\n")
    return [(locate(p, M, ": x"), "yaml-syntax", "has a second colon (`: `) after `say:`",
             'put the whole text in quotes: `say: "main.welcome: x"`')]


def yaml_syntax_tab(p: Path):
    edit(p, "    say: main.welcome\n", "\tsay: main.welcome\n")
    return [(locate(p, M, "\tsay"), "yaml-syntax", "a tab is used at the start of line", "replace the tab with spaces")]


def yaml_syntax_unclosed_quote_in_a_locale(p: Path):
    # the quote runs to the end of the file: ruamel notices there; the moderator must look where it opened.
    # The file's texts are then unknown, not missing: one error, not one per text of the file.
    edit(p, "  wiped: I deleted everything.\n", '  wiped: "I deleted everything.\n', file=EN)
    end = len((p / EN).read_text().splitlines()) + 1
    return [(locate(p, EN, '"I deleted'), "yaml-syntax",
             f'the quote " opened here is never closed: the parser gave up at line {end}, column 1',
             'close the text with a second "')]


def yaml_syntax_unclosed_bracket_in_a_locale(p: Path):
    edit(p, "  young: You are under 18.\n", "  young: [You are under 18.\n", file=EN)
    return [(locate(p, EN, "[You"), "yaml-syntax", "the `[` opened here is never closed: the parser gave up at line",
             "close the list with `]`, or put the whole text in quotes")]


def yaml_syntax_in_the_words_of_every_directory_card(p: Path):
    # the card words are then unknown, not missing: no error per word
    edit(p, "    phone: Phone\n", "    phone: {Phone\n", file="locales/en/directory.yaml")
    return [(locate(p, "locales/en/directory.yaml", "{Phone"), "yaml-syntax", "the `{` opened here is never closed",
             "close it with `}`, or put the whole text in quotes")]


def yaml_syntax_unclosed_quote_closed_by_a_later_one(p: Path):
    # the next text's opening quote closes it, lines further on, where the parser then stops
    edit(p, "    then: continue\n", "    then: 'continue\n", file="flows/crisis.yaml")
    gave_up = locate(p, "flows/crisis.yaml", "\\b(ik wil").split(":")[1]
    return [(locate(p, "flows/crisis.yaml", "'continue"), "yaml-syntax",
             f"the quote ' opened here runs on to line {gave_up}, where the parser gave up",
             "a ' inside '...' is written ''")]


def yaml_tag_on_a_list_in_a_locale(p: Path):
    # a tag made the loader hand the checker a value it did not expect: a traceback, not an error
    edit(p, "  young: You are under 18.\n", "  young: !foo [You are under 18.]\n", file=EN)
    return [(locate(p, EN, "!foo"), "yaml-syntax", "`!foo` is a YAML tag", "remove the tag")]


def yaml_tag_python_object_in_a_flow(p: Path):
    edit(p, "    say: main.welcome\n", "    say: !!python/object:os.system {}\n")
    return [(locate(p, M, "!!python"), "yaml-syntax", "`!!python/object:os.system` is a YAML tag")]


def laughs(levels: int) -> str:
    """A "billion laughs": each level is ten aliases of the one before (10**levels values)."""
    lines = ["lol:", "  l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def yaml_aliases_that_expand_without_end(p: Path):
    (p / "locales/en/laughs.yaml").write_text(laughs(6), encoding="utf-8")
    # l4 is the first block past 100,000 values (111,111): the place to look
    return [(locate(p, "locales/en/laughs.yaml", "&l4"), "yaml-syntax",
             "expand to more than 100,000 values", "write the values out")]


def yaml_file_over_one_megabyte(p: Path):
    big = "# " + "x" * 98 + "\n"
    (p / "locales/en/big.yaml").write_text(big * 10_001, encoding="utf-8")
    return [("locales/en/big.yaml:1:1", "yaml-syntax", "a file here may be at most 1 MB", "split it")]


def schema_unknown_key(p: Path):
    edit(p, "    say: main.welcome\n", "    say: main.welcome\n    colour: red\n")
    return [(locate(p, M, "colour"), "schema", "`colour` is not a known key here")]


def schema_two_kinds(p: Path):
    edit(p, "    say: main.young\n", "    say: main.young\n    ask: main.ask.name\n")
    return [(locate(p, M, "young:"), "schema", "exactly one of")]


def schema_bad_type(p: Path):
    edit(p, "    type: date\n", "    type: datum\n")
    return [(locate(p, M, "type: datum"), "schema", "steps.when.type")]


def schema_key_of_another_kind(p: Path):
    edit(p, "    say: main.young\n", "    say: main.young\n    save: age\n")
    return [(locate(p, M, "young:\n    say"), "schema", "belong to an `ask` step only")]


def schema_wrong_key_inside_a_kind(p: Path):
    edit(p, "      filename: brief.txt\n", "      filename: brief.pdf\n")
    return [(locate(p, M, "filename: brief.pdf"), "schema", "steps.letter.document.filename")]


def schema_missing_save(p: Path):
    edit(p, "    save: what\n", "")
    return [(locate(p, M, "what:\n    ask"), "schema", "needs `type` and `save`")]


def duplicate_step(p: Path):
    (p / M).write_text((p / M).read_text() + "  welcome:\n    say: main.bye\n    next: menu\n")
    first, second = (locate(p, M, "  welcome:", nth=n).split(":")[1] for n in (0, 1))
    return [(locate(p, M, "welcome:", nth=1), "duplicate-id", f'duplicate key "welcome" at lines {first} and {second}',
             "delete one of the two or give it another name")]


def duplicate_option(p: Path):
    edit(p, "      - id: deadline\n", "      - id: letter\n")
    return [(locate(p, M, "id: letter", nth=1), "duplicate-id", "option id `letter` appears twice in step `menu`")]


def duplicate_flow(p: Path):
    shutil.copy(p / "flows/safety.yaml", p / "flows/aa_copy.yaml")
    return [(locate(p, "flows/safety.yaml", "flow: safety"), "duplicate-id",
             "flow id `safety` is also used by flows/aa_copy.yaml")]


def unknown_next(p: Path):
    edit(p, "    say: main.report.sent\n    next: more\n", "    say: main.report.sent\n    next: moore\n")
    return [(locate(p, M, "next: moore"), "unknown-next", "step `reported` goes to `moore`, which is not a step")]


def unknown_next_in_option(p: Path):
    edit(p, "        label: main.checkin.help\n        next: person\n",
         "        label: main.checkin.help\n        next: persoon\n")
    return [(locate(p, M, "next: persoon"), "unknown-next", "step `checkin` goes to `persoon`")]


def unknown_next_cuts_off_what_follows(p: Path):
    edit(p, "    next: minor\n", "    next: minnor\n")
    # the steps only `minor` led to are unreachable now: the checker says so, as following from the typo,
    # and never tells the moderator to delete them (try-out 30)
    return [(locate(p, M, "next: minnor"), "unknown-next", "goes to `minnor`", "did you mean `minor`?"),
            *[(locate(p, M, f"{step}:\n"), "unreachable-step", f"`{step}`: this follows from the error above",
               "do not delete this step") for step in ("minor", "young", "letter")]]


def unknown_start(p: Path):
    edit(p, "start: welcome\n", "start: welkom\n")
    # welcome is then reached by nothing: both are true and both are reported
    return [(locate(p, M, "start: welkom"), "unknown-next", "`start: welkom` names no step", "did you mean `welcome`?"),
            (locate(p, M, "welcome:"), "unreachable-step", "`welcome`", "do not delete this step")]


def unknown_flow(p: Path):
    edit(p, "    call: termijn\n", "    call: termijnen\n")
    return [(locate(p, M, "call: termijnen"), "unknown-flow", "calls flow `termijnen`, which does not exist")]


def unreachable_step(p: Path):
    (p / M).write_text((p / M).read_text() + "  orphan:\n    say: main.bye\n    next: menu\n")
    return [(locate(p, M, "orphan:"), "unreachable-step", "no path from `start` leads to step `orphan`")]


def dead_end_missing_next(p: Path):
    edit(p, "    say: main.young\n    next: letter\n", "    say: main.young\n")
    return [(locate(p, M, "young:"), "dead-end", "step `young` (say) has no `next`")]


def dead_end_branch_without_else(p: Path):
    edit(p, '      - if: "age < 18"\n        next: young\n      - else: true\n        next: letter\n',
         '      - if: "age < 18"\n        next: young\n      - if: "age >= 18"\n        next: letter\n')
    return [(locate(p, M, "branch:"), "dead-end", "branch `minor` has no `else` case")]


def dead_end_next_after_end(p: Path):
    edit(p, "    end: main.bye\n", "    end: main.bye\n    next: menu\n")
    return [(locate(p, M, "next: menu", nth=_count(p, M, "next: menu") - 1), "dead-end", "its `next` is never used")]


def _count(p: Path, file: str, needle: str) -> int:
    return (p / file).read_text().count(needle)


def missing_text_key(p: Path):
    edit(p, "  welcome: Welcome to the test bot.\n", "", file="locales/en/main.yaml")
    return [(locate(p, M, "say: main.welcome"), "missing-text-key", "text `main.welcome` has no `en` version")]


def missing_text_key_of_an_option(p: Path):
    edit(p, "    wipe: Alles wissen\n", "", file="locales/nl/main.yaml")
    return [(locate(p, M, "label: main.opt.wipe"), "missing-text-key", "text `main.opt.wipe` has no `nl` version")]


def duplicate_text_key_in_two_files(p: Path):
    (p / "locales/en/termijn.yaml").write_text((p / "locales/en/termijn.yaml").read_text() + "main:\n  bye: Bye.\n")
    return [(locate(p, "locales/en/termijn.yaml", "bye:"), "duplicate-text-key",
             f"`main.bye` is already defined at {locate(p, EN, 'bye:', nth=1)}",
             "a text key is written once per language: delete one of the two")]


def duplicate_text_key_in_one_file(p: Path):
    (p / EN).write_text((p / EN).read_text() + "  bye: Bye for now.\n")
    first, second = (locate(p, EN, f"  bye: {text}").split(":")[1] for text in ("Goodbye", "Bye for now"))
    return [(locate(p, EN, "bye: Bye for now"), "duplicate-text-key", f'duplicate key "bye" at lines {first} and {second}',
             "a text key is written once per language: delete one of the two")]


def locale_shape_a_number(p: Path):
    # the number is reported once; that `main.young` then has no text is not a second error
    edit(p, "  young: You are under 18.\n", "  young: 18\n", file=EN)
    return [(locate(p, EN, "young:"), "locale-shape", "`main.young` is a number, not a text",
             'put the text in quotes: `young: "18"`')]


def locale_shape_an_empty_text(p: Path):
    edit(p, "  young: You are under 18.\n", "  young:\n", file=EN)
    return [(locate(p, EN, "young:"), "locale-shape", "`main.young` is empty, not a text",
             "write the text after `young:`")]


def locale_shape_a_word_list_with_what_is_no_phrase(p: Path):
    """A word list is a YAML list, one phrase a line: each slip is reported at its own line, the rest is read."""
    intents = "locales/en/intents.yaml"
    (p / intents).write_text((p / intents).read_text() + (
        "  words:\n    deadline:\n      - deadline\n      - 113\n      - within # weeks\n"
        '      - "in # days"\n      -\n      - too late\n'))
    return [(locate(p, intents, "113"), "locale-shape", "`intents.words.deadline`, phrase 2, is a number or yes/no",
             '`- "113"`'),
            (locate(p, intents, "within"), "locale-shape", "phrase 3, is followed by a comment",
             'put the whole phrase in quotes (`- "within # weeks"`'),
            # an empty item: where its phrase belongs, just after the `-`
            (locate(p, intents, "-\n      - too late").removesuffix(":7") + ":8", "locale-shape", "phrase 5, is empty",
             "after `- `")]


def locale_shape_a_list_for_a_file(p: Path):
    (p / "locales/en/termijn.yaml").write_text("- Deadline\n- Which deadline?\n")
    return [("locales/en/termijn.yaml:1:1", "locale-shape", "a locale file is a mapping of keys to texts",
             "start with a name such as `termijn:`")]


def template_syntax_in_a_text_of_several_lines(p: Path):
    # line 2 of a `|-` text: the line the moderator must change, not the key above it
    edit(p, "{{ decision_date | date }}.", "{{ decision_date | date }.", file=EN)
    return [(locate(p, EN, "object to the decision"), "template-syntax", "`main.letter.body`: unexpected '}'",
             "write each placeholder as `{{ name }}`")]


def template_syntax_in_a_one_line_text(p: Path):
    edit(p, "    title: Letter from {{ name }}\n", "    title: Letter from {{ name\n", file=EN)
    return [(locate(p, EN, "Letter from"), "template-syntax", "`main.letter.title`: unexpected end of template",
             "two braces on both sides")]


def crisis_rules_a_wrong_value(p: Path):
    edit(p, "    then: continue\n", "    then: later\n", file="flows/crisis.yaml")
    return [(locate(p, "flows/crisis.yaml", "then: later"), "crisis-rules", "classes.despair.then:",
             "write one of: 'continue', 'pause' or 'safety'")]


def crisis_rules_a_broken_pattern(p: Path):
    edit(p, r"pattern: '\b(ik wil dood|i want to die)\b'", r"pattern: '\b(ik wil dood|i want to die\b'",
         file="flows/crisis.yaml")
    return [(locate(p, "flows/crisis.yaml", "pattern: '\\b(ik"), "crisis-rules",
             "despair rule 'wants_to_die': invalid regular expression", "close every ( and [")]


def crisis_model_missing(p: Path):
    # the model's texts are there (existing keys), only the model file is not
    edit(p, "priority:", "model: crisis/model.json\ncheck_no: crisis.despair\npriority:", file="flows/crisis.yaml")
    for name in ("despair", "threat"):
        edit(p, f"    reply: crisis.{name}\n", f"    reply: crisis.{name}\n    check: crisis.{name}\n",
             file="flows/crisis.yaml")
    return [(locate(p, "flows/crisis.yaml", "model: crisis/model.json"), "crisis-model",
             "the crisis model flows/crisis/model.json does not exist", "python -m bot crisis train")]


def directory_a_wrong_value(p: Path):
    # the entries are then unknown, not missing: no `unknown-directory-entry` for every use of them
    edit(p, '    phone: "0800-1234"\n', '    phone: "call us"\n', file="flows/directory/fixture.yaml")
    return [(locate(p, "flows/directory/fixture.yaml", '"call us"'), "directory", "is not a phone number",
             "the other entries in this file show forms that work")]


def missing_flows(p: Path):
    shutil.rmtree(p / "flows")
    return [("flows:1:1", "missing-flows", "the flows directory does not exist", "create the directory")]


def placeholder_mismatch(p: Path):
    edit(p, "    title: Letter from {{ name }}\n", "    title: Letter\n", file="locales/en/main.yaml")
    return [(locate(p, "locales/en/main.yaml", "title: Letter"), "placeholder-mismatch",
             "`main.letter.title` in `en` has different placeholders than in nl (missing: ['name']")]


def unknown_variable_in_condition(p: Path):
    edit(p, '      - if: "age < 18"\n', '      - if: "leeftijd < 18"\n')
    return [(locate(p, M, 'if: "leeftijd'), "unknown-variable", "`leeftijd` is used in `leeftijd < 18` but no step sets it")]


def unknown_variable_in_template(p: Path):
    edit(p, "  young: Je bent jonger dan 18.\n", "  young: Je bent {{ leeftijd }}.\n", file="locales/nl/main.yaml")
    edit(p, "  young: You are under 18.\n", "  young: You are {{ leeftijd }}.\n", file="locales/en/main.yaml")
    return [(locate(p, f"locales/{lang}/main.yaml", "young:"), "unknown-variable",
             "`main.young` uses `{{ leeftijd }}`, which no step sets") for lang in ("nl", "en")]


def table_named_like_a_variable(p: Path):
    # a word table is read by name, as a variable is: the name must say one thing
    edit(p, "timers:\n", "tables:\n  age:\n    - een ouder\ntimers:\n")
    return [(locate(p, M, "age:"), "table-name", "table `age`: a step or the bot sets a variable of that name",
             "give the table a name of its own")]


def unknown_directory_entry_in_show(p: Path):
    edit(p, "      - fixture_court\n", "      - fixture_rechtbank\n")
    return [(locate(p, M, "fixture_rechtbank"), "unknown-directory-entry", "`fixture_rechtbank` is not in the directory",
             "did you mean `fixture_court`?")]


def unknown_directory_entry_in_a_text(p: Path):
    for lang in ("nl", "en"):
        edit(p, "d.fixture_line.phone", "d.fixture_lijn.phone", file=f"locales/{lang}/main.yaml")
    return [(locate(p, f"locales/{lang}/main.yaml", "lines: \""), "unknown-directory-entry",
             f"`main.lines` ({lang}) uses `d.fixture_lijn`", "did you mean `fixture_line`?") for lang in ("nl", "en")]


def unknown_deadline(p: Path):
    edit(p, "'fixture_court', 'appeal'", "'fixture_court', 'hoger_beroep'")
    return [(locate(p, M, "last_day:"), "unknown-directory-entry", "deadline `fixture_court`/`hoger_beroep`")]


def bad_expression_syntax(p: Path):
    edit(p, '      - if: "age < 18"\n', '      - if: "age <"\n')
    return [(locate(p, M, 'if: "age <"'), "bad-expression", "not a valid expression")]


def bad_expression_unknown_function(p: Path):
    edit(p, '"add(decision_date, weeks=6)"', '"open(decision_date)"')
    return [(locate(p, M, "reply_by:"), "bad-expression", "`open()` is not a function flows can use")]


def over_budget_a_loop_of_a_billion_in_a_text(p: Path):
    # it once blocked the store thread: nobody was answered and "stop" hung
    edit(p, "  young: You are under 18.\n", '  young: "{% for i in range(10**9) %}x{% endfor %}"\n', file=EN)
    return [(locate(p, EN, "young:"), "over-budget", "`main.young` (en) goes over its budget with sample answers",
             "a loop at most 100,000 turns")]


def over_budget_a_chain_of_replaces_in_an_expression(p: Path):
    chain = "'x'" + ".replace('x','xxxxxxxxxx')" * 9  # a 1 GB string in two seconds, before
    edit(p, '"add(decision_date, weeks=6)"', f'"{chain}"')
    return [(locate(p, M, "reply_by:"), "over-budget", "goes over its budget with sample answers: a value longer than",
             "do not build texts by repeating or replacing")]


def id_too_long(p: Path):
    long_step = "checkin_after_the_home_visit"  # 28 bytes
    long_option = "i_would_like_help_from_a_person"  # 31 bytes: 28 + 1 + 31 + ... > 64 with ":"
    long_option += "_now_ok"
    edit(p, "  checkin: checkin\n", f"  checkin: {long_step}\n")
    edit(p, "  checkin:\n    choose:", f"  {long_step}:\n    choose:")
    edit(p, "      - id: help\n", f"      - id: {long_option}\n")
    assert len(f"{long_step}:{long_option}") > 64
    return [(locate(p, M, f"id: {long_option}"), "id-too-long", "longer than Telegram's 64 bytes")]


def typed_option_not_to_a_question(p: Path):
    edit(p, "        next: deadline\n      - id: report\n",
         "        typed: true\n        next: deadline\n      - id: report\n")
    edit(p, "        next: lines\n      - id: person\n", "        typed: true\n        next: lines\n      - id: person\n")
    return [(locate(p, M, "typed: true"), "typed-option", "is not an `ask` step", "point `next` at an `ask` step"),
            (locate(p, M, "typed: true", 1), "typed-option", "more than one option with `typed: true`")]


CASES: list[Case] = [
    yaml_syntax, yaml_syntax_tab, yaml_syntax_unclosed_quote_in_a_locale, yaml_syntax_unclosed_bracket_in_a_locale,
    yaml_syntax_unclosed_quote_closed_by_a_later_one, yaml_syntax_in_the_words_of_every_directory_card,
    yaml_tag_on_a_list_in_a_locale, yaml_tag_python_object_in_a_flow, yaml_aliases_that_expand_without_end,
    yaml_file_over_one_megabyte,
    schema_unknown_key, schema_two_kinds, schema_bad_type, schema_missing_save, schema_key_of_another_kind,
    schema_wrong_key_inside_a_kind,
    duplicate_step, duplicate_option, duplicate_flow,
    unknown_next, unknown_next_in_option, unknown_next_cuts_off_what_follows, unknown_start,
    unknown_flow,
    unreachable_step,
    dead_end_missing_next, dead_end_branch_without_else, dead_end_next_after_end,
    missing_text_key, missing_text_key_of_an_option,
    duplicate_text_key_in_two_files, duplicate_text_key_in_one_file,
    locale_shape_a_number, locale_shape_an_empty_text, locale_shape_a_list_for_a_file,
    locale_shape_a_word_list_with_what_is_no_phrase,
    template_syntax_in_a_text_of_several_lines, template_syntax_in_a_one_line_text,
    crisis_rules_a_wrong_value, crisis_rules_a_broken_pattern, crisis_model_missing,
    directory_a_wrong_value, missing_flows,
    placeholder_mismatch,
    unknown_variable_in_condition, unknown_variable_in_template, table_named_like_a_variable,
    unknown_directory_entry_in_show, unknown_directory_entry_in_a_text, unknown_deadline,
    bad_expression_syntax, bad_expression_unknown_function,
    id_too_long, typed_option_not_to_a_question,
    over_budget_a_loop_of_a_billion_in_a_text, over_budget_a_chain_of_replaces_in_an_expression,
]


@pytest.mark.parametrize("break_it", CASES, ids=[c.__name__ for c in CASES])
def test_a_broken_file_is_reported_with_file_line_column_kind_and_fix(project, break_it):
    expected = break_it(project)
    assert_reported(project, expected)


def kinds_in_code() -> dict[str, str]:
    """Every problem kind the code can report, with the module that names it.

    A kind is the second argument of a `Problem(...)`/`LocaleProblem(...)` (also
    either side of an `a if x else b`), a `kind="..."` passed on in a module that
    makes problems, or the default of a `kind` parameter there.
    """
    found: dict[str, str] = {}
    for file in sorted((REPO / "bot").rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        makers = [c for c in calls if isinstance(c.func, ast.Name) and c.func.id in ("Problem", "LocaleProblem")]
        if not makers:
            continue
        sources: list[ast.expr | None] = [
            c.args[1] if len(c.args) > 1 else next((k.value for k in c.keywords if k.arg == "kind"), None)
            for c in makers]
        sources += [k.value for c in calls for k in c.keywords if k.arg == "kind"]
        sources += [default for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                    for arg, default in zip(f.args.kwonlyargs, f.args.kw_defaults, strict=True) if arg.arg == "kind"]
        for source in sources:
            for node in ast.walk(source) if source is not None else ():
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.setdefault(node.value, str(file.relative_to(REPO)))
    return found


def test_every_problem_kind_of_the_checker_has_a_broken_file_test(tmp_path_factory):
    """Kinds are read from every module that makes problems; each must show up in a case above."""
    apart = {"missing-locales": test_a_missing_locales_directory_is_one_error_with_what_to_do,
             "stale-directory-entry": test_a_directory_entry_not_checked_for_a_year_is_a_warning_with_where_and_fix,
             "home-page-source": test_a_source_that_is_only_a_home_page_is_a_warning_with_where_and_fix,
             "secondary-source": test_a_source_on_a_site_that_is_not_a_primary_source_is_a_warning_with_where_and_fix,
             "not-checked-live": test_an_entry_never_checked_live_is_a_warning_with_where_and_fix,
             "label-too-wide": test_a_button_label_a_phone_would_cut_off_is_a_warning_at_the_text,
             "directory-language": languages.test_check_accepts_the_copy_and_says_the_directory_is_not_written_in_it,
             "markup": test_emphasis_that_breaks_the_one_markup_rule_is_a_warning_at_the_text,
             "unused-directory-entry": test_a_directory_entry_no_flow_shows_is_a_warning_at_the_entry,
             "atw-equated-days": test_days_equated_with_a_holiday_that_run_out_are_a_warning_with_where_and_fix}
    covered = set(apart)
    for case in CASES:
        project = tmp_path_factory.mktemp(case.__name__)
        shutil.copytree(FIXTURE_FLOWS, project / "flows")
        shutil.copytree(FIXTURE_LOCALES, project / "locales")
        covered.update(kind for _, kind, *_ in case(project))
    named = kinds_in_code()
    assert {"bot/flows/check.py", "bot/flows/loader.py", "bot/texts.py"} <= set(named.values()), named
    untested = {kind: module for kind, module in named.items() if kind not in covered}
    assert not untested, f"problem kinds without a broken-file test here: {untested}"


def test_a_missing_locales_directory_is_one_error_with_what_to_do(project):
    shutil.rmtree(project / "locales")
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows", "--locales", "locales",
                           "--today", TODAY.isoformat()], cwd=project,
                          env=bot_env(), capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    found = [Reported(m["where"], m["kind"], m["message"], m["fix"])
             for m in REPORTED.finditer(output) if m["severity"] == "error"]  # the directory's warnings apart
    by_loader = run_loader(project)
    for reported in (found, by_loader):
        assert [(r.where, r.kind) for r in reported] == [("locales:1:1", "missing-locales")], output
        assert "create it with one folder per language (locales/nl/, locales/en/)" in reported[0].fix
    assert "1 error(s); nothing was loaded." in output


def test_a_directory_entry_not_checked_for_a_year_is_a_warning_with_where_and_fix(project):
    file = "flows/directory/fixture.yaml"
    edit(project, "    checked: 2026-11-01\n    confidence: verified\n  fixture_court:",
         "    checked: 2025-10-01\n    confidence: verified\n  fixture_court:", file=file)
    status, _, output = run_check(project, today=date(2026, 11, 29))
    assert status == 0, output
    where = locate(project, file, "2025-10-01")
    assert (f"{where}: warning[stale-directory-entry]: `fixture_line` was last checked 424 days ago (2025-10-01)\n"
            "    fix: check the facts at the source and update `checked:`") in output


def test_days_equated_with_a_holiday_that_run_out_are_a_warning_with_where_and_fix(project):
    """A deadline the Algemene termijnenwet moves needs the days the Crown equated with a holiday,
    for next year too: without them a last day on such a day is not moved."""
    file = "flows/directory/fixture.yaml"
    edit(project, "        source: https://rechtbank.example.org/termijn\n",
         "        source: https://rechtbank.example.org/termijn\n        atw: true\n", file=file)
    status, _, output = run_check(project, today=date(2026, 11, 29))
    assert status == 0, output
    where = locate(project, file, "true", nth=_occurrences_before(project, file, "true", "atw: true"))
    assert (f"{where}: warning[atw-equated-days]: the days equated with a holiday for the Algemene termijnenwet "
            "(`atw_gelijkgestelde_dagen`) are not in the directory: a last day in 2027 may fall on one\n"
            "    fix: find the decree \"Besluit gelijkstelling van ... met een algemeen erkende feestdag\" for 2027") in output


def _occurrences_before(project: Path, file: str, needle: str, marker: str) -> int:
    """How often `needle` occurs before `marker` (so `locate` finds the one inside it)."""
    text = (project / file).read_text(encoding="utf-8")
    return text.count(needle, 0, text.index(marker) + len(marker) - len(needle))


def test_check_today_asks_what_will_be_stale_on_a_given_day(project):
    """A moderator asks on 1 March what will be stale then: the same file, another day."""
    file = "flows/directory/fixture.yaml"
    where = locate(project, file, "2026-11-01")
    checked = date(2026, 11, 1)
    _, _, fresh = run_check(project, today=checked + timedelta(days=365))
    assert f"{where}: warning[stale-directory-entry]" not in fresh, fresh
    _, _, stale = run_check(project, today=checked + timedelta(days=366))
    assert (f"{where}: warning[stale-directory-entry]: `fixture_line` was last checked 366 days ago "
            f"({checked.isoformat()})") in stale, stale


def test_check_today_with_a_wrong_date_is_one_line_and_exit_2(project):
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows", "--today", "1-3-2027"], cwd=project,
                          env=bot_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--today takes a date as YYYY-MM-DD, not '1-3-2027'" in done.stderr
    assert "Traceback" not in done.stderr


def warnings_of(output: str) -> list[Reported]:
    return [Reported(m["where"], m["kind"], m["message"], m["fix"])
            for m in REPORTED.finditer(output) if m["severity"] == "warning"]


def test_a_source_that_is_only_a_home_page_is_a_warning_with_where_and_fix(project):
    """fixture_court cites https://rechtbank.example.org: a site, not the page that states the fact."""
    file = "flows/directory/fixture.yaml"
    edit(project, "source: https://rechtbank.example.org/termijn", "source: https://rechtbank.example.org/", file=file)
    status, _, output = run_check(project)
    assert status == 0, output
    home = [w for w in warnings_of(output) if w.kind == "home-page-source"]
    assert home == [
        Reported(locate(project, file, "https://rechtbank.example.org/\n"), "home-page-source",
                 "`fixture_court`: the source of deadline `appeal` is only a home page (https://rechtbank.example.org/)",
                 "replace it with the page that states the fact (e.g. https://site.nl/path/to/page); "
                 "keep the home page only when no deeper page is known"),
        Reported(locate(project, file, "https://rechtbank.example.org\n    researched"), "home-page-source",
                 "`fixture_court`: its source is only a home page (https://rechtbank.example.org)",
                 "replace it with the page that states the fact (e.g. https://site.nl/path/to/page); "
                 "keep the home page only when no deeper page is known"),
    ], output
    # a page below the site is a real source: no warning
    edit(project, "source: https://rechtbank.example.org/\n", "source: https://rechtbank.example.org/termijn\n", file=file)
    edit(project, "source: https://rechtbank.example.org\n", "source: https://rechtbank.example.org/beroep\n", file=file)
    assert [w for w in warnings_of(run_check(project)[2]) if w.kind == "home-page-source"] == []


def test_a_source_on_a_site_that_is_not_a_primary_source_is_a_warning_with_where_and_fix(project):
    """A moderator lists news sites and law firms in secondary-sources.tsv; a fact cited from one is named."""
    sites = project / "flows/directory/secondary-sources.tsv"
    sites.write_text("# sites that repeat facts\nnieuws.example.org\ta news site\n"
                     "rechtbank.example.org/blog/\ta court's blog\n", encoding="utf-8")
    file = "flows/directory/fixture.yaml"
    assert [w for w in warnings_of(run_check(project)[2]) if w.kind == "secondary-source"] == []
    edit(project, "source: https://testlijn.example.org/over", "source: https://www.nieuws.example.org/2019/testlijn",
         file=file)
    edit(project, "source: https://rechtbank.example.org/termijn", "source: https://rechtbank.example.org/blog/termijn",
         file=file)
    status, _, output = run_check(project)
    assert status == 0, output
    fix = ("replace it with the body's own page, the law (wetten.overheid.nl, with the article) or a government page "
           "that states the same fact; if none is known, keep it, set confidence: unverified and say in "
           "confidence_note which official page to check (flows/directory/secondary-sources.tsv:{} lists this site)")
    assert [w for w in warnings_of(output) if w.kind == "secondary-source"] == [
        Reported(locate(project, file, "https://www.nieuws.example.org/2019/testlijn"), "secondary-source",
                 "`fixture_line`: its source is a news site, not the body itself, the law or a government page "
                 "(https://www.nieuws.example.org/2019/testlijn)", fix.format(2)),
        Reported(locate(project, file, "https://rechtbank.example.org/blog/termijn"), "secondary-source",
                 "`fixture_court`: the source of deadline `appeal` is a court's blog, not the body itself, the law "
                 "or a government page (https://rechtbank.example.org/blog/termijn)", fix.format(3)),
    ], output
    # the court's other pages are its own: only the listed part of the site is flagged
    edit(project, "source: https://rechtbank.example.org/blog/termijn", "source: https://rechtbank.example.org/termijn",
         file=file)
    assert [w.message.split("`")[1] for w in warnings_of(run_check(project)[2])
            if w.kind == "secondary-source"] == ["fixture_line"]


def test_a_line_of_the_secondary_sources_list_that_is_not_a_site_is_an_error_at_its_line(project):
    sites = project / "flows/directory/secondary-sources.tsv"
    sites.write_text("nieuws.example.org\ta news site\nhttps://blog.example.org\ta blog\n"
                     "geen tab hier\nnieuws.example.org\tagain\n", encoding="utf-8")
    status, found, output = run_check(project)
    assert status == 1, output
    file = "flows/directory/secondary-sources.tsv"
    assert [(r.where, r.kind, r.message) for r in found] == [
        (f"{file}:2:1", "directory", "'https://blog.example.org\\ta blog' is not a site and what it is"),
        (f"{file}:3:1", "directory", "'geen tab hier' is not a site and what it is"),
        (f"{file}:4:1", "directory", "nieuws.example.org is already listed on line 1"),
    ], output
    assert "write the site without https:// (e.g. nrc.nl or politie.nl/nieuws/), a tab, then what it is" in found[0].fix


def test_an_entry_never_checked_live_is_a_warning_with_where_and_fix(project):
    """fixture_court's facts were taken from research (`researched:`); fixture_line was checked live."""
    file = "flows/directory/fixture.yaml"
    status, _, output = run_check(project)
    assert status == 0, output
    never = [w for w in warnings_of(output) if w.kind == "not-checked-live"]
    assert never == [Reported(
        locate(project, file, "2026-11-01", nth=1), "not-checked-live",
        "`fixture_court` was never checked live: its facts were taken over from research on 2026-11-01",
        "open https://rechtbank.example.org, confirm every fact on the card, then write checked: <that date> "
        '(cards then say "checked on" instead of "not yet re-checked")')], output
    edit(project, "    researched: 2026-11-01\n", "    checked: 2026-11-20\n", file=file)  # after a live check
    assert [w for w in warnings_of(run_check(project)[2]) if w.kind == "not-checked-live"] == []


def test_several_broken_things_are_all_reported_in_one_run(project):
    expected = unknown_next(project) + unreachable_step(project) + placeholder_mismatch(project)
    assert_reported(project, expected)


def test_the_unbroken_fixture_set_passes(project):
    status, found, output = run_check(project)
    assert status == 0, output
    assert found == []
    # the only warnings: fixture_court's provenance (see the two tests above)
    assert [(w.kind, w.message.split("`")[1]) for w in warnings_of(output)] == [
        ("home-page-source", "fixture_court"), ("not-checked-live", "fixture_court")]
    assert output.splitlines()[-1].startswith("ok: 3 flows, 2 languages, 2 directory entries")


def test_a_missing_flows_directory_is_an_error_not_a_crash(tmp_path):
    done = subprocess.run([PYTHON, "-m", "bot", "check", "nowhere"], cwd=tmp_path, env=bot_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "error[missing-flows]" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_flow_set_without_a_municipality_list_still_loads(project):
    for tsv in (project / "flows/directory").glob("*.tsv"):
        tsv.unlink()
    status, _, output = run_check(project)
    assert status == 0, output
    flows = load_flowset(project / "flows", project / "locales", root=project, today=TODAY)
    assert flows.municipalities is None


# ---------------------------------------------------------------- the checker's rules


def test_the_checker_is_a_list_of_named_rules_run_in_order():
    assert [rule.name for rule in RULES] == [
        "unknown-next", "unreachable-step", "dead-end", "unknown-flow", "duplicate-id", "id-too-long", "typed-option",
        "bad-expression", "unknown-variable", "table-name", "unknown-directory-entry", "missing-text-key", "locale-shape",
        "placeholder-mismatch", "label-too-wide", "markup", "over-budget", "unused-directory-entry"]


def test_one_rule_on_its_own_names_itself_and_the_file_line_column(project):
    [(where, _, _)] = unknown_next(project)
    [rule] = [rule for rule in RULES if rule.name == "unknown-next"]
    [problem] = rule.check(read(project))
    assert (str(problem.where), problem.kind) == (where, "unknown-next")
    assert problem.message == "step `reported` goes to `moore`, which is not a step of flow `main`"


UNUSED_ENTRY = """  fixture_unused:
    kind: helpline
    name: {nl: Vergeten lijn, en: Forgotten line}
    purpose: {nl: Voor niemand., en: For nobody.}
    phone: "0800-9999"
    source: https://vergeten.example.org/over
    checked: 2026-11-01
    confidence: verified
"""


def test_a_directory_entry_no_flow_shows_is_a_warning_at_the_entry(project):
    """A researched fact that no flow shows helps nobody and goes stale unnoticed (issue 16)."""
    file = "flows/directory/fixture.yaml"
    edit(project, "  fixture_court:\n", UNUSED_ENTRY + "  fixture_court:\n", file=file)
    status, _, output = run_check(project)
    assert status == 0, output  # a warning: the set still loads
    assert [w for w in warnings_of(output) if w.kind == "unused-directory-entry"] == [Reported(
        locate(project, file, "fixture_unused:"), "unused-directory-entry",
        "`fixture_unused` is shown by no flow: no `show:` step lists it, no text uses `d.fixture_unused`, "
        "no flow computes a deadline from it",
        "show it where it helps a person (`show: [fixture_unused]` in a flow, or "
        "`{{ d.fixture_unused.phone }}` in a text), or delete the entry")], output
    # a text that uses one of its facts shows it
    edit(project, "Call the test line {{ d.fixture_line.phone }}.",
         "Call the test line {{ d.fixture_line.phone }} or {{ d.fixture_unused.phone }}.",
         file="locales/en/safety.yaml")
    assert [w for w in warnings_of(run_check(project)[2]) if w.kind == "unused-directory-entry"] == []


def test_the_shipped_flows_reach_the_directory_in_every_way():
    """The measure sees a card, a fact in a text, a deadline and a glossary word."""
    shown = shown_entries(read(REPO))
    assert "centrum_seksueel_geweld" in shown["show"]
    assert "alarm_112" in shown["text"]
    assert "gemeente_bezwaar" in shown["deadline"]
    assert "ots" in shown["glossary"]


# ---------------------------------------------------------------- the shipped flows and the schema


def test_the_shipped_flows_pass_the_check():
    """On any day: no errors. Facts a year old are warnings (the moderator must re-check them), not failures."""
    done = subprocess.run([PYTHON, "-m", "bot", "check", "flows"], cwd=REPO, env=bot_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("ok: "), done.stdout
    assert "error[" not in done.stdout + done.stderr
    # every researched fact reaches a person (issue 16): no directory entry is shown by no flow
    assert "warning[unused-directory-entry]" not in done.stdout, done.stdout


@pytest.fixture(scope="module")
def schema() -> dict:
    done = subprocess.run([PYTHON, "-m", "bot", "schema"], cwd=REPO, env=bot_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def shipped_flow_files() -> list[Path]:
    return sorted(p for p in (REPO / "flows").glob("*.yaml") if p.name != "crisis.yaml")


def test_the_schema_is_a_json_schema_for_flow_files(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == "Wegwijzer flow"
    assert {"flow", "title", "start", "steps"} <= set(schema["required"])


@pytest.mark.parametrize("path", shipped_flow_files(), ids=lambda p: p.name)
def test_the_schema_accepts_every_shipped_flow_file(schema, path):
    data, _ = load_yaml(path)
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    assert set(data) <= set(schema["properties"])


def test_the_schema_accepts_the_fixture_flows_and_rejects_an_unknown_key(schema):
    for path in sorted(FIXTURE_FLOWS.glob("*.yaml")):
        if path.name == "crisis.yaml":
            continue
        data, _ = load_yaml(path)
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    data, _ = load_yaml(FIXTURE_FLOWS / "main.yaml")
    with pytest.raises(jsonschema.ValidationError, match="colour"):
        jsonschema.validate({**data, "colour": "red"}, schema, cls=jsonschema.Draft202012Validator)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "steps": {"x": {"say": "Not A Key"}}}, schema, cls=jsonschema.Draft202012Validator)


def test_schema_out_writes_the_file_editors_use(tmp_path, schema):
    out = tmp_path / "flow.schema.json"
    done = subprocess.run([PYTHON, "-m", "bot", "schema", "--out", str(out)], cwd=REPO, env=bot_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert json.loads(out.read_text()) == schema


def test_a_button_label_a_phone_would_cut_off_is_a_warning_at_the_text(project):
    """Telegram cuts a button at about 30 characters on a 360 px phone: the part that tells options apart is lost."""
    long = "Een brief schrijven aan de klachtencommissie van de GI"
    edit(project, "    letter: Een brief schrijven\n", f"    letter: {long}\n", file="locales/nl/main.yaml")
    status, _, output = run_check(project)
    assert status == 0, output  # a warning: the flows still work
    assert label_width(long) > 40
    where = locate(project, "locales/nl/main.yaml", f"letter: {long}")
    assert (f"{where}: warning[label-too-wide]: button `main.opt.letter` (nl) is about {label_width(long):.0f} characters wide; "
            "a phone shows about 30 and cuts the rest with …\n"
            "    fix: make the label short and distinct in its first 30 characters; "
            "put the full wording in the question's text") in output
    assert "`main.opt.letter` (en)" not in output  # "Write a letter" fits


def test_emphasis_that_breaks_the_one_markup_rule_is_a_warning_at_the_text(project):
    """Bold is a `**Kop**` line and lists are `- ` lines (bot/markup.py); anything else a moderator
    types to emphasise would reach the user as stray stars, a bullet of its own, or HTML shown as typed."""
    broken = "welcome: |-\n    Welkom bij de **testbot**.\n    • <b>Hulp</b> is gratis."
    edit(project, "  welcome: Welkom bij de testbot.\n", f"  {broken.replace(chr(10) + '    ', chr(10) + '      ')}\n",
         file="locales/nl/main.yaml")
    status, _, output = run_check(project)
    assert status == 0, output  # a warning: the text is still shown, as typed
    where = locate(project, "locales/nl/main.yaml", "welcome: |-")
    assert (f"{where}: warning[markup]: `main.welcome` (nl): `**` in `Welkom bij de **testbot**.` is not a heading line\n"
            "    fix: bold is only for a short heading on a line of its own: `**Kop**`") in output
    assert (f"{where}: warning[markup]: `main.welcome` (nl): the line `• <b>Hulp</b> is gratis.` starts with `•`\n"
            "    fix: start a list line with `- ` (every platform shows it as a list)") in output
    assert (f"{where}: warning[markup]: `main.welcome` (nl): `<b>` is HTML, which is shown as typed, not as formatting\n"
            "    fix: use `**Kop**` for a heading and `- ` for a list line; nothing else") in output
    assert "`main.welcome` (en)" not in output
