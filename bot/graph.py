"""Flow diagrams drawn from the FlowSet the engine runs on, so they cannot drift from it.

Why: moderators reason about a flow as a picture (which answer leads where,
which facts a step shows, what a crisis message interrupts). The picture is
built from the loaded tables themselves: steps (one shape per kind), choices
(edges labelled with the option's Dutch label), branch conditions (edges
labelled with the expression), calls into other flows, directory entries a
step shows or a text names (`d.<id>`, `deadline(...)`), timers, and the
crisis check that can interrupt any question.

One neutral `Graph` is rendered two ways: Mermaid (paste into the README or a
wiki) and Graphviz DOT; SVG and PNG are DOT run through Graphviz's `dot`
when it is installed. Nothing here changes a flow or reads a user's data.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from bot.errors import ToolError
from bot.expressions import deadline_refs
from bot.flows.flowset import FlowSet
from bot.flows.steps import (
    AskStep,
    BranchStep,
    CallStep,
    ChooseStep,
    ComputeStep,
    DocumentStep,
    EndStep,
    ForgetStep,
    HandoffStep,
    ReportStep,
    SayStep,
    ScheduleStep,
    ShowStep,
    Step,
)
from bot.texts import directory_refs

FORMATS = ("mermaid", "dot", "svg", "png")
#: File name extension per format (mermaid stays pasteable as a plain .mmd file).
EXTENSIONS = {"mermaid": "mmd", "dot": "dot", "svg": "svg", "png": "png"}
#: Characters of a text shown inside a node before it is cut.
EXCERPT = 90
WRAP = 34

#: Shape per step kind: (mermaid open, mermaid close, graphviz shape).
SHAPES: dict[str, tuple[str, str, str]] = {
    "say": ('["', '"]', "box"),
    "choose": ('{{"', '"}}', "hexagon"),
    "ask": ('[/"', '"/]', "parallelogram"),
    "branch": ('{"', '"}', "diamond"),
    "compute": ('[\\"', '"\\]', "invtrapezium"),
    "show": ('[("', '")]', "cylinder"),
    "document": ('>"', '"]', "note"),
    "report": ('[/"', '"\\]', "trapezium"),
    "call": ('[["', '"]]', "component"),
    "end": ('(["', '"])', "oval"),
    "forget": ('((("', '")))', "doubleoctagon"),
    "handoff": ('[\\"', '"/]', "house"),
    "schedule": ('("', '")', "invhouse"),
    # not steps
    "flow": ('[["', '"]]', "component"),
    "entry": ('(["', '"])', "oval"),
    "directory": ('[("', '")]', "folder"),
    "timer": ('(("', '"))', "circle"),
    "crisis": ('{{"', '"}}', "octagon"),
    "resume": ('(["', '"])', "oval"),
}
#: Fill colours per node group (same in both renderings).
COLOURS = {
    "question": "#e8f0fe", "step": "#ffffff", "finish": "#e6f4ea", "flow": "#fef7e0",
    "directory": "#f3e8fd", "crisis": "#fce8e6", "entry": "#e6f4ea", "timer": "#f1f3f4",
}


class GraphError(ToolError):
    """A diagram could not be produced (Graphviz missing or failing); the message says what to do."""


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    lines: tuple[str, ...]
    shape: str  # a key of SHAPES
    group: str  # a key of COLOURS
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass(slots=True)
class Graph:
    title: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def link(self, source: str, target: str, label: str = "", *, dashed: bool = False) -> None:
        edge = Edge(source, target, label, dashed)
        if edge not in self.edges:
            self.edges.append(edge)


# ---------------------------------------------------------------- building


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", value)


def _nl(fs: FlowSet, key: str) -> str:
    """The Dutch source of a text (placeholders kept: moderators know them), or the key itself."""
    for lang in ("nl", *fs.locales.languages):
        entry = fs.locales.texts.get(lang, {}).get(key)
        if entry is not None:
            return entry.source.strip()
    return key


def _excerpt(text: str, limit: int = EXCERPT) -> list[str]:
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return textwrap.wrap(flat, WRAP) or [""]


def _question(fs: FlowSet, key: str) -> list[str]:
    """A question's own line: long texts open with an explanation and end with the question."""
    lines = [line for line in _nl(fs, key).splitlines() if line.strip()]
    if len(lines) > 1:
        return _excerpt("… " + lines[-1])
    return _excerpt(lines[0] if lines else key)


