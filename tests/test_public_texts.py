"""Every typed answer that reaches a public text passes the name check (`protect: public`).

Why: the e-mail to the griffie is public, and says "Ik noem geen namen". In the try-out of
2026-12-07 a child's full name reached its subject, first line and "Ik spreek namens ..."
through two questions that were not checked (the meeting, the organisation). A flow with a
`protect: public` question makes a public text; this test reads each of its documents'
templates, in every language, and holds every free-text answer they use to the same check,
so a field added later without it fails here. What a person sees with a name in each field
is in tests/scenarios/inspreken_names_every_field_{nl,en}.yaml.
"""

from __future__ import annotations

import functools

import pytest
from jinja2 import meta

from bot.flows.flowset import FlowSet
from bot.flows.loader import load_flowset
from bot.flows.steps import AskStep, DocumentStep
from bot.texts import ENV
from tests.conftest import REPO


@functools.cache
def shipped() -> FlowSet:
    return load_flowset(REPO / "flows", REPO / "locales", root=REPO)


def public_documents() -> list[tuple[str, str, str]]:
    """(flow, step, text key) of every document made in a flow that asks for a public text."""
    fs = shipped()
    found = []
    for name, flow in sorted(fs.flows.items()):
        if not any(isinstance(s, AskStep) and s.protect == "public" for s in flow.steps.values()):
            continue
        for step_id, step in flow.steps.items():
            if isinstance(step, DocumentStep):
                spec = step.document
                found += [(name, step_id, key) for key in (spec.template, spec.title, spec.caption) if key]
    return found


def test_the_council_e_mail_is_a_public_document():
    assert ("inspreken", "doc", "inspreken.doc") in public_documents()


@pytest.mark.parametrize(("flow", "step", "key"), public_documents())
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_typed_answer_in_a_public_document_is_checked_for_names(flow, step, key, lang):
    fs = shipped()
    used = meta.find_undeclared_variables(ENV.parse(fs.locales.texts[lang][key].source))
    typed = {s.save: (sid, s) for sid, s in fs.flows[flow].steps.items()
             if isinstance(s, AskStep) and s.type == "text" and s.save in used}
    unchecked = sorted(f"{sid} (saves `{var}`)" for var, (sid, s) in typed.items() if s.protect != "public")
    assert not unchecked, f"{key} ({lang}) uses typed answers without `protect: public`: {unchecked}"
    if key == "inspreken.doc":
        assert set(typed) == {"topic", "meeting", "org_name", "what_general", "change"}
