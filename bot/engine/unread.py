"""Words typed at buttons that name none of them: where they lead, or what the buttons are for.

Why a layer of its own: at a youth card's "Wil je hier meer over lezen?" a 14-year-old typed "hij schreeuwt
nu weer, ik wil hier gewoon weg"; after "Nee" at the suicide check she got "Ik begrijp niet welke keuze je
bedoelt" and no help. A foster mother's "kan ik de verhuizing nog tegenhouden?" and a grandmother's "who
should I write to?" got the same line twice, and nothing moved on (try-out 34). Now, in this order:
- the flow's own menu reads them (`words_behind`, bot/engine/typed.py: the menu "Ja, iets anders" leads
  back to), so "hij schreeuwt" is "Ik voel me niet veilig" wherever in the youth route it is typed;
- a young person's message that the crisis check held, and that says the danger is now ("nu", "weer",
  `crisis.by_role.young.now_words`), gets the child-in-danger help (112, the Kindertelefoon, Veilig Thuis);
- a held message that is none of these gets a kind "what do you need?" (`sys.invalid.held`);
- a typed question that names another route of the main menu ("krijg ik een gratis advocaat?", "what about
  the veilig thuis report?" in the middle of a complaint) is offered that route as a detour: "Daar kan ik je
  mee helpen. Nu daarheen, of eerst hier verder?" (`sys.detour.*`). The route is entered as a call that comes
  back to this question, so nothing typed before is lost; a route already open, or one the main menu does not
  offer the person's role, is not offered (try-out 37: persons 2, 3 and 5 got a dead end and typed "menu");
- a typed question or sentence gets one short line: what the buttons are for, and that "menu" has the other
  topics (`sys.invalid.typed_question`), not "kies een knop"; not where the question has its own
  `invalid` text, nor in the worker's safety route.
A single word or a typing error keeps "Ik begrijp niet welke keuze je bedoelt": that is what it is.
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine.held_menu import PAUSE_GO
from bot.engine.system import CRISIS_CHECK_TOKEN
from bot.engine.typed import DETOUR, DETOUR_STAY_TEXT, SAID_ROLE, STORY_HEARD, TypedWords
from bot.events import ChoiceButton, Send
from bot.flows.steps import CallStep, ChooseStep
from bot.intents import words_of

#: What a typed question at buttons is told (the buttons are for this question; type yours at the menu)
TYPED_QUESTION = "sys.invalid.typed_question"
#: What a held message that names no button is told, after "Nee" at the check ("Wat heb je nodig?")
HELD_UNREAD = "sys.invalid.held"
#: Words that make a young person's held message a danger now ("hij schreeuwt nu weer"), any language
YOUNG_NOW = "crisis.by_role.young.now_words"
#: The child-in-danger help a young person gets (112, the Kindertelefoon, Veilig Thuis)
YOUNG_DANGER = "crisis.by_role.young.child_danger"
#: "Daar kan ik je mee helpen. Nu daarheen, of eerst hier verder?", and the button that stays
DETOUR_QUESTION, DETOUR_STAY = "sys.detour.question", DETOUR_STAY_TEXT
#: "nah im fine, gaat wel" typed at "Verder waar ik was / Nu even niet" after a crisis reply: the phrases, and the
#: one line that acknowledges them ("Fijn. We gaan verder.") before the question they were at
PAUSE_FINE_WORDS, PAUSE_FINE = "sys.pause_fine.words", "sys.pause_fine.said"
#: Words that turn "fine" around ("het gaat niet goed", "i am not fine"): then the pause's question again
NOT_FINE = frozenset({"niet", "geen", "nooit", "not", "never", "dont", "don", "isnt", "cant", "nt"})
#: A text of this many words, or one that ends in "?", is a question or a sentence, not a mistyped button
SENTENCE_WORDS = 3


class UnreadText(TypedWords):
    def answer_unread(self, step: ChooseStep, raw: str, *, held: bool = False) -> bool:
        """A text at buttons (not a menu: its routes answered) that named none of them; True when answered here."""
        if self.state is None or self.fs.flows[self.state.flow].menu:
            return False
        if held and (self.young_danger_now(raw) or self.say_held_unread()):
            self.reshow()
            return True
        if not held and self.offer_detour(raw):
            return True
        # a question's own `invalid` text says it better (the youth menu's warm word); in the safety route a
        # worker is answering about the threat, and "menu" would take them out of it
        if (step.invalid is None and not self.in_safety_route() and self.is_sentence(raw)
                and self.fs.locales.has(self.lang, TYPED_QUESTION)):
            self.fail(TYPED_QUESTION)
            self.reshow()
            return True
        return False

    def offer_detour(self, raw: str, *, heard: bool = False) -> bool:
        """Routes of the main menu the text names, offered beside this question ("Nu daarheen, of eerst hier
        verder?"); True when any was. Not a route already open here, nor one the menu does not offer the role;
        not in the worker's safety route (they are answering about the threat). `heard`: a story, thanked first."""
        state = self.state
        assert state is not None
        if self.in_safety_route() or not (self.fs.locales.has(self.lang, DETOUR_QUESTION)
                                          and self.fs.locales.has(self.lang, DETOUR_STAY)):
            return False
        entry, open_flows = self.fs.entry_flow, {state.flow, *(flow for flow, _ in state.stack)}
        fits = self.fs.routes_per_role().get(str(state.vars.get("role")))
        said = self.fs.intents().roles_said(raw)
        buttons = [ChoiceButton(DETOUR + guess.route, self.text(found[1].label))
                   for guess in self.fs.intents().match(raw)
                   if isinstance(call := self.fs.step(entry, guess.route), CallStep) and call.call not in open_flows
                   and (fits is None or guess.route in fits.offered) and (found := self.route_of(guess.route, entry))
                   and not self.not_their_safety_route(guess.route, found[2], said, entry)]
        if not buttons:
            return False
        self.keep_story(raw)
        buttons.append(ChoiceButton(DETOUR, self.text(DETOUR_STAY)))
        question = self.text(DETOUR_QUESTION)
        if heard:
            question = f"{self.text(STORY_HEARD)}\n{question}"
        self.show_aside(Send(question, tuple(buttons), token=state.step))
        return True

    def take_detour(self, choice_id: str) -> bool:
        """A detour button pressed: into that route as a call that comes back to this question, or this question
        again ("eerst hier verder"). The role the menu's option sets counts where none is known yet."""
        state = self.state
        if state is None or not choice_id.startswith(DETOUR):
            return False
        route = choice_id.removeprefix(DETOUR).partition(SAID_ROLE)[0]
        call = self.fs.step(self.fs.entry_flow, route) if route else None
        found = self.route_of(route, self.fs.entry_flow) if route else None
        if not route:
            self.reshow()
        elif not isinstance(call, CallStep) or found is None or call.call not in self.fs.flows:
            return False
        else:
            for name, value in (found[2].set.items() if found[2] is not None else ()):
                state.vars.setdefault(name, value)
            self.remember()  # "terug" comes back to this question
            self.enter(call.call, self.fs.flows[call.call].start, return_to=(state.flow, state.step))
            self.run()
        return True

    def paused(self, pause: str | None, raw: str) -> bool:
        """A text typed at "Verder waar ik was / Nu even niet" (`pause`, its crisis class): "gaat wel" goes on,
        anything else gets that choice again (bot/engine/held_menu.py); False when no such choice is open."""
        return self.fine_at_pause(pause, raw) or self.pause_again(pause)

    def fine_at_pause(self, pause: str | None, raw: str) -> bool:
        """"nah im fine, gaat wel. back to the complaint" at "Verder waar ik was / Nu even niet": one line ("Fijn.
        We gaan verder.") and the question they were at, as "Verder waar ik was"; True when said.

        Why: a 17-year-old's "I'm fine" after the suicide lines got the same choice again, unacknowledged (try-out
        37). Only a plain "fine": with "niet", "not" or "geen" in it, or no such phrase, the choice comes again.
        The crisis check read the text before this.
        """
        if pause is None or self.state is None or not self.fs.locales.has(self.lang, PAUSE_FINE) \
                or NOT_FINE & set(words_of(raw)) or not self.fs.phrases(PAUSE_FINE_WORDS).match(raw):
            return False
        self.say_key(PAUSE_FINE)
        self.on_choice(PAUSE_GO + pause, CRISIS_CHECK_TOKEN)
        return True

    def say_held_unread(self) -> bool:
        """"Wat heb je nodig?" after "Nee" at the check, for a held message that names nothing: kind, no reproach."""
        if not self.fs.locales.has(self.lang, HELD_UNREAD):
            return False
        self.say_key(HELD_UNREAD)
        return True

    def join_to_said_before(self, mark: int) -> None:
        """After "Nee" at the check, "Goed, dank je dat je het zegt" and the first text of the part the held
        message led to are one message: with that part's card and question a phone shows three, not four."""
        if 0 < mark < len(self.out):
            before, first = self.out[mark - 1], self.out[mark]
            if isinstance(before, Send) and isinstance(first, Send) and not before.choices and not first.choices \
                    and before.document is None and first.document is None and first.preview is None:
                self.out[mark - 1:mark + 1] = [replace(before, text=f"{before.text}\n\n{first.text}")]

    def read_behind(self, step: ChooseStep, raw: str, *, held: bool = False) -> bool:
        """The menu behind "Ja, iets anders" reads the text (`words_behind`); a held text's "Goed, dank je" joins
        the first message of the part it led to, so a phone shows three messages, not four."""
        mark = len(self.out)
        if not self.words_behind(step, raw):
            return False
        if held:
            self.join_to_said_before(mark)
        return True

    def young_danger_now(self, raw: str) -> bool:
        """A young person's held message that says the danger is now: the child-in-danger help, True when said."""
        state = self.state
        if state is None or state.vars.get("role") != "young" or not self.fs.locales.has(self.lang, YOUNG_DANGER):
            return False
        now = self.fs.derived(YOUNG_NOW, lambda: frozenset(
            w for lang in self.fs.locales.languages if self.fs.locales.has(lang, YOUNG_NOW)
            for w in words_of(self.text_in(lang, YOUNG_NOW))))
        if not (self.says_danger_now(raw) or now & set(words_of(raw))):
            return False
        self.stats.append("crisis:child_danger")
        self.say_key(YOUNG_DANGER)
        return True

    @staticmethod
    def is_sentence(raw: str) -> bool:
        """A typed question or sentence ("bellen is eng", "who should I write to?"), not a mistyped button."""
        return len(words_of(raw)) >= SENTENCE_WORDS or (raw.strip().endswith("?") and len(words_of(raw)) > 1)
