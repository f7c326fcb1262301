"""Answers to a crisis check question ("Denk je aan zelfdoding? 1. Ja 2. Nee"), typed or pressed.

Why a layer of its own: "weet ik niet" and "soms" at "Denk je aan zelfdoding?" got "Ik begrijp niet
welke keuze je bedoelt" and the menu from before: the question and 113 were gone, and so was the
rest of the young person's message ("maar ok, hoe vraag ik mijn dossier op"; try-out 33). A
counsellor hears doubt there as a yes: the crisis answer, gently, then "Verder waar ik was / Nu
even niet". Anything else that is neither yes nor no asks the check again (113 is in it); only the
words that work at every question ("stop", "mijn gegevens") and a new crisis text leave it. After
"Nee" the message that tripped the check is read where it was typed (a menu: as its answer), and
is then not kept: a sentence about suicide is health data. The recognising stays bot.crisis's.
"""

from __future__ import annotations

from bot.engine.base import HELD
from bot.engine.crisis import OPEN_CHECK, OPEN_CHECK_KEY, PAUSED, CrisisHook
from bot.engine.held import HELD_CHOICE, HELD_ON_GO
from bot.engine.held_menu import SAFE
from bot.engine.steps import TYPED_BEFORE
from bot.engine.system import CRISIS_CHECK_TOKEN
from bot.engine.words import HELP_WORDS, NO, YES, doubtful, keyword_of, normalise, read_button
from bot.events import Send
from bot.intents import words_of

#: Said before the crisis answer when the check was answered with doubt ("weet ik niet", "soms")
DOUBT_SAID = "crisis_check.doubt"
#: Said before the check question when it is asked again (the answer was neither yes nor no)
AGAIN_SAID = "crisis_check.again"
#: "nee wtf", "nee joh", "no lol": a no with at most this many words is a no to the check (nothing
#: in it the crisis check reads); a longer one is a new message, the danger check first
PLAIN_NO_WORDS = 3


