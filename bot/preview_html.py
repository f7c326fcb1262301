"""The phone preview: every step of every flow as chat bubbles on a 360 px screen, for moderators.

Why: nobody had seen the flows the way a user sees them. A text preview does not show a
button label cut off by the phone, or a card that runs off the screen. This writes a static
site (`python -m bot preview FLOW --html DIR`, or `all`): per flow and language one page with
the phone on the left and, beside it, the flow graph and the source and check date of each
directory card the flow uses. Open `index.html` in any browser; nothing is fetched.

The bubbles are `bot.preview.flow_messages`, the same rendering the message-length test reads,
not a second renderer. Buttons are laid out by the rule the Telegram adapter uses
(`bot.phone.side_by_side`), one line each, cut with "…" like Telegram does, so a label that
does not fit shows cut here too, and the browser test (tests/test_preview_html.py) finds it.
Bold headings and lists (bot/markup.py) look as Telegram shows them: each line is escaped
first, as the adapter does it; every other text on the page is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from bot.flows.flowset import FlowSet
from bot.graph import GraphError, flow_graph, render, to_mermaid
from bot.markup import telegram_html
from bot.phone import side_by_side
from bot.preview import Message, flow_messages, reading_order
from bot.texts import directory_refs

__all__ = ["PHONE_WIDTH", "page_name", "write_site"]

#: The screen the bubbles are drawn on, in CSS pixels: a common small Android phone.
PHONE_WIDTH = 360

_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font-family: Roboto, "Liberation Sans", "DejaVu Sans", Arial, sans-serif; background: #f4f4f4; color: #111; }
header { padding: 8px 12px; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { font-size: 18px; margin: 0 0 4px; }
header p, header nav { margin: 2px 0; font-size: 13px; }
.layout { display: flex; flex-wrap: wrap; gap: 16px; padding: 12px 0; align-items: flex-start; }
.phone { width: 360px; min-width: 360px; max-width: 360px; background: #dfe9d8; padding: 8px; overflow: hidden; }
.side { flex: 1 1 420px; min-width: 0; padding: 0 12px; overflow-x: auto; }  /* never widens a phone's screen */
.side object, .side img { max-width: 100%; background: #fff; }
.side pre { white-space: pre-wrap; font-size: 12px; background: #fff; padding: 8px; overflow-x: auto; }
.step { margin: 0 0 14px; }
.step-id { font: 11px monospace; color: #555; margin: 0 0 3px; }
.bubble { max-width: 300px; background: #fff; border-radius: 10px; padding: 6px 9px; margin: 0 0 4px;
          font-size: 15px; line-height: 1.3; white-space: pre-wrap; overflow-wrap: anywhere; }
.bubble.letter { background: #fffbe6; }
.keyboard { width: 100%; margin: 0 0 6px; }
.row { display: flex; gap: 4px; margin: 0 0 4px; }
.button { flex: 1 1 0; min-width: 0; display: block; background: rgba(0, 0, 0, 0.28); color: #fff; border-radius: 8px;
          padding: 9px 8px; font-size: 14px; font-weight: 500; text-align: center;
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.source { font-size: 11px; color: #333; margin: 0 0 6px; overflow-wrap: anywhere; }
.missing { color: #a00; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
td a { overflow-wrap: anywhere; }
"""

