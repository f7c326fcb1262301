"""Everyday answers the crisis check must leave to the question: what the question itself reads.

Why a layer of its own: the crisis hook (bot/engine/crisis.py) asks it before the model's guess
counts, and the answer is the question's to read, not the hook's. A worker's "not sure, last week
sometime" at "when did it happen?", "ja hij weet het al" at "does your manager know yet?" got the
113 screen (a fourth try-out). Only the model's guess is set aside this way, never a rule's match,
and only for a message that is wholly such an answer. Pure like the rest of the engine: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clauses import clauses
from bot.dates import day_unknown, listed_dates, past_date_in_text, read_dates, read_month
from bot.engine.answers import Answers
from bot.engine.system import SystemQuestion
from bot.engine.words import DONT_KNOW, hedged, normalise, yes_or_no_first, yes_taken_back
from bot.events import Send
from bot.flows.steps import AskStep, ChooseStep

if TYPE_CHECKING:
    from bot.crisis import CrisisMatch

#: CrisisMatch.rule_id of a match the model made (no rule matched).
MODEL = "model"



class EverydayAnswers(Answers):
    def doubted(self, step: ChooseStep | AskStep, raw: str) -> bool:
        """A yes or no typed with doubt where the answer becomes a fact (`unsure`): explained, asked again.

        Why: "ik denk het wel" at "Heb je gezag?" became "ik heb het gezag" in a letter, and "ja denk het"
        at "Weet je leidinggevende het al?" became "Leidinggevende ingelicht: Ja" in a worker's summary.
        A yes corrected after it ("ja, maar de GI heeft de voogdij", "ja, maar het jaar was 2025") is no yes
        either: it became "ik heb het gezag" and confirmed the bot's year (review35).
        """
        if not step.unsure or not (hedged(raw) or yes_taken_back(raw)) or normalise(raw) in DONT_KNOW:
            return False
        self.say_key(step.unsure, typed=raw.strip()[:80])
        self.reshow()
        return True

    def not_knowing_which(self, step: ChooseStep, raw: str) -> bool:
        """"weet ik niet", "idk", "geen idee" at a question with its own `dont_know` text (the welcome, a menu):
        that short line on which button fits whom, with the buttons; not the whole question again after
        "Ik weet niet zeker wat je bedoelt" (the known list, s31). Not counted as a wrong answer."""
        assert self.state is not None
        if step.dont_know is None or normalise(raw) not in DONT_KNOW:
            return False
        self.out.append(Send(self.text(step.dont_know), self.buttons([(o.id, o.label) for o in self.offered(step)]),
                             token=self.state.step))
        return True

    def at_plain_question(self) -> bool:
        """Is the person answering a question where "I don't know" is an honest answer?

        Not at a menu (typed out of the blue, "ik weet het niet meer" may be despair), not
        at a check-in's "are you safe?" (a `help` option: not knowing is the danger), and
        not at a system question other than a date's.
        """
        state = self.state
        if state is None:
            return False
        if state.pending:
            return state.pending == SystemQuestion.DATE
        step = self.fs.step(state.flow, state.step)
        if isinstance(step, AskStep):
            return True
        if isinstance(step, ChooseStep):
            return not self.fs.flows[state.flow].menu and not step.offers_help
        return False

    def at_story_question(self) -> bool:
        """Is the person at a question that asks what happened, in their own words?"""
        step = self.step_answered()
        return isinstance(step, AskStep) and step.asks_for_a_story

    def answer_date_told(self, raw: str) -> bool:
        """At a date question, the day a danger message also names ("gisteren, en hij staat nu weer voor
        mijn deur") is read back as its answer after the crisis lines, not lost (a fourth try-out)."""
        state, step = self.state, self.step_answered()
        if state is None or not isinstance(step, AskStep) or step.type != "date" or step.when == "future":
            return False
        told = past_date_in_text(raw, self.ctx.today)
        if told is None:
            return False
        self.answer_date(step, told[0])
        return True

    def restates_the_question(self, raw: str) -> bool:
        """A yes or no said first, then only the question's own words ("ja het gaat nog steeds door" at
        "Gaat het nog steeds door?", "ja hij weet het al" at "Weet je leidinggevende het al?"): the
        answer, which the model read as despair (a fourth try-out got the 113 screen). Any other word
        after it ("ja, en hij staat voor mijn deur") leaves the message to the model."""
        step = self.step_answered()
        if not isinstance(step, ChooseStep | AskStep):
            return False
        pairs = [(o.id, o.label) for o in self.offered(step)] if isinstance(step, ChooseStep) else self.ask_buttons(step)
        button, restated = yes_or_no_first(raw, self.normalised_labels(pairs), self.question(step).text)
        return button is not None and restated

    def reads_as_date(self, raw: str) -> bool:
        """Is this a date question, and the whole message a date (a week, a month) as bot.dates reads it,
        or not knowing the day?

        The step under a system question too (not `step_answered`): "i dont know which day" is typed
        at the week read back, a system question over the same date step, and got the 113 screen.
        """
        state = self.state
        step = self.fs.step(state.flow, state.step) if state is not None else None
        if not isinstance(step, AskStep) or step.type != "date":
            return False
        today = self.ctx.today  # "3 and 4 december" got the Veilig Thuis lines (the known list, s31)
        return bool(read_dates(raw, today, self.lang, step.when) or listed_dates(raw, today, self.lang, step.when)
                    or read_month(raw, today, step.when)
                    or day_unknown(raw))  # "weet ik niet welke dag": the model read it as despair

    def tells_when(self, raw: str) -> bool:
        """A date the whole message is: at a date question (`reads_as_date`), or at the safety route's first
        question ("Ben je nu in gevaar?") a day before today, which says when it happened: not now.

        Why: "weet niet zeker, vorige week ergens" typed there got the suicide check: the model (no rule)
        read the not knowing as despair (try-out 32). Its words then pick "Het gevaar is voorbij"
        (`safety.words.danger_over`); a danger said with it is still read (`date_then_more` is not used here).
        """
        state = self.state
        if self.reads_as_date(raw):
            return True
        if state is None or state.flow != self.fs.safety_flow or state.pending or state.step != self.fs.flows[state.flow].start:
            return False
        days = read_dates(raw, self.ctx.today, self.lang, "past")
        return bool(days) and all(day < self.ctx.today for day in days)

    def assess_typed(self, raw: str, split: tuple[str, str] | None, *, everyday: bool) -> CrisisMatch | None:
        """Rules and model on a typed text; with a date said first (`date_then_more`), on what follows it,
        and on the whole only where a rule reads it (the date part is what misled the model)."""
        found = self.assessed(split[1] if split else raw, everyday=everyday)
        if found is None and split is not None:
            whole = self.assessed(raw, everyday=everyday)
            found = whole if whole is not None and whole.rule_id != MODEL else None
        return found

    def date_then_more(self, raw: str) -> tuple[str, str] | None:
        """At a date question: the date said first (a week, a month, "not sure, last week sometime") and
        what the message says after it, split at a comma or an "and".

        Why: the date part made the model read "not sure, last week sometime, he had a knife" as despair
        (the suicide check, no 112) and "weet niet precies, vorige week ergens, hij had een mes" as no
        danger and no date (review 2026-12-07); the rest alone is what to check for danger.
        """
        parts = clauses(raw.strip())  # where the date ends and more begins
        for cut in range(len(parts) - 1, 0, -1):
            told, rest = ", ".join(parts[:cut]), " ".join(parts[cut:]).strip()
            if rest and self.reads_as_date(told):
                return told, rest
        return None

    def hedged_answer(self, raw: str) -> bool:
        """A yes or no said with doubt, wholly ("ik denk het wel", "i think so"), at any question: a
        menu, buttons, a yes/no. The model read "ik denk het wel" at "Ben je gedupeerd door de
        toeslagenaffaire?" as despair (try-out 31); the question reads it (a step's `unsure`)."""
        detector = self.fs.crisis
        return (isinstance(self.step_answered(), ChooseStep | AskStep) and hedged(raw)
                and detector is not None and detector.only_an_answer(raw))