def _step_lines(fs: FlowSet, flow_id: str, step_id: str, step: Step) -> list[str]:
    head = f"{step_id} · {step.kind}"
    match step:
        case SayStep(say=key) | ForgetStep(forget=key) | HandoffStep(handoff=key):
            return [head, *_excerpt(_nl(fs, key))]
        case ChooseStep():
            return [head, *_question(fs, step.choose)]
        case AskStep():
            return [head, *_question(fs, step.ask), f"{step.type} → {step.save}"]
        case ComputeStep():
            return [head, *(f"{name} = {source}" for name, source in step.compute.items())]
        case ShowStep():
            intro = _excerpt(_nl(fs, step.text), 60) if step.text else []
            return [head, *intro, "shows: " + ", ".join(step.show)]
        case DocumentStep():
            return [head, step.document.filename, *_excerpt(_nl(fs, step.document.title), 60)]
        case ReportStep():
            return [head, f"to the safety desk: {step.report.kind}", *_excerpt(_nl(fs, step.report.title), 60)]
        case CallStep():
            return [head, f"runs flow {step.call}, then continues"]
        case EndStep():
            said = _excerpt(_nl(fs, step.end), 60) if isinstance(step.end, str) else []
            return [head, *said, "back to the calling flow" if callers(fs, flow_id) else "the conversation ends"]
        case ScheduleStep():
            return [head, f"timer {step.schedule.name} at {step.schedule.at}"]
        case BranchStep():
            return [head]
        case _:
            assert_never(step)


def callers(fs: FlowSet, flow_id: str) -> list[str]:
    """Flows with a `call` step into `flow_id` (its `end` then returns there)."""
    return sorted({f for f, other in fs.flows.items() for s in other.steps.values()
                   if isinstance(s, CallStep) and s.call == flow_id})


def _group(step: Step) -> str:
    match step:
        case ChooseStep() | AskStep():
            return "question"
        case EndStep() | ForgetStep():
            return "finish"  # not "end": that is a Mermaid keyword
        case (SayStep() | BranchStep() | ComputeStep() | ShowStep() | DocumentStep() | ReportStep() | CallStep()
              | HandoffStep() | ScheduleStep()):
            return "step"
        case _:
            assert_never(step)


def _deadline_refs(fs: FlowSet, source: str) -> Iterator[tuple[str, str]]:
    """(entry, rule) of every deadline('entry', 'rule', ...) an expression names literally."""
    yield from deadline_refs(fs.expression(source))


def _directory_node(fs: FlowSet, entry: str) -> Node:
    view = fs.directory_views.get("nl", {}).get(entry) or next(
        (views[entry] for views in fs.directory_views.values() if entry in views), {})
    lines = [f"directory: {entry}"]
    if view.get("name"):
        lines += _excerpt(str(view["name"]), 60)
    return Node(f"d_{_safe(entry)}", tuple(lines), "directory", "directory")


def _flow_node(fs: FlowSet, flow_id: str, link: Callable[[str], str | None] | None) -> Node:
    flow = fs.flows.get(flow_id)
    lines = [f"flow {flow_id}"]
    if flow is not None:
        lines += _excerpt(_nl(fs, flow.title), 60)
    else:
        lines.append("(not in this flow set)")
    return Node(f"f_{_safe(flow_id)}", tuple(lines), "flow", "flow", link(flow_id) if link and flow else None)


