"""Step execution: what each step kind does and says, one `case` per kind.

The preview runs the same code (bot/preview.py), so what a moderator proofreads is what a
user gets. A new step kind fails mypy here until it is handled (`assert_never`).
"""

from __future__ import annotations

from typing import assert_never

from bot.engine.base import LETTER_CHANGE, ROUTE_CARDS, SHOWN_CARDS, TurnBase
from bot.engine.turn import FlowError
from bot.events import Document, ForgetUser, Forward, HandOff, Report, Schedule, Send
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
from bot.letters import DOCX_MIME, in_messages, mime_for
from bot.markup import without_tags

#: Steps that do something and then go on at `next`.
GoingOn = SayStep | ComputeStep | ShowStep | DocumentStep | ReportStep | HandoffStep | ScheduleStep
#: What someone typed at a menu before the bot knew where it led: often their story, told first.
#: The first question that asks what happened offers it as the answer (a button), so nobody has
#: to type it twice. Kept only until that question is answered or the conversation ends, and
#: shown in "mijn gegevens" like an answer.
TYPED_BEFORE = "_typed_before"
#: In the safety flow, the first message when she set the incident it named aside ("Nee, ik kies zelf": the
#: post, then the car) and told the other one's story in new words: the summary's "Ook gebeurd" quotes it.
#: Kept only until the flow ends, and shown in "mijn gegevens" (review35: a copy under a flow name outlived the
#: story and was counted as a note while the export said typed text is not kept).
ALSO_TOLD = "_also_told"
#: The safety flow's variable that says the incident of the first message was set aside (flows/safety.yaml).
SET_ASIDE = "also_incident"
#: A day to come that a message typed at a menu or buttons named ("het raadsrapport klopt niet en de zitting is op 14
#: januari"), as an ISO date, never the words: a later question (the hearing's, flows/complaint_file.yaml) reads it
#: back to confirm instead of asking again. Kept until the route chosen from the menu ends, and shown in "mijn gegevens".
TOLD_AHEAD = "_told_ahead"
#: Only a message this long is a story worth offering; "klacht" or "ik wil klagen" is not.
TYPED_BEFORE_FROM = 80
#: The button that takes it as the answer.
USE_TYPED_BEFORE = "typed_before"
#: the button of a phone question that says "do not call me" (saved as no number)
NO_PHONE = "no_phone"
#: How much of it the question shows, so the person sees which text is meant.
TYPED_BEFORE_SHOWN = 150


