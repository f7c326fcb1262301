"""Typed words the flows never name: "wat is een OTS?" at any step, and a request typed at a menu.

Why here, as a layer of its own: both read free text before it is taken as an answer, and
both must leave the person exactly where they were when they are not what was meant.
- A question about a word (bot/glossary.py, strict: only "wat is X?" about a known word)
  gets the word's directory card, with its source, and the question the person was at.
  At a question with buttons, a date or a number, "wat is X?" about a word no entry explains
  is told so, with where to ask (`glossary.unknown`), instead of "kies een knop" or "ik kan
  die datum niet lezen"; at a question that takes text only when it ends in "?" (else it
  stays the answer).
- Text typed at a menu (`menu: true` flows) that names no option is matched to the routes
  it may mean (bot/intents.py, words moderators keep in locales/*/intents.yaml). The best
  one or two are offered as buttons, labelled as the menu labels them, plus "the menu";
  nothing is chosen for the person. When nothing fits, they are told so with the menu.
A route button carries `go:<step>`, the menu step it leads to, and is only valid while
the person is still at the menu that offered it (the step token), like any button.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.dates import date_in_text
from bot.engine.interrupts import Interrupts
from bot.engine.steps import TOLD_AHEAD, TYPED_BEFORE, TYPED_BEFORE_FROM
from bot.engine.words import NO, YES, looks_english, normalise, read_button, typed_number
from bot.events import ChoiceButton, ExportData, Send
from bot.flows.steps import CallStep, ChooseStep, Option
from bot.intents import words_of

#: The id of a button that offers a route at a menu: "go:<step of the menu flow>"
ROUTE_CHOICE = "go:"
#: The id of the button that shows the menu again instead (a route with no step)
MENU_CHOICE = ROUTE_CHOICE
#: After the route in a route button's id, the role the typed text said ("go:complaint@relative")
SAID_ROLE = "@"
#: The id of a button that offers a route of the main menu mid-flow: "via:<step of the entry flow>"; "via:"
#: alone is "eerst hier verder" (the question again; bot/engine/unread.py)
DETOUR, DETOUR_STAY_TEXT = "via:", "sys.detour.stay"
#: "Dat woord ken ik niet", and where to ask: a set without it keeps "kies een knop"
UNKNOWN_WORD = "glossary.unknown"
#: "Weten mijn ouders dit?", "what do you know about me": the phrases, and the answer (what Wegwijzer
#: keeps, who reads it, "mijn gegevens" and "stop"); a set without them leaves such text as before
PRIVACY_WORDS, PRIVACY_ASKED = "privacy.asked_words", "privacy.asked"
#: "Wat weten jullie van mij?": the phrases that ask for the person's own data (said in the chat, short)
PRIVACY_MINE = "privacy.mine_words"
#: A story told at a question with buttons: thanks, then the options its words fit, or "something else"
STORY_HEARD, STORY_FITS, STORY_OTHER = "sys.story.heard", "sys.story.fits", "sys.story.other"
#: "Welke van de twee?": a yes at "Bedoel je dit?" with more than one route offered (two, or more)
WHICH_TWO, WHICH = "offer.which_two", "offer.which"
#: Words after a yes at "Bedoel je dit?" that add nothing: "ja precies", "yes that one", "ja dat bedoel ik"
YES_AND = frozenset({"precies", "klopt", "dat", "dit", "die", "deze", "bedoel", "ik", "is", "het", "graag", "inderdaad",
                     "zeker", "juist", "exactly", "that", "this", "one", "please", "right", "correct", "indeed", "it",
                     "i", "mean", "yes", "ja"})
#: A message without a letter or digit (only emoji), and a number past the last button
NO_WORDS, NUMBER_PAST = "sys.invalid.no_words", "sys.invalid.number_past"


class TypedWords(Interrupts):
    def on_choice(self, choice_id: str, token: str) -> None:
        """A button pressed, or typed (bot/engine/builder.py)."""
        raise NotImplementedError

    def on_first_text(self, raw: str) -> None:
        """A first message: the conversation begins in the language it was written in, at the
        option its words name, else at the menu with the routes it may mean."""
        guessed = self.guess_language(raw)
        if guessed is not None:  # said first, in the language the person wrote in, with the way back
            self.out.append(Send(self.text_in(guessed, "sys.language_guessed")))
        mark = len(self.out)
        self.begin(self.fs.entry_flow, fresh=True, lang=guessed)
        first = self.current_step() if self.state is not None else None
        # "ik voel me niet veilig thuis" as the first message: the option its words name (help), at
        # once and instead of the menu (the help lines are already as many messages as a phone shows)
        if isinstance(first, ChooseStep) and (option_id := self.typed_words(first, raw)) is not None:
            del self.out[mark:]
            self.choose(first, option_id)
        elif not self.offer_routes(raw):  # a request typed as the first message: the menu, then what it may mean
            self.answer_privacy(raw, again=False)  # "what do you know about me?" first: the welcome, then that

    def offer_detour(self, raw: str, *, heard: bool = False) -> bool:
        """Routes of the main menu a text typed mid-flow names, offered beside the question (bot/engine/unread.py)."""
        raise NotImplementedError

    def typed_words(self, step: ChooseStep, raw: str) -> str | None:
        """The option a person's own words name (its `words:`): "i dont feel safe at home" for
        "I do not feel safe", the best one when several fit; None when none does."""
        assert self.state is not None
        matcher = self.fs.option_words(self.state.flow, self.state.step)
        if matcher is None:
            return None
        offered = {o.id for o in self.offered(step)}
        return next((guess.route for guess in matcher.match(raw) if guess.route in offered), None)

    def words_behind(self, step: ChooseStep, raw: str) -> bool:
        """"hoe vraag ik mijn dossier op" at "Of wil je iets anders weten? [Ja, iets anders]": the option of the
        menu that button leads back to ("Waar gaat het over?"), named by its words, is chosen there, as if both
        were pressed (FlowSet.menu_behind). True when one was.

        Why: "iets anders?" has no words of its own, so a young person's question got "Ik begrijp niet welke
        keuze je bedoelt" until she pressed "Ja, iets anders" first (the known list, s30).
        """
        state = self.state
        assert state is not None
        behind = self.fs.menu_behind(state.flow, state.step)
        menu = self.fs.step(state.flow, behind[1]) if behind is not None else None
        matcher = self.fs.option_words(state.flow, behind[1]) if behind is not None else None
        if behind is None or not isinstance(menu, ChooseStep) or matcher is None \
                or behind[0] not in {o.id for o in self.offered(step)}:
            return False  # no menu behind it, or its button is not offered here
        offered = {o.id for o in self.offered(menu)}
        picked = next((guess.route for guess in matcher.match(raw) if guess.route in offered), None)
        if picked is None:
            return False
        self.mark_read(step, next(o for o in step.options if o.id == behind[0]))
        self.remember()  # "terug" comes back to this question
        self.goto(state.flow, behind[1])
        self.choose(menu, picked, typed=raw)
        return True

    def guess_language(self, raw: str) -> str | None:
        """English for a first message clearly written in it, when the platform gave no language
        (Matrix, the console) and English is not already the default."""
        if self.ctx.lang_hint or self.ctx.default_lang == "en" or "en" not in self.fs.locales.languages:
            return None
        return "en" if looks_english(raw) else None

    def explain_word(self, raw: str) -> bool:
        """'Wat is een OTS?': the word's card, then the question the person was at."""
        entry = self.fs.glossary.asked(raw)
        card = self.fs.cards.get(entry or "", {}).get(self.lang) if entry else None
        if card is None:
            return False
        self.out.append(Send(card))
        self.reshow_or_begin()
        return True

    def unknown_word(self, raw: str) -> bool:
        """'Wat is een X?' about a word no entry explains: say so and where to ask, then the question."""
        if not self.fs.glossary.unknown(raw) or not self.fs.locales.has(self.lang, UNKNOWN_WORD):
            return False
        self.out.append(Send(self.text(UNKNOWN_WORD)))
        self.reshow()
        return True

    def route_of(self, route: str, menu: str | None = None) -> tuple[ChooseStep, Option, Option | None] | None:
        """The menu option that leads to `route`, its step, and the option that leads to that step; in the
        menu flow the person is at, or in `menu` (the entry menu, for a route offered mid-flow)."""
        assert self.state is not None
        flow = self.fs.flows.get(menu or self.state.flow)
        if flow is None or not flow.menu:
            return None
        owners = [(step, option) for step in flow.steps.values() if isinstance(step, ChooseStep)
                  for option in step.options if option.next == route]
        if not owners:
            return None
        step, option = owners[0]
        owner_id = next(i for i, s in flow.steps.items() if s is step)
        before = next((o for s in flow.steps.values() if isinstance(s, ChooseStep)
                       for o in s.options if o.next == owner_id), None)
        return step, option, before

    def offer_routes(self, raw: str) -> bool:
        """Text at a menu that names no option: the routes it may mean, as buttons. True if any."""
        if self.state is None:
            return False
        self.keep_story(raw)
        said = self.fs.intents().roles_said(raw)
        role = SAID_ROLE + said[0] if len(said) == 1 else ""  # "ik ben oma": kept on the route she takes
        buttons = [ChoiceButton(ROUTE_CHOICE + guess.route + role, self.text(found[1].label))
                   for guess in self.fs.intents().match(raw) if (found := self.route_of(guess.route)) is not None
                   and not self.not_their_safety_route(guess.route, found[2], said)]
        if not buttons:
            return False
        buttons.append(ChoiceButton(MENU_CHOICE, self.text("intents.menu")))
        question = self.text("intents.question")
        if self.is_story(raw):  # "ik zit op een leefgroep en ...": heard, in the same message as the routes
            question = f"{self.text(STORY_HEARD)}\n{question}"
        self.show_aside(Send(question, tuple(buttons), token=self.state.step))
        return True

    def not_their_safety_route(self, route: str, before: Option | None, said: list[str], menu: str | None = None) -> bool:
        """The safety route of the role that opens it (a worker's), when the text says someone else is typing.

        Why: "thuis is echt kk, mn stiefvader schreeuwt de hele tijd" was offered "Ik ben bedreigd of
        aangevallen", and its next question was "Ik bereid een huisbezoek voor" (try-out 34): "schreeuwt"
        names the worker's route, but a 14-year-old has her own door ("Ik voel me niet veilig").
        """
        assert self.state is not None
        step = self.fs.step(menu or self.state.flow, route)
        opens = isinstance(step, CallStep) and step.call == self.fs.safety_flow
        owner = before.set.get("role") if before is not None else None
        return opens and bool(said) and owner is not None and owner not in said

    def take_route(self, choice_id: str) -> bool:
        """A route button pressed at the menu that offered it: as if its menu options were chosen."""
        if self.state is None or not choice_id.startswith(ROUTE_CHOICE):
            return False
        route, _, said = choice_id.removeprefix(ROUTE_CHOICE).partition(SAID_ROLE)
        if not route:  # "the menu"
            self.reshow()
            return True
        found = self.route_of(route)
        if found is None:
            return False
        step, option, before = found
        if before is not None:  # "Ouder of verzorger" before "Klacht": the role it sets counts too
            self.state.vars.update(before.set)
            if said and "role" in before.set:  # unless they said who they are: "ik ben oma" is no parent
                self.state.vars["role"] = said
        self.state.step = next(i for i, s in self.fs.flows[self.state.flow].steps.items() if s is step)
        self.choose(step, option.id, via_button=True)
        return True

    def keep_story(self, raw: str) -> None:
        """A story told first, at a question with buttons: offered at "what happened?" later; a day to come it
        names (`TOLD_AHEAD`), only the date, for a question that would ask it again (the known list, s31)."""
        if self.state is None:
            return
        if len(raw.strip()) >= TYPED_BEFORE_FROM:
            self.state.vars[TYPED_BEFORE] = raw.strip()
        ahead = date_in_text(raw, self.ctx.today)
        if ahead is not None and ahead > self.ctx.today:
            self.state.vars[TOLD_AHEAD] = ahead.isoformat()

    def is_story(self, raw: str) -> bool:
        """Long enough to be someone telling what happened, not a word or a choice; why a length: a
        story typed at buttons or a menu is thanked and kept, and a short reply there is no story."""
        return len(raw.strip()) >= TYPED_BEFORE_FROM and self.fs.locales.has(self.lang, STORY_HEARD)

    def answer_privacy(self, raw: str, *, again: bool = True) -> bool:
        """"Weten mijn ouders dit?", "kan de groepsleiding dit lezen?", "what do you know about me":
        what Wegwijzer keeps and who reads it (`privacy.asked`), then the question again (`again`).

        Why: a 16-year-old asked it three ways at the youth menu and got "Ik begrijp niet", or the
        Kindertelefoon's secrecy instead of this chat's (try-out 2026-12-07).
        """
        if self.fs.locales.has(self.lang, PRIVACY_MINE) and self.fs.phrases(PRIVACY_MINE).match(raw):
            # "wat weten jullie van mij?" asks for what is kept about them, not how: a try-out got the
            # general text; what is stored, briefly, with how to delete it (bot/privacy.py)
            self.out.append(ExportData(short=True))
        elif not self.fs.locales.has(self.lang, PRIVACY_ASKED) or not self.fs.phrases(PRIVACY_WORDS).match(raw):
            return False
        else:
            self.say_key(PRIVACY_ASKED)
        if again:
            self.reshow_or_begin()
        return True

    def hear_story(self, step: ChooseStep, raw: str) -> bool:
        """A story told at a question with buttons (not a menu: there the routes answer it): thanks,
        and the one or two options its words fit with "something else", else the question again.

        Why: a grandmother's "ze zijn in een pleeggezin en de gezinsvoogd zegt nee ... ik ben 74"
        got "Ik begrijp niet welke keuze je bedoelt" (try-out 2026-12-07).
        """
        assert self.state is not None
        if not self.is_story(raw) or self.fs.flows[self.state.flow].menu:
            return False
        matcher = self.fs.option_words(self.state.flow, self.state.step)
        guessed = [g.route for g in matcher.match(raw)] if matcher is not None else []
        fitting = [o for o in self.offered(step) if o.id in guessed]
        self.keep_story(raw)
        if not fitting and self.offer_detour(raw, heard=True):
            return True  # "... krijg ik een gratis advocaat?" in a story mid-flow: heard, and that topic offered
        if not fitting or not self.fs.locales.has(self.lang, STORY_FITS):
            self.say_key(STORY_HEARD)
            self.reshow()
            return True
        buttons = [ChoiceButton(o.id, self.text(o.label)) for o in fitting]
        buttons.append(ChoiceButton(MENU_CHOICE, self.text(STORY_OTHER)))
        self.show_aside(Send(f"{self.text(STORY_HEARD)}\n{self.text(STORY_FITS)}", tuple(buttons), token=self.state.step))
        return True

    def not_understood_kindly(self, step: ChooseStep, raw: str) -> bool:
        """What names no button, said kindly: only emoji gets a short word (not the whole question
        again); a number past the last button names the numbers there are; a story is thanked.
        (Try-out 2026-12-07: "🙏😢😢" got "not sure" and seven lines of welcome; "7" of 3 buttons.)"""
        assert self.state is not None
        text = normalise(raw)
        if not any(c.isalnum() for c in text) and text and self.fs.locales.has(self.lang, NO_WORDS):
            self.say_key(NO_WORDS)
            return True
        digits = text.rstrip(".)")  # "7", "7." and "7)"; "0612" is the start of a phone number, no option
        number = typed_number(digits) if len(digits) <= 2 and not digits.startswith("0") else None
        count = len(self.offered(step))
        if number is not None and number > count > 1 and self.fs.locales.has(self.lang, NUMBER_PAST):
            self.say_key(NUMBER_PAST, typed=number, first=", ".join(str(n) for n in range(1, count)), last=count)
            self.reshow()
            return True
        if self.is_story(raw):
            self.say_key(STORY_HEARD)
            self.reshow()
            return True
        return False

    def yes_at_offer(self, token: str, pairs: Sequence[tuple[str, str]], raw: str) -> bool:
        """"ja", "ja precies", "yes" at "Bedoel je dit?": the one route offered (besides the menu), or with
        several "Welke van de twee?" and the same buttons; "ja klacht" the route it names.

        Why: a mother's "ja klacht" and "ja", a father's "ja precies" got "Ik weet niet zeker wat je bedoelt"
        and the main menu (try-out 33): a yes/no question is answered with a yes.
        """
        words = words_of(raw)
        if normalise(raw) in NO and any(cid == DETOUR for cid, _ in pairs):
            self.on_choice(DETOUR, token)  # "nee" at "Nu daarheen, of eerst hier verder?": here, not the question's "Nee"
            return True
        if self.state is None or not words or (words[0] not in YES and normalise(raw) not in YES):
            return False
        routes = [(cid, label) for cid, label in pairs if cid != MENU_CHOICE]
        rest = [w for w in words[1:] if w not in YES_AND]
        if normalise(raw) not in YES and rest:
            picked = read_button(" ".join(rest), routes, str, clauses=False)
            if picked is None:
                return False  # "ja maar ik wil iets anders": read as any text
            self.on_choice(picked, token)
        elif len(routes) == 1:
            self.on_choice(routes[0][0], token)
        elif routes and self.fs.locales.has(self.lang, WHICH_TWO) and self.fs.locales.has(self.lang, WHICH):
            buttons = tuple(ChoiceButton(cid, label) for cid, label in pairs)
            self.show_aside(Send(self.text(WHICH_TWO if len(routes) == 2 else WHICH), buttons, token=token))
        else:
            return False
        return True
