"""What a moderator who is not a programmer reads from `check`, `graph`, `preview` and `test` (try-out 30).

A moderator broke a copy of the flows by hand: one line indented a space less, one `next`
misspelt. Each test makes the same mistake in a copy of the fixture set and asserts the lines
printed: plain words at file:line:col with the line to copy, the parser's words only after them;
"did you mean"; errors before warnings; one line for a hundred facts nobody re-checked yet; the
file named as the moderator typed its folder; a preview of one flow with its own examples; a
passing scenario run without log lines that look like trouble.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.flows.source import YamlSyntaxError, load_yaml
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, PYTHON, REPO, TODAY, bot_env
from tests.test_checker import M, edit, locate

FIXTURE = "flows/directory/fixture.yaml"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A moderator's copy of the fixture set: <tmp>/flows and <tmp>/locales."""
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    shutil.copytree(FIXTURE_LOCALES, tmp_path / "locales")
    return tmp_path


def bot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PYTHON, "-m", "bot", *args], cwd=cwd, env=bot_env(), capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def check(copy: Path, *args: str) -> tuple[int, list[str]]:
    """`python -m bot check flows ...` in the copy, on a fixed day; the lines as printed (stderr, then stdout)."""
    done = bot(copy, "check", "flows", "--today", TODAY.isoformat(), *args)
    return done.returncode, (done.stderr + done.stdout).splitlines()


def line_number(copy: Path, needle: str, file: str = M) -> int:
    return int(locate(copy, file, needle).split(":")[1])


# ---------------------------------------------------------------- 14: YAML syntax in plain words


def test_a_line_indented_one_space_less_says_which_line_to_copy_and_the_parser_comes_last(copy):
    edit(copy, "        label: main.opt.deadline\n        next: deadline\n",
         "        label: main.opt.deadline\n       next: deadline\n")
    line = line_number(copy, "       next: deadline")
    status, lines = check(copy)
    assert status == 1
    assert lines[:3] == [
        f"flows/main.yaml:{line}:8: error[yaml-syntax]: line {line} is indented differently from the line above it "
        f"(7 spaces; line {line - 1} has 8), so it fits under no block above it",
        f"    fix: indent line {line} like line {line - 1} (`label: main.opt.deadline`): 8 spaces; "
        "lines of one block start in the same column",
        "    parser: while parsing a block collection: expected <block end>, but found '<block mapping start>'",
    ], "\n".join(lines)