_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ flow_id }} ({{ lang }}) - Wegwijzer phone preview</title><style>{{ style }}</style></head>
<body>
<header>
<h1>{{ title }} <code>{{ flow_id }}</code> · {{ lang }}</h1>
<p>{{ description }}</p>
<p>Flow set version {{ version }} · example values as of {{ today }} (as <code>bot preview</code> shows them)</p>
<nav><a href="index.html">All flows</a>{% for other in languages %} ·
{% if other == lang %}<strong>{{ other }}</strong>{% else %}<a href="{{ page_name(flow_id, other) }}">{{ other }}</a>{% endif %}
{% endfor %}</nav>
</header>
<div class="layout">
<main class="phone" aria-label="what a phone {{ phone_width }} px wide shows">
{% for step in steps %}
<section class="step" id="step-{{ step.id }}">
<div class="step-id">{{ step.id }} ({{ step.kind }})</div>
{% for message in step.messages %}
<div class="bubble{% if message.letter %} letter{% endif %}">{{ message.text }}</div>
{% if message.rows %}<div class="keyboard">{% for row in message.rows %}<div class="row">
{% for label in row %}<span class="button" title="{{ label }}">{{ label }}</span>{% endfor %}
</div>{% endfor %}</div>{% endif %}
{% for fact in message.facts %}<p class="source">{{ fact.id }}: <a href="{{ fact.source }}">{{ fact.source }}</a> ·
{{ fact.checked_text }}</p>{% endfor %}
{% endfor %}
</section>
{% endfor %}
</main>
<aside class="side">
<h2>Flow graph</h2>
{% if graph_svg %}<object data="{{ graph_svg }}" type="image/svg+xml" aria-label="flow graph"></object>
{% else %}<p class="missing">{{ graph_note }}</p><pre>{{ graph_mermaid }}</pre>{% endif %}
<h2>Facts this flow shows</h2>
{% if facts %}<table><tr><th>card</th><th>source</th><th>checked</th><th>confidence</th></tr>
{% for fact in facts %}<tr><td><code>{{ fact.id }}</code><br>{{ fact.name }}</td>
<td><a href="{{ fact.source }}">{{ fact.source }}</a></td><td>{{ fact.checked_text }}</td>
<td>{{ fact.confidence }}</td></tr>{% endfor %}</table>
{% else %}<p>None.</p>{% endif %}
</aside>
</div>
</body></html>
"""

_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wegwijzer phone preview</title><style>{{ style }}</style></head>
<body><header><h1>Wegwijzer phone preview</h1>
<p>Flow set version {{ version }}, loaded {{ loaded_at }}. Every step of each flow as a phone
{{ phone_width }} px wide shows it, made by <code>python -m bot preview FLOW --html DIR</code>.</p>
{% if graph_note %}<p class="missing">{{ graph_note }}</p>{% endif %}</header>
<div class="side"><table><tr><th>flow</th><th>title</th>{% for lang in languages %}<th>{{ lang }}</th>{% endfor %}</tr>
{% for flow in flows %}<tr><td><code>{{ flow.id }}</code></td><td>{{ flow.title }}</td>
{% for lang in languages %}<td><a href="{{ page_name(flow.id, lang) }}">{{ lang }}</a></td>{% endfor %}</tr>{% endfor %}
</table></div></body></html>
"""


def page_name(flow_id: str, lang: str) -> str:
    """The file of one flow in one language (also what the browser test opens)."""
    return f"{flow_id}.{lang}.html"


@dataclass(frozen=True, slots=True)
class _Fact:
    id: str
    name: str
    source: str
    checked_text: str
    confidence: str


@dataclass(frozen=True, slots=True)
class _Bubble:
    text: str
    letter: bool
    rows: list[list[str]]
    facts: list[_Fact]


@dataclass(frozen=True, slots=True)
class _StepView:
    id: str
    kind: str
    messages: list[_Bubble]


def _environment() -> Environment:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), keep_trailing_newline=True)
    style = Markup(_STYLE)  # noqa: S704 - our own constant CSS, never a text from a flow or a user
    env.globals.update(page_name=page_name, style=style, phone_width=PHONE_WIDTH)
    return env


def _fact(fs: FlowSet, lang: str, entry_id: str) -> _Fact:
    """A card's provenance as a moderator needs it: where to check, and when someone last did."""
    view: dict[str, Any] = fs.directory_views.get(lang, {}).get(entry_id) or fs.directory_views["nl"][entry_id]
    if view.get("checked_live"):
        when = f"checked live on {view.get('checked')}"
    elif view.get("researched"):
        when = f"not checked live (from research, {view.get('researched')})"
    else:
        when = "not checked live"
    return _Fact(entry_id, str(view.get("name", "")), str(view.get("source", "")), when, str(view.get("confidence", "")))