def crisis_node(fs: FlowSet, graph: Graph, *, current: str | None,
                link: Callable[[str], str | None] | None) -> None:
    """The crisis check: which classes can interrupt any typed answer, and where each leads.

    Mirrors the engine: a class whose `then` is `safety` jumps into the safety
    flow when that flow exists and the user is not in it already; every other
    case shows the class's reply and goes on: to the next question after a story
    typed as an answer (kept), else the same question again (with `then: pause`,
    after asking whether to go on now). Inside the
    safety flow, a `then: safety` class and one marked `quiet_in_safety_flow`
    is an answer, not a crisis (noted as "safety flow already running").
    """
    if fs.crisis is None or not fs.crisis_routes:
        return
    quiet: frozenset[str] = getattr(fs.crisis, "quiet_in_safety_flow", frozenset())
    lines = ["crisis check", "on every typed message, at any question"]
    if getattr(fs.crisis, "model", None) is not None:
        lines.append("rules + model; unsure: a yes/no check question first")
    crisis = graph.add(Node("crisis", tuple(lines), "crisis", "crisis"))
    destinations: dict[str, list[str]] = {}
    for name, (reply, then) in fs.crisis_routes.items():
        note = ""
        if then == "safety" and fs.safety_flow in fs.flows and current != fs.safety_flow:
            target = graph.add(_flow_node(fs, fs.safety_flow, link))
        else:
            target = graph.add(Node("crisis_resume", ("reply, then on: the next question (story kept) or the same",),
                                    "resume", "crisis"))
            if then == "safety":
                note = f", safety flow {'already running' if current == fs.safety_flow else 'missing'}"
            elif name in quiet and current == fs.safety_flow:
                note = ", safety flow already running"
            elif then == "pause":
                note = ", then asks: go on now?"
        destinations.setdefault(target, []).append(f"{name} ({reply}{note})")
    for target, names in destinations.items():
        graph.link(crisis, target, "\n".join(names), dashed=True)


def flow_graph(fs: FlowSet, flow_id: str, *, link: Callable[[str], str | None] | None = None) -> Graph:
    """One flow: its steps and everything they lead to. `link(flow)` gives other flows' diagram URLs."""
    flow = fs.flows[flow_id]
    graph = Graph(f"{flow_id}: {_nl(fs, flow.title)}")
    entry_lines = [f"start {flow_id}"]
    if flow.deeplink:
        entry_lines.append(f"/start {flow.deeplink}")
    entry = graph.add(Node("entry", tuple(entry_lines), "entry", "entry"))
    for step_id, step in flow.steps.items():
        graph.add(Node(f"s_{_safe(step_id)}", tuple(_step_lines(fs, flow_id, step_id, step)),
                       step.kind, _group(step)))
    graph.link(entry, f"s_{_safe(flow.start)}")
    for timer, target in flow.timers.items():
        node = graph.add(Node(f"t_{_safe(timer)}", (f"timer {timer}",), "timer", "timer"))
        graph.link(node, f"s_{_safe(target)}", "fires", dashed=True)

    for step_id, step in flow.steps.items():
        here = f"s_{_safe(step_id)}"
        _step_edges(fs, graph, here, step, link)
        for _, key in step.text_keys():
            for lang in fs.locales.languages:
                text = fs.locales.texts[lang].get(key)
                for ref in sorted(directory_refs(text.source)) if text else []:
                    graph.link(here, graph.add(_directory_node(fs, ref)), f"d.{ref}", dashed=True)
        for _, source in step.expressions():
            for entry_id, rule in _deadline_refs(fs, source):
                graph.link(here, graph.add(_directory_node(fs, entry_id)), f"deadline {rule}", dashed=True)
    crisis_node(fs, graph, current=flow_id, link=link)
    return graph


def _step_edges(fs: FlowSet, graph: Graph, here: str, step: Step,
                link: Callable[[str], str | None] | None) -> None:
    """The edges out of one step: answers, conditions, a call and its return, `next`, timers, cards."""
    if isinstance(step, CallStep):
        called = graph.add(_flow_node(fs, step.call, link))
        graph.link(here, called, "call", dashed=True)
        graph.link(called, f"s_{_safe(step.next)}" if step.next else here, "returns", dashed=True)
        return
    match step:
        case ChooseStep():
            for option in step.options:
                graph.link(here, f"s_{_safe(option.next)}", _nl(fs, option.label))
        case BranchStep():
            for case in step.branch:
                graph.link(here, f"s_{_safe(case.next)}", "else" if case.else_ else f"if {case.if_}")
        case _:
            pass  # no edges of their own before `next`
    if step.next:
        graph.link(here, f"s_{_safe(step.next)}")
    match step:
        case ScheduleStep():
            graph.link(here, graph.add(Node(f"t_{_safe(step.schedule.name)}", (f"timer {step.schedule.name}",),
                                            "timer", "timer")), "sets", dashed=True)
        case ShowStep():
            for entry_id in step.show:
                graph.link(here, graph.add(_directory_node(fs, entry_id)), "shows", dashed=True)
        case _:
            pass  # the other kinds point at nothing outside the flow