class CheckAnswers(CrisisHook):
    def offer_routes(self, raw: str) -> bool:
        """The routes a text at a menu may mean, as buttons (bot/engine/typed.py)."""
        raise NotImplementedError

    def on_first_text(self, raw: str) -> None:
        """A first message, read as one (bot/engine/typed.py)."""
        raise NotImplementedError

    def answer_open_check(self, raw: str) -> bool:
        """Typed right after a check question: yes, no, doubt (a yes), else the question again."""
        state = self.state
        if state is None or OPEN_CHECK not in state.vars:
            return False
        name = str(state.vars.pop(OPEN_CHECK))
        check = state.vars.pop(OPEN_CHECK_KEY, None)
        word = normalise(raw)
        if word not in YES | NO and self.assessed(raw, everyday=False):
            return False  # "nee, ik wil dood" is no "Nee" to the check: the crisis check reads it (the same verdict)
        picked = self.check_answer(name, check, raw, word)
        if picked is not None:
            self.on_crisis_check(picked)  # which check it was still counts there
        elif doubtful(raw):
            self.say_if(DOUBT_SAID)
            self.on_crisis_check(f"yes:{name}")  # at "Ben je thuis veilig?" the "not safe" button: its help
        elif keyword_of(word) is not None or word in HELP_WORDS or not isinstance(check, str):
            return False  # "stop", "mijn gegevens", "terug": what they mean at every question
        else:
            self.ask_check_again(name, check)
        return True

    def check_answer(self, name: str, check: object, raw: str, word: str) -> str | None:
        """The check's button a typed text means; its own buttons ("ja" at "Ben je thuis veilig?" is
        "Ja, ik ben veilig"), else a plain yes or no (`word`: the text as normalised once)."""
        if isinstance(check, str):
            return read_button(raw, [(b.id, b.label) for b in self.check_buttons(name, check)], str)
        return ("yes:" if word in YES else "no:") + name if word in YES | NO else None

    def ask_check_again(self, name: str, check: str) -> None:
        """The same check question, with its help line and buttons; the held text waits behind it."""
        assert self.state is not None
        self.say_if(AGAIN_SAID)
        question = self.text(self.for_role(check, guessed=True))
        self.show_aside(Send(question, self.check_buttons(name, check), token=CRISIS_CHECK_TOKEN))
        self.state.vars[OPEN_CHECK] = name
        self.state.vars[OPEN_CHECK_KEY] = check

    def say_if(self, key: str) -> None:
        """A text a flow set may leave out (a test fixture): said only where the locales have it."""
        if self.fs.locales.has(self.lang, key):
            self.say_key(key)

    def on_crisis_check(self, choice_id: str) -> None:
        """Yes: the crisis answer of that class. No: a short kind word and on where the user was.

        Also the buttons after a `then: pause` answer: go on now (a text held at a menu is read
        there: the question after the crisis words is answered), or not now.
        """
        answer, _, name = choice_id.partition(":")
        check = None
        if self.state is not None:
            self.state.vars.pop(OPEN_CHECK, None)
            check = self.state.vars.pop(OPEN_CHECK_KEY, None)
        detector = self.fs.crisis
        if answer == "go":
            if not self.offer_held_routes():
                self.resume()
            return
        if answer == HELD_CHOICE:  # "Nee, ga verder": the held text answers its question, unless they went on since
            (self.stale if self.held_here() is None else self.say_check_no)()
            self.use_any_held()
            return
        if answer == "later":
            self.not_now()
            return
        found = detector.confirmed(name) if detector is not None else None
        if answer == "yes" and found is not None:
            self.give_crisis(found)
            if self.state is not None and self.held_at_menu() and self.held_here() is not None:
                self.state.vars[HELD_ON_GO] = True  # "soms ..., maar ok, hoe vraag ik mijn dossier op": read after "Verder"
            return
        self.say_check_no()
        if not (self.use_first_held() or self.use_menu_held(check) or self.use_held()):
            self.reshow_or_begin()
        if self.state is not None:
            self.state.vars.pop(HELD, None)  # read or not, the text that tripped the check is not kept

    def not_now(self) -> None:
        """"Nu even niet": a kind word, and the place is kept until the person writes again."""
        detector = self.fs.crisis
        if self.state is not None:
            self.state.vars.pop(HELD, None)  # "Nu even niet" is no "that was my answer"
        if detector is not None and detector.pause is not None:
            self.say_key(detector.pause.said_later)
        if self.state is not None:
            self.state.vars[PAUSED] = True

    def offer_held_routes(self) -> bool:
        """"Verder" after "Ja" at a check: the routes the text held at the menu may mean ("maar ok, hoe vraag
        ik mijn dossier op"), offered above the menu; False when it names none (then the menu again)."""
        state = self.state
        if state is None or not state.vars.pop(HELD_ON_GO, False) or not self.held_at_menu():
            return False
        held = self.held_here()
        state.vars.pop(HELD, None)
        if held is None or (state.flow, state.step) != (held[0], held[1]):
            return False
        offered = self.offer_routes(held[2])
        if state.vars.get(TYPED_BEFORE) == held[2]:
            state.vars.pop(TYPED_BEFORE, None)  # offered, not kept: it tripped the crisis check (health data)
        return offered

    def use_first_held(self) -> bool:
        """A first message held at the first menu: read as a first message (the welcome, then what it
        names), as if the check had not come in between."""
        state = self.state
        held = self.held_here()
        if state is None or held is None or state.history or state.stack or (
                held[0], held[1]) != (self.fs.entry_flow, self.fs.flows[self.fs.entry_flow].start):
            return False
        self.spoken, self.state = state.lang, None
        self.on_first_text(held[2])
        if self.state is not None and self.state.vars.get(TYPED_BEFORE) == held[2]:
            self.state.vars.pop(TYPED_BEFORE, None)  # read, not kept: it tripped the crisis check (health data)
        return True

    def answer_denial(self, raw: str) -> bool:
        """"nee dat bedoel ik niet", "no?? i am not threatened" after a crisis reply to a held answer
        or at a yes/no check question: "No, go on", not a new crisis nor "I do not understand"."""
        state = self.state
        if state is None or (self.held_here() is None and OPEN_CHECK not in state.vars):
            return False
        check = state.vars.get(OPEN_CHECK_KEY)  # "nee" at "Ben je thuis veilig?" is no denial, nor at the
        if isinstance(check, str) and self.fs.locales.has(self.lang, check + SAFE):  # safety route's "Ben je nu veilig?"
            return False
        checking = OPEN_CHECK in state.vars
        denied = self.denies(raw, checking=checking)
        if denied is None and checking and self.plain_no(raw):
            denied = True  # "nee wtf" at "Denk je aan zelfdoding?": a no, and the held text is read
        if denied is None:
            # "no?? i am not threatened, but he had a knife": in doubt, never the held text now; the danger
            # check reads the whole message (at a check question, after it), else the question again
            if checking:  # its "nee" must not use the held text
                state.vars.pop(HELD, None)
                return False
            if not self.check_crisis(raw):
                self.reshow()
            return True
        if not denied:
            return False
        name, _key, _paused = (state.vars.pop(var, None) for var in (OPEN_CHECK, OPEN_CHECK_KEY, PAUSED))
        self.on_crisis_check(f"no:{name or ''}")
        return True

    def plain_no(self, raw: str) -> bool:
        """A short no ("nee wtf", "no lol") with nothing in it the crisis check reads."""
        words = words_of(raw)
        return bool(words) and words[0] in NO and len(words) <= PLAIN_NO_WORDS and self.assessed(raw, everyday=False) is None