def _rows(labels: tuple[str, ...]) -> list[list[str]]:
    if not labels:
        return []
    return [list(labels)] if side_by_side(labels) else [[label] for label in labels]


def _flow_entries(fs: FlowSet, flow_id: str, messages: Iterable[Message]) -> list[str]:
    """Directory entries the flow shows as cards or names in its texts (`d.<id>`), as the graph finds them."""
    found = {entry for message in messages for entry in message.cards}
    for step in fs.flows[flow_id].steps.values():
        for _, key in step.text_keys():
            for texts in fs.locales.texts.values():
                text = texts.get(key)
                if text is not None:
                    found |= set(directory_refs(text.source))
    return sorted(entry for entry in found if entry in fs.directory_views.get("nl", {}))


def _steps(fs: FlowSet, flow_id: str, lang: str, messages: list[Message]) -> list[_StepView]:
    flow = fs.flows[flow_id]
    by_step: dict[str, list[_Bubble]] = {}
    for message in messages:
        facts = [_fact(fs, lang, entry) for entry in message.cards]
        shown = Markup(telegram_html(message.text))  # noqa: S704 - every line escaped before our own tags
        by_step.setdefault(message.step, []).append(_Bubble(shown, message.letter, _rows(message.buttons), facts))
    return [_StepView(step_id, flow.steps[step_id].kind, by_step[step_id])
            for step_id in reading_order(flow) if step_id in by_step]


def _graph(fs: FlowSet, flow_id: str, out: Path) -> tuple[str | None, str, str]:
    """(SVG file name or None, note, mermaid text): the drawing when Graphviz is there, else its source."""
    graph = flow_graph(fs, flow_id)
    try:
        svg = render(graph, "svg")
    except GraphError as exc:
        return None, f"No drawing: {exc}. The graph as Mermaid text:", to_mermaid(graph)
    name = f"{flow_id}.svg"
    (out / name).write_bytes(svg)
    return name, "", ""


def write_site(fs: FlowSet, out: Path, flow_ids: Iterable[str], *, today: date,
               overrides: Mapping[str, Any] | None = None) -> list[Path]:
    """Write the phone preview of the given flows in every language to `out`; returns the pages written."""
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    page, index = env.from_string(_PAGE), env.from_string(_INDEX)
    languages = list(fs.locales.languages)
    flows = sorted(flow_ids)
    written: list[Path] = []
    graph_notes: set[str] = set()
    for flow_id in flows:
        svg, note, mermaid = _graph(fs, flow_id, out)
        if note:
            graph_notes.add("Graphviz is not installed: graphs are shown as Mermaid text.")
        for lang in languages:
            messages = flow_messages(fs, flow_id, lang, today=today, overrides=overrides)
            html = page.render(
                lang=lang, flow_id=flow_id, title=fs.render(lang, fs.flows[flow_id].title, {}),
                description=fs.flows[flow_id].description, version=fs.version, today=today.isoformat(),
                languages=languages, steps=_steps(fs, flow_id, lang, messages),
                facts=[_fact(fs, lang, entry) for entry in _flow_entries(fs, flow_id, messages)],
                graph_svg=svg, graph_note=note, graph_mermaid=mermaid)
            path = out / page_name(flow_id, lang)
            path.write_text(html, encoding="utf-8")
            written.append(path)
    listing = [{"id": flow_id, "title": fs.render("nl", fs.flows[flow_id].title, {})} for flow_id in flows]
    path = out / "index.html"
    path.write_text(index.render(version=fs.version, loaded_at=fs.loaded_at, languages=languages, flows=listing,
                                 graph_note=" ".join(sorted(graph_notes))), encoding="utf-8")
    written.append(path)
    return written
