"""The checker finds texts the code needs but the locales lack, and says where the code uses them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.flows.loader import load_flowset
from bot.flows.problems import FlowSetInvalid
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, REPO


def copy_fixture(tmp_path: Path) -> tuple[Path, Path]:
    flows = tmp_path / "flows"
    locales = tmp_path / "locales"
    shutil.copytree(FIXTURE_FLOWS, flows)
    shutil.copytree(FIXTURE_LOCALES, locales)
    return flows, locales


def drop_line(file: Path, starts: str) -> None:
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(starts)]
    assert len(kept) == len(lines) - 1, f"expected one line starting with {starts!r}"
    file.write_text("".join(kept), encoding="utf-8")


def test_a_missing_engine_text_is_an_error_at_the_line_that_uses_it(tmp_path):
    flows, locales = copy_fixture(tmp_path)
    drop_line(locales / "en" / "system.yaml", "  stale:")
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(flows, locales, root=tmp_path)
    [problem] = [p for p in caught.value.problems if "sys.stale" in p.message]
    assert problem.kind == "missing-text-key"
    assert "`en`" in problem.message
    assert problem.where.file.startswith("bot/engine/")
    line = (REPO / problem.where.file).read_text(encoding="utf-8").splitlines()[problem.where.line - 1]
    assert '"sys.stale"' in line
    assert problem.fix == "add `sys.stale` to locales/en/system.yaml (`nl` has it in locales/nl/system.yaml)"


def test_the_shipped_locales_have_every_text_the_code_uses():
    flowset = load_flowset(REPO / "flows", REPO / "locales", root=REPO)
    assert not [w for w in flowset.warnings if w.kind == "missing-text-key"]
    for key in ("sys.stale", "sys.flood", "desk.user.report_ref", "telegram.group_invite", "console.hint",
                "moderation.reload.failed", "moderation.change.steps_removed", "moderation.stats.title"):
        assert flowset.locales.has("nl", key) and flowset.locales.has("en", key), key


def test_the_names_the_moderators_answers_fill_in_count_only_for_their_own_texts(tmp_path):
    """`{{ version }}` is given to moderation.* texts by the code; in a flow's text no step sets it."""
    flows, locales = copy_fixture(tmp_path)
    for lang, said in (("nl", "Versie {{ version }}, {{ count }} keer."), ("en", "Version {{ version }}, {{ count }} times.")):
        (locales / lang / "moderation.yaml").write_text(f"moderation:\n  stats:\n    nothing: {said}\n", "utf-8")
    main = locales / "nl" / "main.yaml"
    main.write_text(main.read_text("utf-8").replace("  young: Je bent jonger dan 18.", "  young: Versie {{ version }}."),
                    "utf-8")
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(flows, locales, root=tmp_path)
    unknown = [p for p in caught.value.problems if p.kind == "unknown-variable"]
    assert [p.where.file for p in unknown] == ["locales/nl/main.yaml"]
    assert "`{{ version }}`" in unknown[0].message


def test_an_unreadable_file_of_engine_texts_is_one_error_not_one_per_text_the_code_uses(tmp_path):
    """The texts of a file that does not parse are unknown, not missing: the moderator sees the one real error."""
    flows, locales = copy_fixture(tmp_path)
    system = locales / "en" / "system.yaml"
    system.write_text(system.read_text(encoding="utf-8").replace("  hint: Test chat.", "  hint: 'Test chat."), "utf-8")
    with pytest.raises(FlowSetInvalid) as caught:
        load_flowset(flows, locales, root=tmp_path)
    [problem] = [p for p in caught.value.problems if p.severity == "error"]
    line = system.read_text(encoding="utf-8").splitlines().index("  hint: 'Test chat.") + 1
    assert (str(problem.where), problem.kind) == (f"locales/en/system.yaml:{line}:9", "yaml-syntax")
    assert problem.message.startswith("the quote ' opened here is never closed")
    assert problem.fix.startswith("close the text with a second '")
