"""The crisis hook: every typed text is checked for a crisis, at any step, before it is an answer.

Sure: the crisis answer of its class (and the safety flow where the class says so), then
back where the user was. Unsure: a direct yes/no question naming the help line. A long
free-text answer that trips the check is kept as the answer, so nobody types their story
twice. The recognising itself is bot.crisis's; this layer decides what the turn does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.answers import text_bounds
from bot.engine.base import HELD
from bot.engine.everyday import MODEL
from bot.engine.held_menu import RESUME, SAFE, UNSAFE, HeldAtMenu
from bot.engine.steps import TYPED_BEFORE, TYPED_BEFORE_FROM
from bot.engine.system import CRISIS_CHECK_TOKEN
from bot.events import ChoiceButton, Send
from bot.flows.steps import AskStep, ChooseStep

if TYPE_CHECKING:
    from bot.crisis import CrisisMatch

#: State variable naming the class of a check question still open (typed "ja"/"nee" answers it).
OPEN_CHECK = "_crisis_check"
#: State variable: the text key of that check question, for its own buttons (see `check_buttons`)
OPEN_CHECK_KEY = "_crisis_check_key"
#: State variable: the person chose "not now" after a crisis answer; their next message that
#: answers nothing brings the question back without "I do not understand".
PAUSED = "_paused"


#: A threat that opened the safety flow is kept from this many words on: it already says what
#: happened ("my home address was posted on facebook yesterday by a parent", 60 characters, was
#: under the 80 a story needs elsewhere, and the what, when and platform were asked again).
THREAT_TOLD_FROM_WORDS = 5
#: The role in `crisis.by_role.<role>.guessed` before the person chose one (see `for_role`)
UNKNOWN_ROLE = "unknown"
#: A match made by no rule: the model's, or a check question the person said yes to
GUESSED = frozenset({MODEL, "confirmed"})


def told_a_threat(raw: str) -> bool:
    text = raw.strip()
    return len(text) >= TYPED_BEFORE_FROM or len(text.split()) >= THREAT_TOLD_FROM_WORDS


class CrisisHook(HeldAtMenu):
    #: the message before this one asked a crisis question aside (a check, "go on now?")
    crisis_aside: bool = False

    def check_crisis(self, raw: str, *, keep: bool = True, notice: tuple[str, int] | None = None) -> bool:
        """Rules and model on a typed text: the crisis answer (sure), a check question (unsure), or go on.

        A free-text answer that trips the check is kept: it is stored as the answer to the
        question and the flow goes on after the crisis lines, so nobody has to type their
        story twice. `keep=False` (a paste over the length limit) only answers the crisis;
        `notice` is then said before the question is asked again.
        """
        detector = self.fs.crisis
        if detector is None:
            return False
        in_safety = self.in_safety_route()
        split = self.date_then_more(raw) if in_safety else None
        found = self.assess_typed(raw, split, everyday=not self.after_crisis())
        if found is None:
            return self.danger_now_without_match(raw)  # "help hij is hier" in the safety route: 112 first
        if found.rule_id == MODEL and (self.hedged_answer(raw) or (self.at_plain_question() and (
                detector.only_an_answer(raw) or self.tells_when(raw) or self.restates_the_question(raw)))):
            # "ik weet het niet meer" at "what date?": the question's answer (crisis.yaml `answers`),
            # in the safety flow too: a worker's "its still going on" at "have you been to the police?"
            # or "ik denk het wel" at "did you keep evidence?" got the 113 answer (a try-out); and at a
            # date, what the one date reader reads whole ("not sure, last week sometime", a fourth try-out)
            return False
        if found.quiet_in_safety_flow and in_safety:
            # Already in the safety flow: describing the threat at a question that asks for it IS
            # the answer, not a new crisis (every `then: safety` class, and those marked
            # quiet_in_safety_flow in crisis.yaml). Typed at buttons or a date ("he is at my door
            # with a knife" after "the danger is over"), it is no answer: 112 first, then the
            # question again, not "I do not understand which choice you mean".
            # Veilig Thuis only where a rule read a partner or an ex, not the model's neighbour guess
            home = found.crisis_class == "domestic_violence" and found.rule_id != MODEL
            if self.at_story_question() or detector.in_safety_flow is None:
                self.warn_danger_now(raw, home=home)
                return False  # the story is kept, with 112 first when the danger is now
            assert self.state is not None
            if self.danger_at_buttons(raw, home=home):  # "he is outside my house right now": that button
                return True
            step = self.step_answered()
            if split is not None and isinstance(step, AskStep):
                self.answer(step, split[0])  # "not sure, last week sometime": the week read back
            elif not self.answer_date_told(raw):
                self.reshow()
            return True
        kept = keep and self.keep_answer(raw)
        checking = not found.sure and found.check is not None
        holds = keep and self.may_be_meant_here(raw, found, checking=checking)
        self.begin_to_hold(checking and holds)
        held = holds and not kept and (self.hold_answer(raw) or self.hold_menu_answer(raw))
        if checking:
            self.ask_crisis_check(found, kept=kept, notice=notice)
        else:
            self.give_crisis(found, kept=kept, notice=notice, held=held)
            if found.then == "safety" and not kept and self.state is not None and told_a_threat(raw):
                self.state.vars[TYPED_BEFORE] = raw.strip()  # offered at the summary's "what happened?"
        if held:
            self.held_offered_here()
        return True

    def may_be_meant_here(self, raw: str, found: CrisisMatch, *, checking: bool) -> bool:
        """Is the text held, so that "Nee" / "Nee, ga verder" still reads it where it was typed (held.py,
        held_menu.py)? What the model guessed, and what a rule only asked about (its `check:`, not sure);
        not a rule's sure match (meant), nor a text that is nothing but the asking rule's clause.

        Why a rule's question too: "ik ben 19, heb in een leefgroep gezeten en wil mijn dossier. ik kan echt niet
        meer" lost the message after "Nee" (the question the person was at came again), where a model's guess of
        the same words kept it; and the scenarios that test "Nee" needed one model's false alarm, which every
        retrained model moved (docs/CRISIS.md, eighth and ninth rounds). "Ik kan niet meer." alone answers nothing:
        after "Nee" the kind word and the question again, as before.
        """
        if found.rule_id == MODEL:
            return True
        detector = self.fs.crisis
        return checking and detector is not None and not detector.nothing_but(raw, found.rule_id)

    def begin_to_hold(self, holding: bool) -> None:
        """A first message the check question stops: held at the first menu, so after "Nee" it is read (try-out
        33: "ik ben 19 en heb in een leefgroep gezeten, wil mn dossier" got the check, after "nee" the role menu)."""
        if holding and self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, quiet=True)

    def after_crisis(self) -> bool:
        """Is a crisis answer's check question or "go on now?" still open? Then an everyday
        message ("not yet, will do tomorrow") may be a plan, and the model is not held back."""
        state = self.state
        return state is not None and (self.crisis_aside or any(v in state.vars for v in (OPEN_CHECK, PAUSED, RESUME)))

    def for_role(self, key: str, *, guessed: bool = False) -> str:
        """The crisis text in the words of who is typing, when there is one: a young person
        (`role: young`) gets `crisis.by_role.young.<key>` ("Doet iemand je pijn?"), not the
        adults' "door je partner of je ex" and "Ben je jonger dan 18?".

        `guessed`: only the model read it, or the person said yes to its check question, and no rule did:
        `crisis.by_role.<role>.guessed.<key>` first (`unknown` before anyone chose a role). Why: "wat als hij
        erachter komt dat ik gebeld heb", a 14-year-old afraid of her stepfather, was the model's "intent to
        harm": "Ik merk dat je heel boos bent ... iemand pijn doen maakt het erger", and before a role "het gaat
        om je kind" (try-out 34). A guess is answered in words that fit fear as well as anger.
        """
        role = self.state.vars.get("role") if self.state is not None else None
        if not key.startswith("crisis."):
            return key
        rest = key.removeprefix("crisis.")
        role_name = role if isinstance(role, str) else UNKNOWN_ROLE
        variants = [f"crisis.by_role.{role_name}.guessed.{rest}"] if guessed else []
        if isinstance(role, str):
            variants.append(f"crisis.by_role.{role}.{rest}")
        return next((v for v in variants if self.fs.locales.has(self.lang, v)), key)

    def keep_answer(self, raw: str) -> bool:
        """Store a typed answer to the free-text question the user is at, without showing what follows."""
        state, step = self.state, self.step_answered()
        if state is None or not isinstance(step, AskStep) or not step.asks_for_a_story or step.next is None:
            return False  # a name, a date ... or a text for the public: asked again as before
        text = raw.strip()
        low, high = text_bounds(step)
        if not low <= len(text) <= high:
            return False
        if step.protect == "letter":
            self.kept_letter_text = (step, text)  # its warning about names comes after the crisis lines
        self.remember()
        state.vars[step.save] = text
        state.vars.pop(TYPED_BEFORE, None)
        state.fails = 0
        state.offer = []
        self.goto(state.flow, step.next)
        # a compute or branch after the story (a date in it read back next) says nothing: it runs
        # now, so the conversation waits at a question while the person decides to go on or not
        self.run(until_question=False)
        return True

    def give_crisis(self, found: CrisisMatch, *, kept: bool = False, notice: tuple[str, int] | None = None,
                    held: bool = False) -> None:
        """The crisis answer first, then where the user was (or the next step after a kept answer); after a
        `held` answer "Nee, ga verder" under it where it goes on (the safety route, `continue`)."""
        self.stats.append(f"crisis:{found.crisis_class}")
        self.say_key(self.for_role(found.reply, guessed=found.rule_id in GUESSED))
        if held and (found.then != "pause" or self.held_at_menu()):  # from a menu: "Nee, ga verder" too
            self.offer_way_on(found.crisis_class)
        if self.state is not None:
            self.state.vars["_crisis"] = True
        if found.then == "safety" and self.fs.safety_flow in self.fs.flows:
            if self.state is None:
                self.begin(self.fs.safety_flow, fresh=True)
            else:
                if not kept:
                    self.remember_keeping_held()
                self.state.pending = None
                self.enter(self.fs.safety_flow, self.fs.flows[self.fs.safety_flow].start,
                           return_to=(self.state.flow, self.state.step))
                self.run()
        else:
            if kept and found.kept_note is not None:
                self.say_key(found.kept_note)
            if notice is not None:
                self.say_key(notice[0], limit=notice[1])
            detector = self.fs.crisis
            if found.then == "pause" and detector is not None and detector.pause is not None:
                waits = isinstance(self.step_answered(), ChooseStep | AskStep)
                if kept and self.state is not None and waits:  # the next question waits until they want to go on
                    self.warn_kept_letter_text()
                    self.state.vars[RESUME] = True
                self.ask_pause(found.crisis_class, detector.pause)
                if kept and not waits:  # what follows the story speaks first (a text, a card): it comes now
                    self.go_on(kept)
            else:
                self.go_on(kept)
        if self.state is not None:
            self.state.vars["_crisis"] = True  # also when this message started the conversation
        self.join_way_on()

    def resume(self, welcome_back: bool = False) -> None:
        """On after a pause: the question that waited behind it (a kept answer's next one), else the same."""
        state = self.state
        waiting = state is not None and bool(state.vars.pop(RESUME, False))
        if state is not None:
            state.vars.pop(PAUSED, None)
        detector = self.fs.crisis
        if welcome_back and detector is not None and detector.pause is not None:
            self.say_key(detector.pause.back)
        if state is not None:
            # a plain "go on" is no "that was my answer": "my boyfriend hits my son" became the
            # council's public text after a pause (review 2026-12-07); only an explicit no uses it
            state.vars.pop(HELD, None)
        if waiting:
            self.run()
        else:
            self.reshow_or_begin()

    def go_on(self, kept: bool) -> None:
        """After a crisis answer or check: the next step after a kept answer, else the same question."""
        if kept:
            self.warn_kept_letter_text()
            self.run()
        else:
            self.reshow_or_begin()

    def ask_crisis_check(self, found: CrisisMatch, *, kept: bool, notice: tuple[str, int] | None) -> None:
        """Not sure: ask directly, naming the help line, with yes/no. The flow waits for nothing.

        After a kept answer the check question comes first and the flow's next question
        last: the conversation goes on as typed, and the check's buttons stay valid. Without
        a kept answer the check question is the one asked, and a typed "ja"/"nee" answers it.
        """
        assert found.check is not None
        self.stats.append(f"crisis_check:{found.crisis_class}")
        if notice is not None:
            self.say_key(notice[0], limit=notice[1])
        if not kept and self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, quiet=True)
        name = found.crisis_class
        buttons = self.check_buttons(name, found.check)
        check = Send(self.text(self.for_role(found.check, guessed=True)), buttons, token=CRISIS_CHECK_TOKEN)
        if kept:  # the flow's next question comes last: a typed number answers that one
            self.out.append(check)
            self.warn_kept_letter_text()
            self.run()
        else:
            self.show_aside(check)
            if self.state is not None:
                self.state.vars[OPEN_CHECK] = name
                self.state.vars[OPEN_CHECK_KEY] = found.check

    def check_buttons(self, name: str, check: str) -> tuple[ChoiceButton, ChoiceButton]:
        """Yes (the worry, its help) and no; a check asked the positive way has its own labels, "safe" first.

        Why: "Voel je je thuis niet veilig? 1. Ja 2. Nee" after a young person's "kan ik ergens anders
        slapen" made them say yes to a negative (try-out 2026-12-07); "Ben je thuis veilig?" reads plainly.
        """
        if self.fs.locales.has(self.lang, check + SAFE) and self.fs.locales.has(self.lang, check + UNSAFE):
            return (ChoiceButton(f"no:{name}", self.text(check + SAFE)),
                    ChoiceButton(f"yes:{name}", self.text(check + UNSAFE)))
        return ChoiceButton(f"yes:{name}", self.text("sys.yes")), ChoiceButton(f"no:{name}", self.text("sys.no"))

    def warn_kept_letter_text(self) -> None:
        """A kept answer for a letter still gets the warning about names that `protect: letter` gives."""
        if self.kept_letter_text is not None:
            step, text = self.kept_letter_text
            self.kept_letter_text = None
            self.protect(step, text)
