"""What start-up remembers (parsed YAML, compiled crisis patterns): the same data, line numbers and verdicts as parsing anew."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.flows import source
from bot.flows.source import ParsedCache, YamlSyntaxError, load_yaml

FLOW = """\
flow: demo
title: demo.title
start: ask
steps:
  ask:
    ask: demo.question
    type: text
    save: answer
    next: done
  done:
    end: true
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ParsedCache:
    fresh = ParsedCache(tmp_path / "cache")
    monkeypatch.setattr(source, "CACHE", fresh)
    return fresh


def test_a_remembered_file_reads_the_same_with_its_positions(tmp_path: Path, cache: ParsedCache) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(FLOW, encoding="utf-8")
    parsed, parsed_at = load_yaml(file, "flows/demo.yaml")
    assert cache.folder is not None and len(list(cache.folder.glob("*.marshal"))) == 1
    remembered, remembered_at = load_yaml(file, "flows/demo.yaml")
    assert remembered == parsed
    assert remembered_at == parsed_at
    assert str(remembered_at.of(("steps", "ask", "type"))) == "flows/demo.yaml:7:5"
    assert str(remembered_at.value_of(("steps", "ask", "type"))) == "flows/demo.yaml:7:11"
    # the same bytes under another name point at that name
    _, elsewhere = load_yaml(file, "other/demo.yaml")
    assert str(elsewhere.of(("steps", "done"))) == "other/demo.yaml:10:3"


def test_an_edited_file_is_parsed_again(tmp_path: Path, cache: ParsedCache) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(FLOW, encoding="utf-8")
    load_yaml(file)
    file.write_text(FLOW.replace("type: text", "type: number"), encoding="utf-8")
    data, _ = load_yaml(file)
    assert data["steps"]["ask"]["type"] == "number"


def test_errors_are_never_remembered_and_keep_their_line(tmp_path: Path, cache: ParsedCache) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(FLOW + "  ask:\n    end: true\n", encoding="utf-8")  # `ask` written twice
    for _ in range(2):
        with pytest.raises(YamlSyntaxError) as caught:
            load_yaml(file, "flows/broken.yaml")
        assert caught.value.where.line == 12
    assert cache.folder is not None and not list(cache.folder.glob("*.marshal"))


def test_a_damaged_entry_is_a_miss(tmp_path: Path, cache: ParsedCache) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(FLOW, encoding="utf-8")
    parsed, _ = load_yaml(file)
    assert cache.folder is not None
    for entry in cache.folder.glob("*.marshal"):
        entry.write_bytes(b"not marshal data")
    again, at = load_yaml(file, "flows/demo.yaml")
    assert again == parsed
    assert str(at.of(("steps", "ask"))) == "flows/demo.yaml:5:3"


def test_a_folder_that_cannot_be_written_only_costs_the_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be", encoding="utf-8")
    monkeypatch.setattr(source, "CACHE", ParsedCache(blocked / "cache"))
    file = tmp_path / "demo.yaml"
    file.write_text(FLOW, encoding="utf-8")
    assert load_yaml(file)[0] == load_yaml(file)[0]


def test_remembered_crisis_rules_judge_every_message_as_freshly_compiled_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The crisis rules' compiled patterns come back from the cache and decide exactly the same."""
    from bot import crisis
    from bot.regexcache import RegexCache

    rules = Path(__file__).resolve().parent.parent / "flows" / "crisis.yaml"
    texts = [line.split("\t", 2)[2] for line in
             (Path(__file__).parent / "data" / "crisis_labelled.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    monkeypatch.setattr(crisis, "REGEXES", RegexCache(tmp_path / "regex.bin"))
    fresh = crisis.CrisisDetector.from_yaml_file(rules)
    assert (tmp_path / "regex.bin").exists()
    remembered_cache = RegexCache(tmp_path / "regex.bin")
    monkeypatch.setattr(crisis, "REGEXES", remembered_cache)
    remembered = crisis.CrisisDetector.from_yaml_file(rules)
    assert remembered_cache.table.fresh  # every pattern came from the file
    assert [remembered.assess(text) for text in texts] == [fresh.assess(text) for text in texts]
    assert any(fresh.assess(text) for text in texts)


def test_a_damaged_regex_cache_is_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import crisis
    from bot.regexcache import RegexCache

    (tmp_path / "regex.bin").write_bytes(b"\x00 not marshal")
    monkeypatch.setattr(crisis, "REGEXES", RegexCache(tmp_path / "regex.bin"))
    detector = crisis.CrisisDetector.from_yaml_file(Path(__file__).resolve().parent.parent / "flows" / "crisis.yaml")
    assert detector.assess("ik wil dood") is not None


def test_the_facts_of_a_text_come_back_from_disk_as_they_were_read(
        tmp_path: Path, cache: ParsedCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start-up parses each locale text once; at the next start an unchanged text is not parsed at all."""
    from bot import texts

    text = "Hallo {{ name }}, bel {{ d.veilig_thuis.phone }}.{% for r in routes %} {{ t('sys.help') }}{% endfor %}"
    first = texts.KnownFacts()
    read = first.get(text)
    assert read.placeholders == {"name", "d", "t", "routes"}
    assert read.directory_refs == {"veilig_thuis"} and read.text_refs == {"sys.help"}
    assert read.growing == read.placeholders  # it loops: `check` tries it with sample answers
    assert first.get("Gewoon woorden.").growing is None
    first.save()

    def never(source: str) -> texts.TextFacts:
        raise AssertionError("parsed again")

    monkeypatch.setattr(texts, "_read_facts", never)
    assert texts.KnownFacts().get(text) == read


def test_a_broken_text_is_never_remembered_and_keeps_its_line(tmp_path: Path, cache: ParsedCache) -> None:
    from bot.texts import load_locales

    nl = tmp_path / "locales" / "nl"
    nl.mkdir(parents=True)
    (nl / "demo.yaml").write_text("demo:\n  ok: Goed.\n  broken: Hallo {{ name\n", encoding="utf-8")
    for _ in range(2):
        _, problems = load_locales(tmp_path / "locales", tmp_path)
        assert [(p.kind, p.where.line) for p in problems] == [("template-syntax", 3)]
