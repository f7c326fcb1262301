"""The step kinds of a flow: one pydantic class per kind, as one discriminated union.

Why a class per kind: a step of one kind can only hold that kind's keys, so the engine,
preview, graph and checker `match` on the class and mypy (`assert_never`) names every place
a new kind must be handled. Each class knows its edges (`targets`), the texts it shows
(`text_keys`) and the expressions it runs (`expressions`), so no other module lists them.

The YAML stays as moderators write it: the kind is the one kind-key a step carries
(`say:`, `ask:` ...). `_one_kind` reads that key before pydantic picks the class, and
gives the same errors (with file:line:col, see the loader) as when all kinds shared one
model. This module only describes shapes; it never runs a flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
TextKey = Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$", max_length=120)]
Scalar = str | int | float | bool | None
#: Where inside a step a value is: the keys (and list indexes) from the step down.
SubPath = tuple[str | int, ...]

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
_ASK_ONLY = ("type", "save", "invalid", "when", "protect", "confirm")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    """One answer of a `choose` step: a button on Telegram, a numbered line elsewhere."""

    id: Identifier
    label: TextKey
    set: dict[Identifier, Scalar] = Field(default_factory=dict)
    next: Identifier
    #: a text typed instead of a press answers this option's question (`next`, an `ask` step) when it
    #: reads as that answer: a phone number typed at "how may the desk reach you?" (docs/FLOWS.md)
    typed: bool = False
    #: a text of the words and short phrases people type for this option, one a line, in each
    #: language ("ik voel me niet veilig thuis", "will they tell my parents?"), read as the menu's
    #: typed requests are (bot/intents.py: compounds, typing errors, the longest phrase wins)
    words: TextKey | None = None


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


#: a document's file name: short, lower case, with the extension that says how it is sent
FileName = Annotated[str, Field(pattern=r"^[a-z0-9_\-]+\.(txt|md|docx)$")]


class DocumentSpec(_Model):
    """A document (letter, summary) rendered from a text key as a template."""

    template: TextKey
    title: TextKey
    #: `.docx`: sent as an editable Word file, with the same text in the chat for copying
    filename: FileName
    #: the file's name in another language (`en: incident-summary.txt`): a person reading
    #: English gets an English name; a language not listed gets `filename`
    filenames: dict[str, FileName] | None = None
    #: one line shown with the file: what it is and what to do with it (the title when not given)
    caption: TextKey | None = None

    def filename_in(self, lang: str) -> str:
        return (self.filenames or {}).get(lang, self.filename)

    def text_keys(self, *at: str) -> Iterator[tuple[SubPath, str]]:
        yield (*at, "template"), self.template
        yield (*at, "title"), self.title
        if self.caption:
            yield (*at, "caption"), self.caption


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


class _Step(_Model):
    """What every kind shares: where the flow goes on (`next`), and its parts for the checker."""

    kind: ClassVar[str]
    next: Identifier | None = None
    #: one small link preview on the step's (first) message; every other message has none
    preview: PreviewSpec | None = None

    def targets(self) -> Iterator[tuple[SubPath, str]]:
        """(path inside the step, target step id) for every edge out of it, in the order offered."""
        if self.next:
            yield ("next",), self.next

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        """(path inside the step, text key) of every text it shows or hands over."""
        yield from ()

    def expressions(self) -> Iterator[tuple[SubPath, str]]:
        """(path inside the step, source) of every expression it runs."""
        yield from ()

    def variables(self) -> Iterator[str]:
        """The names of the variables it sets."""
        yield from ()


class SayStep(_Step):
    kind: ClassVar[str] = "say"
    say: TextKey

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("say",), self.say


class ChooseStep(_Step):
    """A question with buttons; each option sets variables and goes on to its own step."""

    kind: ClassVar[str] = "choose"
    choose: TextKey
    options: list[Option]
    #: said instead of "Ik begrijp niet welke keuze je bedoelt" when a typed text names no option
    #: (a hesitant young person gets a warm word, then the question)
    invalid: TextKey | None = None
    #: said when a yes or no is typed with doubt ("ik denk het wel"), which is then not taken: the answer
    #: goes into a letter as a fact ("ik heb het gezag"), so a guess is explained and asked again
    unsure: TextKey | None = None
    #: said with the buttons, instead of the whole question again, when "weet ik niet" / "idk" is typed: a short
    #: line on which button fits whom (the welcome came back whole for it; the known list, s31)
    dont_know: TextKey | None = None
    #: the words typed to choose an option ("op insta" at "Waar gebeurde het?") are saved here, for a
    #: later step to read what they say (`said_in`); a press or a typed number saves None
    keep_typed: Identifier | None = None

    def targets(self) -> Iterator[tuple[SubPath, str]]:
        for i, option in enumerate(self.options):
            yield ("options", i, "next"), option.next
        yield from super().targets()

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("choose",), self.choose
        for i, option in enumerate(self.options):
            yield ("options", i, "label"), option.label
            if option.words is not None:
                yield ("options", i, "words"), option.words
        if self.invalid is not None:
            yield ("invalid",), self.invalid
        if self.unsure is not None:
            yield ("unsure",), self.unsure
        if self.dont_know is not None:
            yield ("dont_know",), self.dont_know

    def variables(self) -> Iterator[str]:
        for option in self.options:
            yield from option.set
        if self.keep_typed is not None:
            yield self.keep_typed

    @property
    def offers_help(self) -> bool:
        """A question with its own `help` option (a check-in's "are you safe?"): there, typed
        help words and "I don't know" are answers about danger, not words for the bot's help."""
        return any(o.id == "help" for o in self.options)


AskType = Literal["text", "date", "yesno", "number", "municipality", "phone"]

#: A free-text question that takes this many characters or more asks what happened (a story),
#: not a name, a number or a date.
KEEP_STORY_FROM = 300
#: A text question that takes this many characters asks for a story, a reason or a wish, which goes
#: into a letter or summary as typed ("Wat er gebeurde: weet ik niet" was a try-out's letter):
#: it runs the rule `not_a_story` unless it names its own rules.
STORY_FROM = 400
#: The named rules that may judge a typed answer before it is kept: the table and the rules
#: themselves are bot/engine/validation.py's (`RULES`); docs/FLOWS.md lists them for moderators.
AnswerRuleName = Literal["not_a_story", "asks_the_bot"]


class AskStep(_Step):
    """A question answered by typing: the answer is read as `type` and saved in `save`."""

    kind: ClassVar[str] = "ask"
    ask: TextKey
    type: AskType
    min: float | None = None
    max: float | None = None
    when: Literal["past", "future", "any"] | None = None
    #: a date is echoed in words with Ja/Nee before it is used ("Ik lees: 9 oktober 2026.
    #: Klopt dat?"); on by default for every `type: date`, `confirm: false` turns it off
    confirm: bool | None = None
    save: Identifier
    invalid: TextKey | None = None
    #: a text answer is checked for names and other personal details before it is saved:
    #: `public` (it goes into a text the public may read) refuses them and helps rewrite;
    #: `letter` (a complaint letter, where a worker's function is enough) only warns
    protect: Literal["public", "letter"] | None = None
    #: with `protect: public`: the flow offered for the writer's own case (a complaint)
    own_case: Identifier | None = None
    #: the named rules that judge a typed text before it is kept (docs/FLOWS.md, "Answer rules");
    #: unset: the rules this kind of question runs by default (`answer_rules`); `[]`: none
    rules: list[AnswerRuleName] | None = None
    #: with `type: yesno`: said when the yes or no is typed with doubt ("ja denk het"), which is then not
    #: taken: the answer goes into a report as a fact ("Leidinggevende ingelicht: Ja"), as at a `choose`
    unsure: TextKey | None = None

    @model_validator(mode="after")
    def _fits_type(self) -> AskStep:
        if self.unsure is not None and self.type != "yesno":
            raise ValueError("`unsure` reads a doubtful yes or no: use it with `type: yesno` (or at a `choose`)")
        if self.protect is not None and self.type != "text":
            raise ValueError("`protect` checks typed text: use it with `type: text`")
        if self.own_case is not None and self.protect != "public":
            raise ValueError("`own_case` belongs to a step with `protect: public`")
        if self.confirm is not None and self.type != "date":
            raise ValueError("`confirm` belongs to an `ask` step of `type: date` only")
        if self.rules is not None and self.type != "text":
            raise ValueError("`rules` names rules for typed text: use it with `type: text`")
        if "asks_the_bot" in (self.rules or []) and self.protect != "public":
            raise ValueError("`asks_the_bot` asks \"is this your answer?\" with the buttons of `protect: public`: "
                             "use it with `protect: public`")
        return self

    @property
    def answer_rules(self) -> tuple[AnswerRuleName, ...]:
        """The named rules this question runs on a typed text, in order: its `rules`, else the
        defaults (`not_a_story` where a story for a letter is asked, `asks_the_bot` for a public text)."""
        if self.rules is not None:
            return tuple(dict.fromkeys(self.rules))
        defaults: list[AnswerRuleName] = []
        if self.type == "text" and self.text_bounds[1] >= STORY_FROM:
            defaults.append("not_a_story")
        if self.protect == "public":
            defaults.append("asks_the_bot")
        return tuple(defaults)

    @property
    def asks_for_a_story(self) -> bool:
        """Does this question ask what happened, in the person's own words, for them alone?

        Such an answer may be kept when it arrives early (typed at a menu, or in a message that
        tripped the crisis check); an answer meant for the public (`protect: public`) never is:
        it is checked for names as it is typed.
        """
        return (self.type == "text" and self.next is not None and self.protect != "public"
                and self.text_bounds[1] >= KEEP_STORY_FROM)

    @property
    def text_bounds(self) -> tuple[int, int]:
        """Shortest and longest free-text answer the question takes (1 and 1,000 unless it says)."""
        return (int(self.min) if self.min is not None else 1, int(self.max) if self.max is not None else 1000)

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("ask",), self.ask
        if self.invalid:
            yield ("invalid",), self.invalid
        if self.unsure is not None:
            yield ("unsure",), self.unsure

    def variables(self) -> Iterator[str]:
        yield self.save


class BranchStep(_Step):
    kind: ClassVar[str] = "branch"
    branch: list[Case]

    def targets(self) -> Iterator[tuple[SubPath, str]]:
        for i, case in enumerate(self.branch):
            yield ("branch", i, "next"), case.next
        yield from super().targets()

    def expressions(self) -> Iterator[tuple[SubPath, str]]:
        for i, case in enumerate(self.branch):
            if case.if_ is not None:
                yield ("branch", i, "if"), case.if_


class ComputeStep(_Step):
    kind: ClassVar[str] = "compute"
    compute: dict[Identifier, str]

    def expressions(self) -> Iterator[tuple[SubPath, str]]:
        for name, source in self.compute.items():
            yield ("compute", name), source

    def variables(self) -> Iterator[str]:
        yield from self.compute


class ShowStep(_Step):
    """Directory cards, each a message of its own, after an optional introduction (`text`)."""

    kind: ClassVar[str] = "show"
    show: list[Identifier]
    text: TextKey | None = None

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        if self.text:
            yield ("text",), self.text


class DocumentStep(_Step):
    kind: ClassVar[str] = "document"
    document: DocumentSpec
    text: TextKey | None = None
    #: where "terug" right after this document goes: a question that lists the parts to change
    #: (one question back answered it again and showed the whole letter once more)
    change: Identifier | None = None

    def targets(self) -> Iterator[tuple[SubPath, str]]:
        yield from super().targets()
        if self.change:
            yield ("change",), self.change

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        if self.text:
            yield ("text",), self.text
        yield from self.document.text_keys("document")


class ReportStep(_Step):
    kind: ClassVar[str] = "report"
    report: ReportSpec

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("report", "title"), self.report.title
        for i, rf in enumerate(self.report.fields):
            yield ("report", "fields", i, "label"), rf.label
        if self.report.document:
            yield from self.report.document.text_keys("report", "document")

    def expressions(self) -> Iterator[tuple[SubPath, str]]:
        yield ("report", "urgency"), self.report.urgency


class CallStep(_Step):
    """Run another flow; its `end` comes back here and goes on at `next`."""

    kind: ClassVar[str] = "call"
    call: Identifier


class EndStep(_Step):
    kind: ClassVar[str] = "end"
    end: TextKey | Literal[True]

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        if isinstance(self.end, str):
            yield ("end",), self.end


class ForgetStep(_Step):
    kind: ClassVar[str] = "forget"
    forget: TextKey

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("forget",), self.forget


class HandoffStep(_Step):
    kind: ClassVar[str] = "handoff"
    handoff: TextKey

    def text_keys(self) -> Iterator[tuple[SubPath, str]]:
        yield ("handoff",), self.handoff


class ScheduleStep(_Step):
    kind: ClassVar[str] = "schedule"
    schedule: ScheduleSpec

    def expressions(self) -> Iterator[tuple[SubPath, str]]:
        yield ("schedule", "at"), self.schedule.at


def _kind_of(data: Any) -> str | None:
    """The tag pydantic picks the class by: the one kind-key present (or a built step's kind)."""
    if isinstance(data, _Step):
        return data.kind
    if isinstance(data, dict):
        kinds = [k for k in STEP_KINDS if data.get(k) is not None]
        return kinds[0] if len(kinds) == 1 else None
    return None


def _one_kind(data: Any) -> Any:
    """Exactly one kind-key, and only keys of that kind, with the errors moderators know.

    A key written empty (`next:`) means "not given", as it did when every key was optional.
    """
    if not isinstance(data, dict):
        return data
    data = {k: v for k, v in data.items() if v is not None}
    kinds = [k for k in STEP_KINDS if k in data]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        raise ValueError(f"a step needs exactly one of {', '.join(STEP_KINDS)} (found: {found})")
    kind = kinds[0]
    if kind == "choose" and not data.get("options"):
        raise ValueError("a `choose` step needs `options` (a list of answers)")
    if kind != "choose" and "options" in data:
        raise ValueError("`options` belongs to a `choose` step only")
    if kind == "ask":
        if "type" not in data or "save" not in data:
            raise ValueError("an `ask` step needs `type` and `save` (the variable to fill)")
    elif any(k in data for k in _ASK_ONLY if not (k == "invalid" and kind == "choose")):
        raise ValueError("`type`, `save`, `when`, `protect` and `confirm` belong to an `ask` step only "
                         "(`invalid` to an `ask` or `choose` step)")
    if "text" in data and kind not in ("show", "document"):
        raise ValueError("`text` (an introduction) belongs to `show` and `document` steps only")
    return data


#: One step of a flow. Write exactly one of the kind keys; see docs/FLOWS.md.
Step = Annotated[
    Annotated[SayStep, Tag("say")] | Annotated[ChooseStep, Tag("choose")] | Annotated[AskStep, Tag("ask")]
    | Annotated[BranchStep, Tag("branch")] | Annotated[ComputeStep, Tag("compute")]
    | Annotated[ShowStep, Tag("show")] | Annotated[DocumentStep, Tag("document")]
    | Annotated[ReportStep, Tag("report")] | Annotated[CallStep, Tag("call")] | Annotated[EndStep, Tag("end")]
    | Annotated[ForgetStep, Tag("forget")] | Annotated[HandoffStep, Tag("handoff")]
    | Annotated[ScheduleStep, Tag("schedule")],
    Discriminator(_kind_of),
    BeforeValidator(_one_kind),
]


def untagged(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """An error's path in the YAML: without the kind tag pydantic puts after `steps.<id>`."""
    if len(loc) >= 3 and loc[0] == "steps" and loc[2] in STEP_KINDS:
        return loc[:2] + loc[3:]
    return loc
