"""The flow format: what a moderator may write in flows/*.yaml.

One pydantic model per idea, `extra="forbid"` everywhere so a typo in a key is
an error with file:line, never silently ignored. A step is one mapping whose
*kind* is the one kind-key it carries (say, choose, ask, ...). These models are
also exported as JSON Schema (`python -m bot schema`) for editors.

This module only describes shapes. Cross-references (does `next` exist, is
every text key translated) live in `check.py`; running flows lives in the
engine.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
TextKey = Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$", max_length=120)]
Scalar = str | int | float | bool | None

#: Keys that decide what a step is; exactly one per step.
STEP_KINDS = (
    "say", "choose", "ask", "branch", "compute", "show", "document",
    "report", "call", "end", "forget", "handoff", "schedule",
)
#: Kinds that wait for the user.
WAITING_KINDS = frozenset({"choose", "ask"})
#: Kinds after which the flow continues at `next`.
NEEDS_NEXT = frozenset(
    {"say", "compute", "show", "document", "report", "call", "handoff", "schedule"}
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    """One answer of a `choose` step: a button on Telegram, a numbered line elsewhere."""

    id: Identifier
    label: TextKey
    set: dict[Identifier, Scalar] = Field(default_factory=dict)
    next: Identifier


class Case(_Model):
    """One arm of a `branch`: `if` holds a safe expression over variables."""

    if_: str | None = Field(default=None, alias="if")
    else_: bool = Field(default=False, alias="else")
    next: Identifier

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Case:
        if (self.if_ is None) == (not self.else_):
            raise ValueError("a branch case needs either `if: <expression>` or `else: true`")
        return self


class DocumentSpec(_Model):
    """A document (letter, summary) rendered from a text key as a template."""

    template: TextKey
    title: TextKey
    #: `.docx`: sent as an editable Word file, with the same text in the chat for copying
    filename: Annotated[str, Field(pattern=r"^[a-z0-9_\-]+\.(txt|md|docx)$")]
    #: one line shown with the file: what it is and what to do with it (the title when not given)
    caption: TextKey | None = None


class PreviewSpec(_Model):
    """The page a step's message is about, shown as one small link preview (Telegram)."""

    url: str  # a template, e.g. "{{ d.rvdk_klacht.website }}"
    #: the card above the text instead of under it
    above: bool = False


class ReportField(_Model):
    label: TextKey
    value: str  # a template (may use {{ variables }})


class ReportSpec(_Model):
    """A report to the safety desk; the flow must have asked for consent before."""

    kind: Identifier
    title: TextKey
    urgency: str = "'normal'"  # expression giving low|normal|high
    fields: list[ReportField]
    document: DocumentSpec | None = None


class ScheduleSpec(_Model):
    """Fire the flow's `timers[name]` step at `at` (an expression giving an ISO datetime)."""

    name: Identifier
    at: str


class Step(_Model):
    """One step. Write exactly one of the kind keys; see docs/FLOWS.md."""

    say: TextKey | None = None
    choose: TextKey | None = None
    options: list[Option] | None = None
    ask: TextKey | None = None
    type: Literal["text", "date", "yesno", "number", "municipality"] | None = None
    min: float | None = None
    max: float | None = None
    when: Literal["past", "future", "any"] | None = None
    #: a date is echoed in words with Ja/Nee before it is used ("Ik lees: 9 oktober 2026.
    #: Klopt dat?"); on by default for every `type: date`, `confirm: false` turns it off
    confirm: bool | None = None
    save: Identifier | None = None
    invalid: TextKey | None = None
    #: a text answer is checked for names and other personal details before it is saved:
    #: `public` (it goes into a text the public may read) refuses them and helps rewrite;
    #: `letter` (a complaint letter, where a worker's function is enough) only warns
    protect: Literal["public", "letter"] | None = None
    #: with `protect: public`: the flow offered for the writer's own case (a complaint)
    own_case: Identifier | None = None
    branch: list[Case] | None = None
    compute: dict[Identifier, str] | None = None
    show: list[Identifier] | None = None
    text: TextKey | None = None
    document: DocumentSpec | None = None
    report: ReportSpec | None = None
    call: Identifier | None = None
    end: TextKey | Literal[True] | None = None
    forget: TextKey | None = None
    handoff: TextKey | None = None
    schedule: ScheduleSpec | None = None
    #: one small link preview on the step's (first) message; every other message has none
    preview: PreviewSpec | None = None
    next: Identifier | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(
                f"a step needs exactly one of {', '.join(STEP_KINDS)} (found: {found})"
            )
        kind = kinds[0]
        if kind == "choose" and not self.options:
            raise ValueError("a `choose` step needs `options` (a list of answers)")
        if kind != "choose" and self.options is not None:
            raise ValueError("`options` belongs to a `choose` step only")
        if kind == "ask":
            if self.type is None or self.save is None:
                raise ValueError("an `ask` step needs `type` and `save` (the variable to fill)")
        elif any(v is not None for v in (self.type, self.save, self.invalid, self.when, self.protect,
                                         self.confirm)):
            raise ValueError("`type`, `save`, `invalid`, `when`, `protect` and `confirm` belong to an `ask` step only")
        if self.protect is not None and self.type != "text":
            raise ValueError("`protect` checks typed text: use it with `type: text`")
        if self.own_case is not None and self.protect != "public":
            raise ValueError("`own_case` belongs to a step with `protect: public`")
        if self.confirm is not None and self.type != "date":
            raise ValueError("`confirm` belongs to an `ask` step of `type: date` only")
        if self.text is not None and kind not in ("show", "document"):
            raise ValueError("`text` (an introduction) belongs to `show` and `document` steps only")
        return self

    @property
    def kind(self) -> str:
        for k in STEP_KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated step without kind")


class Flow(_Model):
    """A flow file: named steps with one `start`."""

    flow: Identifier
    title: TextKey
    description: str = ""
    start: Identifier
    deeplink: Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")] | None = None
    menu: bool = False
    timers: dict[Identifier, Identifier] = Field(default_factory=dict)
    steps: dict[Identifier, Step]


def json_schema() -> dict[str, object]:
    """The flow file schema for editors (VS Code yaml-language-server etc.)."""
    schema = Flow.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Wegwijzer flow"
    return schema
