"""The flow format: what a moderator may write in flows/*.yaml.

One pydantic model per idea, `extra="forbid"` everywhere so a typo in a key is
an error with file:line, never silently ignored. A step is one mapping whose
*kind* is the one kind-key it carries (say, choose, ask, ...): one class per
kind, in `steps.py`. These models are also exported as JSON Schema
(`python -m bot schema`) for editors.

This module only describes shapes. Cross-references (does `next` exist, is
every text key translated) live in `check.py`; running flows lives in the
engine.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.flows.steps import (
    NEEDS_NEXT,
    STEP_KINDS,
    WAITING_KINDS,
    Case,
    DocumentSpec,
    Identifier,
    Option,
    PreviewSpec,
    ReportField,
    ReportSpec,
    Scalar,
    ScheduleSpec,
    Step,
    TextKey,
    _Model,
)

__all__ = [
    "NEEDS_NEXT", "STEP_KINDS", "WAITING_KINDS", "Case", "DocumentSpec", "Flow", "Identifier", "Option", "PreviewSpec",
    "ReportField", "ReportSpec", "Scalar", "ScheduleSpec", "Step", "TextKey", "json_schema",
]


class Flow(_Model):
    """A flow file: named steps with one `start`."""

    flow: Identifier
    title: TextKey
    description: str = ""
    start: Identifier
    deeplink: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")] | None = None
    menu: bool = False
    timers: dict[Identifier, Identifier] = Field(default_factory=dict)
    #: Named word tables its expressions and texts read by name (`said_in(_typed_before, platforms)`): a
    #: list of phrases, or phrases and what each stands for. Written once here, not in each expression, and
    #: never stored in a person's conversation (flows/safety.yaml's platforms and who did it).
    tables: dict[Identifier, list[str] | dict[str, str]] = Field(default_factory=dict)
    steps: dict[Identifier, Step]


def json_schema() -> dict[str, object]:
    """The flow file schema for editors (VS Code yaml-language-server etc.)."""
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Wegwijzer flow"
    return schema