#: (what the moderator typed instead, the text found at the reported place, words of the message, of the fix)
MISTAKES = {
    "a tab": ("    say: main.welcome\n", "\tsay: main.welcome\n", "\tsay",
              "a tab is used at the start of line", "replace the tab with spaces: indent line"),
    "a second colon in a text": ("    say: main.welcome\n", "    say: Let op: welkom\n", ": welkom",
                                 "has a second colon (`: `) after `say:`", 'quotes: `say: "Let op: welkom"`'),
    "a line indented more": ("    say: main.welcome\n    next: menu\n", "    say: main.welcome\n      next: menu\n",
                             "next: menu", "is indented more than the line above it (6 spaces; line",
                             "lines of one block start in the same column"),
    "a key without its colon": ("    say: main.welcome\n", "    say main.welcome\n", "say main.welcome",
                                "(`say main.welcome`) has no colon", "add the missing `:` after the key"),
    "a list item without its dash": ("      - id: deadline\n", "      id: deadline\n", "id: deadline",
                                     "starts in the column of the `- ` items above it", "start it with `- ` like line"),
    "text after the closing quote": ("    say: main.welcome\n", '    say: "main.welcome" erbij\n', "erbij",
                                     "has more text after the closing quote", "remove what comes after the closing"),
    "a text that starts with @": ("    say: main.welcome\n", "    say: @main.welcome\n", "@main",
                                  "starts with @, a character YAML keeps for itself",
                                  'put the whole text in quotes: `say: "@main.welcome"`'),
    "a quote not closed": ("    say: main.welcome\n", '    say: "main.welcome\n', '"main',
                           'the quote " opened here', 'close the text with a second "'),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_syntax_mistake_is_named_in_plain_words_at_its_place(copy, mistake):
    old, new, at, words, fix = MISTAKES[mistake]
    edit(copy, old, new)
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(copy / M, M)
    problem = caught.value
    assert str(problem.where) == locate(copy, M, at), problem
    assert words in problem.problem and fix in problem.fix, (problem.problem, problem.fix)
    # the parser's jargon is kept, but only as the technical line
    assert problem.detail and not any(jargon in problem.problem for jargon in ("<block", "while ", "scalar", "token"))


# ---------------------------------------------------------------- 15: a misspelt step name


def test_a_misspelt_next_suggests_the_step_and_the_steps_it_cut_off_are_not_to_be_deleted(copy):
    edit(copy, "    next: minor\n", "    next: minnor\n")
    status, lines = check(copy)
    assert status == 1
    where = locate(copy, M, "next: minnor")
    text = "\n".join(lines)
    assert lines[0] == f"{where}: error[unknown-next]: step `reckon` goes to `minnor`, which is not a step of flow `main`"
    assert lines[1].startswith("    fix: did you mean `minor`? (the other steps: "), text
    for step in ("minor", "young", "letter"):
        step_at = locate(copy, M, f"{step}:\n")
        at = text.index(f"{step_at}: error[unreachable-step]: no path from `start` leads to "
                        f"step `{step}`: this follows from the error above (`minnor` at line {where.split(':')[1]}, "
                        "probably meant `minor`); fix that first\n"
                        f"    fix: do not delete this step: correct `minnor` at {where} and it is reached again")
        assert at > text.index("error[unknown-next]")
    assert "delete it" not in text


def test_a_next_like_no_step_lists_the_steps_and_still_never_says_delete(copy):
    edit(copy, "    next: minor\n", "    next: zzzz\n")
    status, lines = check(copy)
    assert status == 1
    text = "\n".join(lines)
    assert lines[1].startswith("    fix: use one of: age, bye, checkin"), text
    where = locate(copy, M, "next: zzzz")
    assert (f"    fix: first fix `zzzz` at {where} (a name that is no step): if it was meant to lead here, this error "
            "goes too; otherwise point a `next` at this step") in lines
    assert "delete" not in text


# ---------------------------------------------------------------- 16: errors first, warnings summed up


def researched(entry_id: str) -> str:
    """A directory entry taken over from research and never checked at its source: a warning, not an error."""
    return (f"  {entry_id}:\n    kind: helpline\n    name: {{nl: Lijn {entry_id}, en: Line {entry_id}}}\n"
            f"    purpose: {{nl: Voor een test., en: For a test.}}\n    phone: \"0800-1111\"\n"
            f"    source: https://{entry_id}.example.org/over\n    researched: 2026-11-01\n    confidence: verified\n")


@pytest.fixture
def many_unchecked(copy: Path) -> Path:
    """fixture_court and four more entries nobody checked live: five `not-checked-live` warnings."""
    extra = "".join(researched(f"fixture_extra_{n}") for n in range(4))
    edit(copy, "  fixture_court:\n", extra + "  fixture_court:\n", file=FIXTURE)
    return copy


def test_errors_come_before_the_warnings_and_a_count_ends_it(many_unchecked):
    edit(many_unchecked, "    next: minor\n", "    next: minnor\n")
    status, lines = check(many_unchecked)
    assert status == 1
    kinds = [("error" if "error[" in line else "warning") for line in lines if "error[" in line or "warning[" in line]
    assert kinds.index("warning") == kinds.count("error") == 4 and "error" not in kinds[4:], "\n".join(lines)
    # five entries never checked at the source are one line, with a count and how to list them
    assert ("flows/directory: warning[not-checked-live]: 5 directory entries were never checked live at their source "
            "(their cards say \"not yet re-checked\"); list them with --list-unchecked") in lines
    assert sum("not-checked-live" in line for line in lines) == 1
    warnings = len([k for k in kinds if k == "warning"]) - 1 + 5  # the summary line stands for five
    assert lines[-1] == f"4 error(s); nothing was loaded. {warnings} warning(s) after the errors."


def test_errors_only_leaves_the_warnings_out(many_unchecked):
    edit(many_unchecked, "    next: minor\n", "    next: minnor\n")
    for flag in ("-q", "--errors-only"):
        status, lines = check(many_unchecked, flag)
        assert status == 1
        assert not any("warning[" in line for line in lines), "\n".join(lines)
        assert lines[-1].startswith("4 error(s); nothing was loaded. ")
        assert lines[-1].endswith(" warning(s) not shown (leave out -q to see them).")
    edit(many_unchecked, "    next: minnor\n", "    next: minor\n")
    status, lines = check(many_unchecked, "-q")
    assert status == 0 and len(lines) == 1 and lines[0].startswith("ok: 3 flows"), lines
    assert lines[0].endswith(" warning(s) (not shown: -q)")


def test_list_unchecked_names_every_entry_never_checked_at_its_source(many_unchecked):
    status, lines = check(many_unchecked, "--list-unchecked")
    assert status == 0
    named = sorted(line.split("`")[1] for line in lines if "warning[not-checked-live]" in line)
    assert named == ["fixture_court", *(f"fixture_extra_{n}" for n in range(4))]


# ---------------------------------------------------------------- 17: graph, preview, test


def test_graph_names_a_broken_file_as_check_does(copy):
    edit(copy, "        label: main.opt.deadline\n        next: deadline\n",
         "        label: main.opt.deadline\n       next: deadline\n")
    flows, locales = str(copy / "flows"), str(copy / "locales")
    checked = bot(REPO, "check", flows, "--today", TODAY.isoformat())
    graphed = bot(REPO, "graph", "--flows", flows, "--locales", locales, "--today", TODAY.isoformat())
    assert checked.returncode == graphed.returncode == 1
    first = checked.stderr.splitlines()[0]
    assert first.startswith(f"{flows}/main.yaml:"), first  # the path as given, not the live set's flows/main.yaml
    assert graphed.stderr.splitlines()[0] == first


def test_preview_of_one_flow_shows_the_example_values_of_that_flow_only(copy):
    done = bot(copy, "preview", "termijn", "--flows", "flows", "--locales", "locales", "--today", TODAY.isoformat())
    assert done.returncode == 0, done.stderr
    head = " ".join(done.stdout.split("\n── ", 1)[0].split())
    assert "Example values" in head and "start_date = " in head and "last_day = " in head, head
    for other in ("name = ", "what = ", "topic = ", "consent = ", "safe_now = "):  # set by main and safety only
        assert other not in head, head


REPORT_SCENARIO = """\
name: Melding zonder meldpunt
lang: nl
turns:
  - user: /start
    expect: ["Waarmee kan ik helpen?"]
  - press: Iets melden
    expect: ["Wat is er gebeurd?"]
  - user: Er werd geschreeuwd bij de balie
    expect: ["Mag ik dit doorsturen"]
  - user: ja
    report: ["Er werd geschreeuwd bij de balie"]
"""


def test_a_passing_scenario_run_prints_no_upgrade_lines_and_no_error_for_the_missing_desk(copy):
    scenario = copy / "scenarios" / "melding.yaml"
    scenario.parent.mkdir()
    scenario.write_text(REPORT_SCENARIO, encoding="utf-8")
    done = bot(copy, "test", "scenarios", "--flows", "flows", "--locales", "locales")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert done.stdout.splitlines()[-2:] == [
        "note: 1 report(s) went to no safety desk, as always in a scenario run (it has none); a scenario's "
        "`report:` lines check what a report says",
        "1 passed, 0 failed"]
    assert "database upgraded" not in output and "bot.desk.intake" not in output, output
    # a real error is not hidden: the fixture set has no desk texts, and the bot says so
    assert "ERROR bot.texts: text desk.user.no_desk cannot be shown" in output
