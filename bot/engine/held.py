"""An answer the crisis check stopped: held, so "Nee, ga verder" can still give it to its question.

Why: a parent's request to the council ("put a youth worker on the island and pay the ferry")
tripped the model, was taken for a worker's threat and went into the safety route; "no?? i am
not threatened" was not understood, and only "back" got out, with the text gone (try-out
2026-12-07). A story question keeps such a text itself (crisis.keep_answer); any other free-text
question (a text for the public, a short answer) now holds it here when the model guessed, or a
rule only asked its check question (not a rule's sure match: that is meant), for an explicit no
only: the "No, go on" button beside the crisis reply, "No" at the check question, or a typed
denial ("nee dat bedoel ik niet"). A plain "go on now" after a pause
is no such no: "my boyfriend hits my son" became the council's public text that way (review
2026-12-07). Then the text is answered as if it had just been typed, its checks included (names
in a text for the public). Anything else the person does moves them on and drops it. This layer
never decides what is a crisis: that stays bot.crisis's.
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine.answers import text_bounds
from bot.engine.base import HELD
from bot.engine.everyday import EverydayAnswers
from bot.engine.steps import TYPED_BEFORE
from bot.engine.system import ASIDE, CRISIS_CHECK_TOKEN, Aside
from bot.engine.words import NO
from bot.events import ChoiceButton, Send
from bot.flows.steps import AskStep, ChooseStep
from bot.intents import words_of

#: The texts of the way on; a set without the first two offers none (the crisis reply as before)
HELD_OFFER, HELD_GO, HELD_WORDS = "crisis.held.offer", "crisis.held.go", "crisis.held.words"
#: Small words that may stand beside a denial ("for the council")
HELD_FILLER = "crisis.held.filler"
#: The choice id of the "No, go on" button (with the crisis class after it)
HELD_CHOICE = "held"
#: State variable: "Ja" (or doubt) at a check question, with a text held at a menu: "Verder waar ik was"
#: reads that text there, as there is no "Nee, ga verder" beside that crisis answer (try-out 33)
HELD_ON_GO = "_held_on_go"


class HeldAnswers(EverydayAnswers):
    def hold_answer(self, raw: str) -> bool:
        """Hold a text typed at a free-text question the crisis check stopped (not kept as a story)."""
        state, step = self.state, self.step_answered()
        if state is None or not isinstance(step, AskStep) or step.type != "text":
            return False
        text = raw.strip()
        low, high = text_bounds(step)
        if not low <= len(text) <= high:
            return False
        state.vars[HELD] = [state.flow, state.step, text]
        return True

    def held_offered_here(self) -> None:
        """Pin the way on to where the crisis reply left the person (its question, or the safety route's first).

        Why: "Nee, ga verder" pressed later, after the person moved on, would answer a question they
        left with a text they may no longer mean; a pinned place makes every move on drop it.
        """
        state = self.state
        held = state.vars.get(HELD) if state is not None else None
        if state is not None and isinstance(held, list):
            state.vars[HELD] = [*held[:3], state.flow, state.step]

    def held_here(self) -> list[str] | None:
        """The held answer, while the person is still where its way on was offered; else dropped."""
        state = self.state
        held = state.vars.get(HELD) if state is not None else None
        if state is None or held is None:
            return None
        if isinstance(held, list) and len(held) == 5 and [state.flow, state.step] == held[3:]:
            return [str(part) for part in held]
        state.vars.pop(HELD, None)
        return None

    def drop_held_elsewhere(self) -> None:
        """After every event: a held answer is valid only where its way on was offered, so a button or a
        timer that moved on drops it too, not only a typed text; it never lingers until retention (review
        2026-12-07)."""
        if self.state is not None and HELD in self.state.vars:
            self.held_here()
        if self.state is not None and HELD not in self.state.vars:
            self.state.vars.pop(HELD_ON_GO, None)

    def remember_keeping_held(self) -> None:
        """Remember where the person was, as the crisis reply leads into the safety route: the held answer
        is why the route opens, and stays for its way on (`remember` drops it on every other move)."""
        assert self.state is not None
        waiting = self.state.vars.pop(HELD, None)
        self.remember()
        if waiting is not None:
            self.state.vars[HELD] = waiting

    def offer_way_on(self, name: str) -> None:
        """"Nee, ga verder" beside a crisis reply to a held answer; its button is valid while the answer is."""
        if self.state is None or HELD not in self.state.vars or not (
                self.fs.locales.has(self.lang, HELD_OFFER) and self.fs.locales.has(self.lang, HELD_GO)):
            return
        button = ChoiceButton(f"{HELD_CHOICE}:{name}", self.text(HELD_GO))
        self.out.append(Send(self.text(HELD_OFFER), (button,), token=CRISIS_CHECK_TOKEN))

    def join_way_on(self) -> None:
        """One list: "Nee, ga verder" becomes the last button of the question shown after it this turn.

        Why: beside the safety route's first question (or the menu again, or "go on now?") it was a list
        of its own, and both were numbered from 1 on Matrix and the console: "1" meant for "Nee, ga verder"
        chose "Ik ben nu in gevaar" (try-out 32). Its number now follows the question's own; the question's
        own numbers are read as always (blank in the aside). Without a question after it, it stays alone.
        """
        offers = [i for i, a in enumerate(self.out)
                  if isinstance(a, Send) and any(b.id.startswith(f"{HELD_CHOICE}:") for b in a.choices)]
        if not offers or self.state is None:
            return
        offer = self.out[offers[0]]
        assert isinstance(offer, Send)
        for at in range(offers[0] + 1, len(self.out)):
            question = self.out[at]
            if isinstance(question, Send) and question.choices:
                break
        else:
            return
        self.out[offers[0]] = replace(offer, choices=(), token="")
        self.out[at] = replace(question, choices=(*question.choices, *offer.choices))
        kept = Aside.read(self.state.vars.get(ASIDE))
        own = kept.buttons if kept is not None and kept.token == question.token else tuple(("", "") for _ in question.choices)
        self.state.vars[ASIDE] = Aside(question.token, (*own, *((b.id, b.label) for b in offer.choices))).kept()

    def denies(self, raw: str, *, checking: bool = False) -> bool | None:
        """Is this only "no, that is not what I meant" ("no?? i am not threatened, i was writing my request")?
        None: a denial with more after it, which is no denial but a doubt.

        A no first or a phrase of `crisis.held.words` (any language: people mix them), and nothing
        left but `crisis.held.filler`. Why so strict: "that is not what i meant, but a parent did
        follow me home" and "no?? i am not threatened, but he had a knife" took a worker out of
        the safety route, because the model missed the danger in the rest alone (review
        2026-12-07); what says more is read as a new message, the danger check first. Where a
        question of the flow reads it as its own answer ("nee" at "Ben je nu veilig?") it is
        that answer, unless a crisis check question is open (`checking`).
        """
        words = words_of(raw)
        if not words or (not checking and self.takes_yes_or_no(raw)):
            return False
        said_no = words[0] in NO
        told = words[1:] if said_no else words
        rest = self.fs.phrases(HELD_WORDS).left_over(" ".join(told))
        filler = self.fs.derived(HELD_FILLER, lambda: frozenset(
            w for lang in self.fs.locales.languages if self.fs.locales.has(lang, HELD_FILLER)
            for w in words_of(self.text_in(lang, HELD_FILLER))))
        if not said_no and len(rest) == len(told):
            return False
        return True if all(w in filler for w in rest) else None

    def takes_yes_or_no(self, raw: str) -> bool:
        """Does the question the person is at read this text as one of its own answers (yes/no, a button)?

        Why: there "nee" is that question's answer ("Ben je nu veilig?" in the safety route), not "that
        is not what I meant"; taking it as a denial would lead a worker out of the route.
        """
        step = self.step_answered()
        if isinstance(step, AskStep):
            return step.type == "yesno"
        return isinstance(step, ChooseStep) and self.match_buttons(raw, [(o.id, o.label) for o in self.offered(step)]) is not None

    def say_check_no(self) -> None:
        """"Goed, dank je dat je het zegt": said before the flow goes on after a "no" (crisis.yaml `check_no`)."""
        detector = self.fs.crisis
        if detector is not None and detector.check_no is not None:
            self.say_key(detector.check_no)

    def use_held(self) -> bool:
        """Back to the question the held answer was typed at (out of the safety route if it went
        there) and answer it with that text. False when nothing is held here."""
        held = self.held_here()
        state = self.state
        if held is None or state is None:
            return False
        state.vars.pop(HELD, None)
        flow, step_id, text = held[:3]
        if state.vars.get(TYPED_BEFORE) == text:
            # not what happened after all: leaving the safety route cuts the stack without ending it, and
            # the export went on promising to offer it as the answer to what happened (review 2026-12-07)
            state.vars.pop(TYPED_BEFORE, None)
        step = self.fs.step(flow, step_id)
        stack = [(f, s) for f, s in state.stack]
        if not isinstance(step, AskStep) or ((state.flow, state.step) != (flow, step_id) and (flow, step_id) not in stack):
            return False
        if (state.flow, state.step) != (flow, step_id):
            del state.stack[len(stack) - 1 - stack[::-1].index((flow, step_id)):]
            self.goto(flow, step_id)
        state.pending, state.offer = None, []
        self.answer(step, text)
        return True