class StepRunner(TurnBase):
    """Carries out the steps that do not wait, and shows the ones that do."""

    def execute(self, step: Step) -> None:
        """Carry out one non-waiting step and move on."""
        state = self.state
        assert state is not None
        match step:
            case SayStep() | ComputeStep() | ShowStep() | DocumentStep() | ReportStep() | HandoffStep() \
                    | ScheduleStep():
                self.act(step)
                self.goto(state.flow, self.next_of(step))
            case BranchStep():
                variables = self.variables()
                taken = next((c.next for c in step.branch if c.else_ or self.fs.eval(c.if_ or "False", variables)),
                             None)
                self.goto(state.flow, taken or self.next_of(step))
            case CallStep():
                self.enter(step.call, self.fs.flows[step.call].start, return_to=(state.flow, self.next_of(step)))
            case ForgetStep():
                self.say_key(step.forget)
                self.out.append(ForgetUser())
                self.end_conversation()
            case EndStep():
                self.end_flow(step)
            case ChooseStep() | AskStep():
                raise FlowError(f"step {state.flow}.{state.step} waits for the user")
            case _:
                assert_never(step)

    def act(self, step: GoingOn) -> None:
        """What a step that goes on at `next` says or hands over."""
        state = self.state
        assert state is not None
        match step:
            case SayStep():
                self.say_key(step.say)
            case ComputeStep():
                for name, source in step.compute.items():
                    state.vars[name] = self.fs.eval(source, self.variables())
                # `x: "None"` is a flow's wipe: the earlier answers "back" keeps lose it too
                state.wipe({name for name, source in step.compute.items() if source.strip() == "None"})
            case ShowStep():
                self.show_cards(step)
            case DocumentStep():
                self.send_document(step)
                if step.change:  # "terug" now: what to change, not one question back (bot/engine/interrupts.py)
                    state.vars[LETTER_CHANGE] = [state.flow, step.change]
            case ReportStep():
                self.out.append(Forward(self.report(step)))
            case HandoffStep():
                self.say_key(step.handoff)
                self.out.append(HandOff(urgent=bool(state.vars.get("_crisis"))))
            case ScheduleStep():
                at = self.fs.eval(step.schedule.at, self.variables())
                self.out.append(Schedule(step.schedule.name, str(at)))
            case _:
                assert_never(step)

    def next_of(self, step: Step) -> str:
        if step.next is None:
            assert self.state is not None
            raise FlowError(f"step {self.state.flow}.{self.state.step} has no next")
        return step.next

    def send_document(self, step: DocumentStep) -> None:
        spec = step.document
        document = self.document(self.lang, spec.template, spec.title, spec.filename_in(self.lang), spec.caption)
        intro = self.text(step.text) if step.text else document.title
        self.out.append(Send(intro, document=document))
        if document.mime == DOCX_MIME:  # a file to edit, and the same letter in the chat to copy
            self.out += [Send(part) for part in in_messages(self.text("letters.copy"), document.content)]

    def end_flow(self, step: EndStep) -> None:
        """The end of a flow: back where it was called from, else the end of the conversation."""
        state = self.state
        assert state is not None
        if isinstance(step.end, str):
            self.say_key(step.end)
        self.stats.append(f"end:{state.flow}:{state.flow}.{state.step}")  # also a called flow's end
        if state.flow == self.fs.safety_flow:  # the message that opened it was kept for its summary only
            state.vars.pop(TYPED_BEFORE, None)
            state.vars.pop(ALSO_TOLD, None)
        route_cards = state.vars.get(ROUTE_CARDS)
        if isinstance(route_cards, dict):  # what this route showed counts only while it runs
            route_cards.pop(state.flow, None)
            if not route_cards:
                state.vars.pop(ROUTE_CARDS)
        if not state.stack or state.stack[-1][0] == self.fs.entry_flow:
            state.vars.pop(TOLD_AHEAD, None)  # the route the menu led to is over: the day it told is not needed
        if state.stack:
            flow, nxt_step = state.stack.pop()
            self.goto(flow, nxt_step)
            if self.fs.step(flow, nxt_step) is None:
                # a reload removed where this call returns to: say so, offer a fresh start
                state.pending = "recover"
                self.ask_pending()
        else:
            self.end_conversation()

    def show_cards(self, step: ShowStep) -> None:
        """The introduction, then each directory card as a message of its own, each card once per journey.

        One message per card keeps every message short enough to read on a phone; a card
        this conversation already showed is named, not repeated (`_cards` remembers them,
        and is forgotten with the journey, like every variable).
        """
        state = self.state
        assert state is not None
        if step.text:
            self.out.append(Send(self.text(step.text)))
        shown: list[str] = state.vars.setdefault(SHOWN_CARDS, [])
        here: list[str] = state.vars.setdefault(ROUTE_CARDS, {}).setdefault(state.flow, [])
        here.extend(entry for entry in step.show if entry not in here)  # shown, or named as seen: not offered again
        again: list[str] = []
        reach: set[str] = set()  # what the cards shown before give: "look above for the number" only if one has one
        for entry in step.show:
            if entry in shown:
                view = self.fs.directory_views[self.lang][entry]
                again.append(view["name"])
                reach.update(field for field in ("phone", "website") if view.get(field))
                continue
            shown.append(entry)
            self.out.append(Send(self.fs.cards[entry][self.lang]))
        if again:
            self.out.append(Send(self.text("sys.cards_seen", names=", ".join(again),
                                           reach="both" if len(reach) == 2 else next(iter(reach), "none"))))

    def question(self, step: ChooseStep | AskStep) -> Send:
        assert self.state is not None
        if isinstance(step, ChooseStep):
            return Send(self.text(step.choose),
                        self.buttons([(o.id, o.label) for o in self.offered(step)]),
                        token=self.state.step)
        choices = self.buttons(self.ask_buttons(step))
        before = self.typed_before(step)
        if before is not None:
            shown = before if len(before) <= TYPED_BEFORE_SHOWN else (
                before[:TYPED_BEFORE_SHOWN].rsplit(" ", 1)[0].rstrip(" ,.;:") + " …")
            return Send(self.text(step.ask) + "\n\n" + self.text("sys.typed_before.offer", text=shown),
                        choices, token=self.state.step)
        return Send(self.text(step.ask), choices, token=self.state.step)

    def ask_buttons(self, step: AskStep) -> list[tuple[str, str]]:
        """(id, label key) of the buttons a typed question shows; a typed number or label of one of them
        is read as its press, the same at every step kind (builder.on_answer_text)."""
        if self.typed_before(step) is not None:
            return [(USE_TYPED_BEFORE, "sys.typed_before.use")]
        if step.type == "yesno":
            return [("yes", "sys.yes"), ("no", "sys.no")]
        if step.type == "phone":  # "do not call me" is an answer too, and a clear one
            return [(NO_PHONE, "sys.phone.no_phone")]
        return []

    def story_in_bounds(self, step: AskStep, story: str) -> str:
        """A story longer than the question takes: its first part is the answer, never "make it shorter".

        A phone shows no character count, and a 3,000-character story pasted at "Wat is er
        gebeurd?" was refused with one (try-out 2026-12-07). The part kept ends where a sentence
        ends; the person is told where it stops, and gets the rest back to keep and add later.
        """
        high = step.text_bounds[1]
        if len(story) <= high or not step.asks_for_a_story:
            return story
        cut = max(story.rfind(mark, 0, high) for mark in (". ", "! ", "? ", "\n"))
        if cut < high // 2:
            cut = story.rfind(" ", 0, high)
        kept = story[:cut + 1 if cut > 0 else high].rstrip()
        self.out.append(Send(self.text("sys.story_cut.kept", text=" ".join(kept.split()[-8:]))))
        self.out += [Send(part) for part in in_messages(self.text("sys.story_cut.rest"), story[len(kept):].strip())]
        return kept

    def typed_before(self, step: AskStep) -> str | None:
        """What the person typed at a menu, if this question asks what happened and it fits here."""
        assert self.state is not None
        before = self.state.vars.get(TYPED_BEFORE)
        if not isinstance(before, str) or not step.asks_for_a_story:
            return None
        low, _ = step.text_bounds  # a longer story is offered too: its first part is kept (answers.keep_first_part)
        return before if low <= len(before) else None

    def document(self, lang: str, template: str, title_key: str, filename: str,
                 caption_key: str | None = None) -> Document:
        return Document(filename=filename, title=without_tags(self.text_in(lang, title_key)),
                        content=without_tags(self.text_in(lang, template)) + "\n", mime=mime_for(filename),
                        caption=self.text_in(lang, caption_key) if caption_key else "")

    def report(self, step: ReportStep) -> Report:
        """The report as the desk reads it: in the desk's language, not the user's.

        Labels and values (`t(...)`, `| date`) are rendered here because only the
        engine has the answers; the desk gets finished text in its own language.
        """
        spec = step.report
        lang = self.desk_lang
        variables = self.variables()
        fields = tuple(
            (self.text_in(lang, f.label), self.fs.render_source(lang, f.value, variables)) for f in spec.fields
        )
        urgency = str(self.fs.eval(spec.urgency, variables))
        if urgency not in ("low", "normal", "high"):
            urgency = "normal"
        document = None
        if spec.document:
            document = self.document(lang, spec.document.template, spec.document.title,
                                     spec.document.filename_in(lang),
                                     spec.document.caption)
        return Report(kind=spec.kind, title=self.text_in(lang, spec.title), fields=fields,
                      urgency=urgency, document=document)  # type: ignore[arg-type]