def overview_graph(fs: FlowSet, *, link: Callable[[str], str | None] | None = None) -> Graph:
    """Every flow as one node: where conversations start, which flow calls which, where a crisis leads."""
    graph = Graph("all flows")
    entry = graph.add(Node("entry", ("new conversation",), "entry", "entry"))
    for flow_id in sorted(fs.flows):
        node = graph.add(_flow_node(fs, flow_id, link))
        deeplink = fs.flows[flow_id].deeplink
        if flow_id == fs.entry_flow:
            graph.link(entry, node)
        if deeplink:
            graph.link(entry, node, f"/start {deeplink}", dashed=True)
    for flow_id, flow in sorted(fs.flows.items()):
        for step_id, step in flow.steps.items():
            if isinstance(step, CallStep):
                graph.link(f"f_{_safe(flow_id)}", graph.add(_flow_node(fs, step.call, link)), f"call at {step_id}")
    crisis_node(fs, graph, current=None, link=link)
    return graph


# ---------------------------------------------------------------- rendering


def _mermaid_text(text: str) -> str:
    """Text inside a quoted Mermaid label: entity codes for what its parser or HTML would read."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("<br/>")
        elif ch in '"#&<>|`':
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def to_mermaid(graph: Graph) -> str:
    lines = [f"%% {graph.title.replace(chr(10), ' ')}", "flowchart TD"]
    for node in graph.nodes.values():
        opening, closing, _ = SHAPES[node.shape]
        label = _mermaid_text("\n".join(node.lines))
        lines.append(f"    {node.id}{opening}{label}{closing}")
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    for group, colour in COLOURS.items():
        members = [n.id for n in graph.nodes.values() if n.group == group]
        if members:
            lines.append(f"    classDef {group} fill:{colour},stroke:#5f6368")
            lines.append(f"    class {','.join(members)} {group}")
    for node in graph.nodes.values():
        if node.url:
            lines.append(f'    click {node.id} "{_mermaid_text(node.url)}"')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: Graph) -> str:
    lines = [
        f'digraph "{_dot_text(graph.title)}" {{',
        f'    label="{_dot_text(graph.title)}"; labelloc=t; rankdir=TB;',
        '    node [fontname="Helvetica", fontsize=10, style=filled];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes.values():
        attrs = [f'label="{_dot_text(chr(10).join(node.lines))}"', f"shape={SHAPES[node.shape][2]}",
                 f'fillcolor="{COLOURS[node.group]}"']
        if node.url:
            attrs.append(f'URL="{_dot_text(node.url)}"')
        lines.append(f"    {node.id} [{', '.join(attrs)}];")
    for edge in graph.edges:
        attrs = []
        if edge.label:
            attrs.append(f'label="{_dot_text(edge.label)}"')
        if edge.dashed:
            attrs.append("style=dashed")
        lines.append(f"    {edge.source} -> {edge.target}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graphviz() -> str:
    """The path of Graphviz's `dot`, or a GraphError saying how to get it."""
    found = shutil.which("dot")
    if found is None:
        raise GraphError("Graphviz `dot` is not installed, so SVG/PNG cannot be drawn: install it "
                         "(e.g. `apt-get install graphviz`) or use --format mermaid or --format dot")
    return found


