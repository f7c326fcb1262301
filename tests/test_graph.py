"""Flow graphs: drawn from the tables the engine runs on, for every shipped flow, in every format."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot import graph
from bot.app import load_flows
from bot.cli import main as cli_main
from bot.flows.flowset import FlowSet
from bot.flows.problems import FlowSetInvalid
from bot.settings import Settings
from tests.conftest import FIXTURE_FLOWS, FIXTURE_LOCALES, load_fixture_flows


@functools.cache
def shipped() -> FlowSet:
    """Loaded once per run: the shipped set takes most of a second to load and check."""
    return load_flows(Settings())


def shipped_flow_ids() -> list[str]:
    try:
        return sorted(shipped().flows)
    except FlowSetInvalid as exc:  # the test then fails and shows why, instead of silently testing nothing
        return [f"<the shipped flows do not load: {exc}>"]


def need_graphviz() -> str:
    found = shutil.which("dot")
    if found is None:
        pytest.fail("Graphviz `dot` is not installed, so SVG/PNG graphs cannot be tested: "
                    "install it (apt-get install graphviz; `make test` and .ci/run do this)")
    return found


# ---------------------------------------------------------------- well-formed output

_OPEN_CLOSE = "|".join(f"{re.escape(o)}[^\"]*{re.escape(c)}" for o, c, _ in graph.SHAPES.values())
MERMAID_LINE = re.compile(
    r"^(%% .*"
    r"|flowchart TD"
    rf"|    \w+({_OPEN_CLOSE})"
    r'|    \w+ (-->|-\.->)(\|"[^"]*"\|)? \w+'
    r"|    classDef \w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}"
    r"|    class [\w,]+ \w+"
    r'|    click \w+ "[^"]*")$'
)
DOT_LINE = re.compile(
    r'^(digraph "(\\.|[^"\\])*" \{'
    r'|    label="(\\.|[^"\\])*"; labelloc=t; rankdir=TB;'
    r"|    (node|edge) \[.*\];"
    r'|    \w+ \[label="(\\.|[^"\\])*", shape=\w+, fillcolor="#[0-9a-f]{6}"(, URL="[^"]*")?\];'
    r'|    \w+ -> \w+( \[(label="(\\.|[^"\\])*")?(, )?(style=dashed)?\])?;'
    r"|\})$"
)


def assert_mermaid(text: str) -> None:
    bad = [line for line in text.splitlines() if not MERMAID_LINE.match(line)]
    assert not bad, f"lines Mermaid would not read: {bad}"
    assert "class " not in text or " end\n" not in text, "`end` is a Mermaid keyword, not a class name"


def assert_dot(text: str) -> None:
    bad = [line for line in text.splitlines() if not DOT_LINE.match(line)]
    assert not bad, f"lines that are not our DOT: {bad}"


def mermaid_label(text: str) -> str:
    return graph._mermaid_text(text)


@pytest.mark.parametrize("flow_id", shipped_flow_ids())
def test_every_shipped_flow_draws_as_mermaid_and_dot(flow_id: str) -> None:
    fs = shipped()
    flow = fs.flows[flow_id]
    drawn = graph.flow_graph(fs, flow_id)
    mermaid = graph.to_mermaid(drawn)
    dot = graph.to_dot(drawn)

    assert_mermaid(mermaid)
    assert_dot(dot)
    for step_id, step in flow.steps.items():
        assert re.search(rf"^    s_{step_id}\W", mermaid, re.M), f"step {step_id} is missing"
        assert f"    s_{step_id} [label=\"{step_id} · {step.kind}" in dot
        for option in getattr(step, "options", []):
            label = fs.locales.texts["nl"][option.label].source.strip()
            assert f's_{step_id} -->|"{mermaid_label(label)}"| s_{option.next}' in mermaid
        for case in getattr(step, "branch", []):
            condition = "else" if case.else_ else f"if {case.if_}"
            assert f'-->|"{mermaid_label(condition)}"| s_{case.next}' in mermaid
        if step.kind == "call":
            assert f"s_{step_id} -.->|\"call\"| f_{step.call}" in mermaid
        for entry in getattr(step, "show", []):
            assert f's_{step_id} -.->|"shows"| d_{entry}' in mermaid
    if fs.crisis is not None:
        for name in fs.crisis_routes:
            assert name in mermaid


@pytest.mark.parametrize("flow_id", shipped_flow_ids())
def test_every_shipped_flow_draws_as_svg(flow_id: str) -> None:
    need_graphviz()
    svg = graph.render(graph.flow_graph(shipped(), flow_id), "svg").decode()
    assert "<svg" in svg and "</svg>" in svg
    for step_id in shipped().flows[flow_id].steps:
        assert f"{step_id} · " in svg


def test_dot_output_is_read_by_graphviz_for_every_shipped_flow() -> None:
    dot = need_graphviz()
    fs = shipped()
    for drawn in [graph.overview_graph(fs), *(graph.flow_graph(fs, f) for f in fs.flows)]:
        done = subprocess.run([dot, "-Tcanon"], input=graph.to_dot(drawn).encode(), capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode()


def test_the_graph_shows_choices_conditions_calls_directory_timers_and_crisis() -> None:
    fs = load_fixture_flows()
    main = graph.to_mermaid(graph.flow_graph(fs, "main"))
    dot = graph.to_dot(graph.flow_graph(fs, "main"))

    # steps, one shape per kind
    assert '    s_menu{{"menu · choose<br/>Waarmee kan ik helpen?"}}' in main
    assert '    s_name[/"name · ask<br/>Hoe heet je?<br/>text → name"/]' in main
    assert '    s_minor{"minor · branch"}' in main
    assert '    s_lines[("lines · show' in main
    assert '    s_letter>"letter · document<br/>brief.txt' in main
    assert '    s_deadline[["deadline · call<br/>runs flow termijn, then continues"]]' in main
    assert '    s_bye(["bye · end<br/>Tot ziens.<br/>the conversation ends"])' in main
    assert 's_menu [label="menu · choose\\nWaarmee kan ik helpen?", shape=hexagon' in dot
    # choices labelled with what the user reads, conditions with their expression
    assert '    s_menu -->|"Een brief schrijven"| s_name' in main
    assert '    s_minor -->|"if age #60; 18"| s_young' in main
    assert '    s_minor -->|"else"| s_letter' in main
    assert 's_minor -> s_young [label="if age < 18"];' in dot
    # calls into other flows, and where the flow goes on when the call returns
    assert '    s_deadline -.->|"call"| f_termijn' in main
    assert '    f_termijn -.->|"returns"| s_more' in main
    # directory entries: shown, named in a text, used for a deadline
    assert '    s_lines -.->|"shows"| d_fixture_line' in main
    assert '    s_lines -.->|"shows"| d_fixture_court' in main
    assert '    s_lines -.->|"d.fixture_line"| d_fixture_line' in main
    assert '    s_reckon -.->|"deadline appeal"| d_fixture_court' in main
    # timers
    assert '    s_visit -.->|"sets"| t_checkin' in main
    assert '    t_checkin -.->|"fires"| s_checkin' in main
    # crisis: which class interrupts any question, and where it leads
    assert '    crisis{{"crisis check<br/>on every typed message, at any question"}}' in main
    assert '    crisis -.->|"threat (crisis.threat)"| f_safety' in main
    assert '    crisis -.->|"despair (crisis.despair)"| crisis_resume' in main
    # inside the safety flow a threat does not jump again: the engine resumes the question
    safety = graph.to_mermaid(graph.flow_graph(fs, "safety"))
    assert "despair (crisis.despair)<br/>threat (crisis.threat, safety flow already running)" in safety


def test_the_overview_shows_entry_deeplinks_and_calls() -> None:
    fs = load_fixture_flows()
    overview = graph.to_mermaid(graph.overview_graph(fs, link=lambda f: f"{f}.md"))
    assert_mermaid(overview)
    assert "    entry --> f_main" in overview
    assert '    entry -.->|"/start deadline"| f_termijn' in overview
    assert '    f_main -->|"call at deadline"| f_termijn' in overview
    assert '    click f_termijn "termijn.md"' in overview


def test_labels_are_escaped_for_mermaid_and_dot() -> None:
    drawn = graph.Graph('a "title"')
    drawn.add(graph.Node("a", ('say "hi" | <b> & #1', "second line"), "say", "step"))
    drawn.add(graph.Node("b", ("back\\slash",), "end", "finish"))
    drawn.link("a", "b", 'x < 3 and y == "z"')
    mermaid, dot = graph.to_mermaid(drawn), graph.to_dot(drawn)
    assert_mermaid(mermaid)
    assert_dot(dot)
    assert '    a["say #34;hi#34; #124; #60;b#62; #38; #35;1<br/>second line"]' in mermaid
    assert '    a -->|"x #60; 3 and y == #34;z#34;"| b' in mermaid
    assert 'a [label="say \\"hi\\" | <b> & #1\\nsecond line"' in dot
    assert 'b [label="back\\\\slash"' in dot


def run_cli(*argv: str) -> int:
    return cli_main(list(argv))


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg", "png"])
def test_graph_all_writes_every_flow_and_an_index_page(tmp_path: Path, fmt: str) -> None:
    if fmt in ("svg", "png"):
        need_graphviz()
    out = tmp_path / fmt
    assert run_cli("graph", "--all", "--format", fmt, "--out", str(out),
                   "--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)) == 0
    ext = graph.EXTENSIONS[fmt]
    flows = ["main", "safety", "termijn"]
    for flow_id in [*flows, "overview"]:
        assert (out / f"{flow_id}.{ext}").stat().st_size > 0
    if fmt == "mermaid":
        index = (out / "index.md").read_text()
        for flow_id in flows:
            assert f"(`{flow_id}`)]({flow_id}.md)" in index
            page = (out / f"{flow_id}.md").read_text()
            assert "```mermaid\n%% " in page and "[All flows](index.md)" in page
        assert "```mermaid\n%% all flows" in index
    elif fmt == "dot":
        index = (out / "index.md").read_text()
        assert all(f"({flow_id}.dot)" in index for flow_id in flows)
    else:
        index = (out / "index.html").read_text()
        assert all(f'href="{flow_id}.{ext}"' in index for flow_id in flows)
        assert f"overview.{ext}" in index
    if fmt == "svg":
        assert 'xlink:href="termijn.svg"' in (out / "main.svg").read_text()  # a called flow links to its picture
    if fmt == "png":
        assert (out / "main.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_the_html_index_shows_code_as_code_and_escapes_the_rest(tmp_path: Path, fmt: str) -> None:
    """The page a moderator opens says what index.md says, without Markdown backticks or raw HTML."""
    need_graphviz()
    shutil.copytree(FIXTURE_FLOWS, tmp_path / "flows")
    termijn = tmp_path / "flows" / "termijn.yaml"
    termijn.write_text(termijn.read_text().replace(
        "deeplink: deadline\n", 'deeplink: deadline\ndescription: "Counts from `decision_date` <b>&</b> more"\n'))
    out = tmp_path / "out"
    assert run_cli("graph", "--all", "--format", fmt, "--out", str(out),
                   "--flows", str(tmp_path / "flows"), "--locales", str(FIXTURE_LOCALES)) == 0
    index = (out / "index.html").read_text()
    assert "`" not in index
    assert "<p>start <code>welcome</code>; " in index
    assert "<p>start <code>kind</code>; " in index
    assert "deep link <code>/start deadline</code>; called by main</p>" in index
    assert "<p>Counts from <code>decision_date</code> &lt;b&gt;&amp;&lt;/b&gt; more</p>" in index
    assert "<b>" not in index


def test_graph_all_for_the_shipped_flows(tmp_path: Path) -> None:
    need_graphviz()
    fs = shipped()
    for fmt in ("mermaid", "svg"):
        written = graph.write_all(fs, tmp_path / fmt, fmt)
        names = {p.name for p in written}
        assert {f"{f}.{graph.EXTENSIONS[fmt]}" for f in fs.flows} <= names


def test_graph_cli_prints_one_flow_and_refuses_what_it_cannot_do(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--flows", str(FIXTURE_FLOWS), "--locales", str(FIXTURE_LOCALES)]
    assert run_cli("graph", "termijn", *common) == 0
    assert capsys.readouterr().out.startswith("%% termijn: ")
    assert run_cli("graph", "termijn", "--format", "dot", *common) == 0
    assert capsys.readouterr().out.startswith('digraph "termijn: ')
    assert run_cli("graph", *common) == 0
    assert "%% all flows" in capsys.readouterr().out
    assert run_cli("graph", "nosuchflow", *common) == 2
    assert "there is no flow `nosuchflow`" in capsys.readouterr().err
    assert run_cli("graph", "main", "--format", "png", *common) == 2
    assert run_cli("graph", "--all", *common) == 2
    out = tmp_path / "main.svg"
    if shutil.which("dot"):
        assert run_cli("graph", "main", "--format", "svg", "--out", str(out), *common) == 0
        assert out.read_text().lstrip().startswith("<?xml")


def test_without_graphviz_svg_is_refused_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(graph.GraphError, match="apt-get install graphviz"):
        graph.render(graph.flow_graph(load_fixture_flows(), "main"), "svg")
