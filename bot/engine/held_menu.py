"""A text typed at a menu that the crisis check stopped: held, so "Nee, ga verder" still reads it there.

Why: a grandmother at the relatives' menu typed "they took my grandson away" and got the suicide
check; "my grandson was taken into care and they wont let me see him" got the domestic-violence
text, and "no" or "not what i meant" after it got "I do not understand which choice you mean"
(try-out 31). A free-text question holds such a text itself (bot/engine/held.py); a menu or other
buttons hold it here, in the same state variable, so the same ways on work: "Nee, ga verder" beside
the crisis reply, "Nee" at the check question, "go on where I was" after a pause, or a typed denial.
Then the text is read as the menu answer, as if just typed, after the crisis check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.base import HELD
from bot.engine.danger import DangerNow
from bot.engine.steps import TYPED_BEFORE
from bot.engine.system import CRISIS_CHECK_TOKEN, Aside
from bot.events import ChoiceButton, Send
from bot.flows.steps import ChooseStep

if TYPE_CHECKING:
    from bot.crisis import PauseTexts

#: A check asked the positive way ("Ben je thuis veilig?") names its buttons `<check>_safe` (goes
#: on, shown first) and `<check>_unsafe` (the help answer); without them "Ja" is the worry
SAFE, UNSAFE = "_safe", "_unsafe"
#: State variable: a kept answer moved the flow on, but its next question waits behind "go on now?"
RESUME = "_resume"
#: The id of the pause's "go on now" button, before the crisis class ("go:suicide")
PAUSE_GO = "go:"


class HeldAtMenu(DangerNow):
    def on_choose_text(self, step: ChooseStep, raw: str, *, held: bool = False) -> None:
        """A text typed at buttons, read as their answer (bot/engine/builder.py)."""
        raise NotImplementedError

    def hold_menu_answer(self, raw: str) -> bool:
        """Hold a text typed at buttons (a menu, a yes/no) the crisis check stopped."""
        state, step = self.state, self.step_answered()
        if state is None or not isinstance(step, ChooseStep):
            return False
        state.vars[HELD] = [state.flow, state.step, raw.strip()]
        return True

    def held_at_menu(self) -> bool:
        """Is the text held one typed at buttons (not at a free-text question)?"""
        state = self.state
        held = state.vars.get(HELD) if state is not None else None
        return isinstance(held, list) and len(held) >= 3 and isinstance(self.fs.step(str(held[0]), str(held[1])), ChooseStep)

    def use_any_held(self) -> bool:
        """"Nee, ga verder": the held text answers where it was typed, at buttons or a free-text question."""
        return self.use_menu_held() or self.use_held()

    def use_menu_held(self, check: object = None) -> bool:
        """Read the text held at buttons as their answer; False when none is held here (then held.py's way).

        Not after "Ja, ik ben veilig" at a check asked the positive way (`check`, its text key): that
        answers the check only, it says nothing about what the text meant.
        """
        state = self.state
        if state is None or not self.held_at_menu() or (
                isinstance(check, str) and self.fs.locales.has(self.lang, check + SAFE)):
            return False
        held = self.held_here()  # dropped when the person moved on since
        if held is None:
            return False
        state.vars.pop(HELD, None)
        flow, step_id, text = held[:3]
        step = self.fs.step(flow, step_id)
        if not isinstance(step, ChooseStep) or (state.flow, state.step) != (flow, step_id):
            return False
        state.pending, state.offer = None, []
        self.on_choose_text(step, text, held=True)
        if state.vars.get(TYPED_BEFORE) == text:  # read, not kept: it tripped the crisis check (health data)
            state.vars.pop(TYPED_BEFORE, None)
        return True

    def ask_pause(self, name: str, texts: PauseTexts) -> None:
        """After the crisis lines: go on now, or not now? The next form question can wait.

        A person who may be in danger is not handed "Waar gaat het over?" in the same breath.
        The conversation stays where it was; either button is valid whenever it is pressed.
        """
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, quiet=True)
        buttons = (ChoiceButton(PAUSE_GO + name, self.text(texts.go)), ChoiceButton(f"later:{name}", self.text(texts.later)))
        self.show_aside(Send(self.text(texts.question), buttons, token=CRISIS_CHECK_TOKEN))

    @staticmethod
    def pause_shown(aside: Aside | None) -> str | None:
        """The crisis class whose "go on now, or not now?" was the last question shown, else None."""
        if aside is not None and aside.token == CRISIS_CHECK_TOKEN and aside.first_id.startswith(PAUSE_GO):
            return aside.first_id.removeprefix(PAUSE_GO)
        return None

    def pause_again(self, name: str | None) -> bool:
        """A text typed at "Verder waar ik was / Nu even niet": that choice again, the text not used.

        Why: after the suicide lines at the council e-mail, "ik weet het echt niet meer" typed at that
        choice became the public "Ik vraag de raad: ..." and "nee" got "between 5 and 600 characters" (a
        try-out, 2026-12-07). The form's question is hidden behind the pause, so nothing typed there
        answers it; a danger in the text was read before this (check_crisis). A kept answer's next
        question (RESUME) is shown instead by the caller, as before.
        """
        detector, state = self.fs.crisis, self.state
        if name is None or state is None or state.vars.get(RESUME) or detector is None or detector.pause is None:
            return False
        self.ask_pause(name, detector.pause)
        return True