def render(graph: Graph, fmt: str) -> bytes:
    """The graph as bytes in one of FORMATS."""
    if fmt == "mermaid":
        return to_mermaid(graph).encode()
    if fmt == "dot":
        return to_dot(graph).encode()
    if fmt not in FORMATS:
        raise GraphError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    done = subprocess.run([graphviz(), f"-T{fmt}"], input=to_dot(graph).encode(),  # noqa: S603 - fixed argv, our own DOT
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise GraphError(f"Graphviz failed for {graph.title}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


# ---------------------------------------------------------------- all flows with an index


def write_all(fs: FlowSet, out: Path, fmt: str) -> list[Path]:
    """Every flow's diagram plus an overview and an index page linking them; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    ext = EXTENSIONS[fmt]
    page = "md" if fmt in ("mermaid", "dot") else "html"
    # In a rendered page a flow node links to that flow's own page or picture.
    target = "{}.md" if fmt == "mermaid" else f"{{}}.{ext}"

    def link(flow_id: str) -> str | None:
        return target.format(flow_id)

    written: list[Path] = []

    def write(name: str, data: bytes) -> None:
        path = out / name
        path.write_bytes(data)
        written.append(path)

    graphs = {flow_id: flow_graph(fs, flow_id, link=link) for flow_id in sorted(fs.flows)}
    overview = overview_graph(fs, link=link)
    for flow_id, graph in graphs.items():
        write(f"{flow_id}.{ext}", render(graph, fmt))
        if fmt == "mermaid":
            write(f"{flow_id}.md", _markdown_page(fs, flow_id, graph).encode())
    write(f"overview.{ext}", render(overview, fmt))
    if page == "md":
        write("index.md", _index_markdown(fs, overview, fmt).encode())
    else:
        write("index.html", _index_html(fs, fmt).encode())
    return written


def _summary(fs: FlowSet, flow_id: str) -> str:
    flow = fs.flows[flow_id]
    parts = [f"start `{flow.start}`", f"{len(flow.steps)} steps"]
    if flow.deeplink:
        parts.append(f"deep link `/start {flow.deeplink}`")
    calling = callers(fs, flow_id)
    if calling:
        parts.append("called by " + ", ".join(calling))
    return "; ".join(parts)


def _markdown_page(fs: FlowSet, flow_id: str, graph: Graph) -> str:
    flow = fs.flows[flow_id]
    return (f"# {_nl(fs, flow.title)} (`{flow_id}`)\n\n{flow.description}\n\n{_summary(fs, flow_id)}.\n"
            f"Flow set version {fs.version}. [All flows](index.md)\n\n```mermaid\n{to_mermaid(graph)}```\n")


def _index_markdown(fs: FlowSet, overview: Graph, fmt: str) -> str:
    lines = [f"# Flows (version {fs.version}, loaded {fs.loaded_at})", "",
             "Generated by `python -m bot graph --all` from the flow set the bot runs on.", ""]
    if fmt == "mermaid":
        lines += ["```mermaid", to_mermaid(overview).rstrip(), "```", ""]
    else:
        lines += ["Overview: [overview.dot](overview.dot)", ""]
    for flow_id in sorted(fs.flows):
        name = f"{flow_id}.md" if fmt == "mermaid" else f"{flow_id}.{EXTENSIONS[fmt]}"
        lines.append(f"- [{_nl(fs, fs.flows[flow_id].title)} (`{flow_id}`)]({name}): {_summary(fs, flow_id)}")
    return "\n".join(lines) + "\n"


def _html_inline(text: str) -> str:
    """Escaped HTML with Markdown's `code` spans as <code>: the page says what index.md says."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick is not Markdown code: show it as written
        return html.escape(text)
    return "".join(f"<code>{html.escape(part)}</code>" if i % 2 else html.escape(part)
                   for i, part in enumerate(parts))


def _index_html(fs: FlowSet, fmt: str) -> str:
    ext = EXTENSIONS[fmt]
    esc = html.escape
    items = []
    for flow_id in sorted(fs.flows):
        flow = fs.flows[flow_id]
        picture = (f'<object data="{flow_id}.svg" type="image/svg+xml"></object>' if fmt == "svg"
                   else f'<img src="{flow_id}.png" alt="{esc(flow_id)}">')
        items.append(f'<section id="{flow_id}"><h2><a href="{flow_id}.{ext}">{esc(_nl(fs, flow.title))}</a> '
                     f"<code>{flow_id}</code></h2><p>{_html_inline(flow.description)}</p>"
                     f"<p>{_html_inline(_summary(fs, flow_id))}</p>{picture}</section>")
    toc = "".join(f'<li><a href="#{f}">{esc(_nl(fs, fs.flows[f].title))}</a> <code>{f}</code></li>'
                  for f in sorted(fs.flows))
    overview = ('<object data="overview.svg" type="image/svg+xml"></object>' if fmt == "svg"
                else '<img src="overview.png" alt="overview">')
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Wegwijzer flows</title>'
            "<style>body{font-family:sans-serif;margin:2em}object,img{max-width:100%}</style></head><body>"
            f"<h1>Flows</h1><p>Version {esc(fs.version)}, loaded {esc(fs.loaded_at)}. Generated by "
            f"<code>python -m bot graph --all</code> from the flow set the bot runs on.</p>{overview}"
            f"<ul>{toc}</ul>{''.join(items)}</body></html>\n")
