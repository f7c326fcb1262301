"""Words typed at buttons that name none of them: where they lead, or what the buttons are for.

Why a layer of its own: at a youth card's "Wil je hier meer over lezen?" a 14-year-old typed "hij schreeuwt
nu weer, ik wil hier gewoon weg"; after "Nee" at the suicide check she got "Ik begrijp niet welke keuze je
bedoelt" and no help. A foster mother's "kan ik de verhuizing nog tegenhouden?" and a grandmother's "who
should I write to?" got the same line twice, and nothing moved on (try-out 34). Now, in this order:
- the flow's own menu reads them: a question whose "Ja, iets anders" leads back to a menu with `words`
  (the youth, family, foster and care-leaver doors) hands the text to that menu, so "hij schreeuwt" is
  "Ik voel me niet veilig" wherever in the youth route it is typed;
- a young person's message that the crisis check held, and that says the danger is now ("nu", "weer",
  `crisis.by_role.young.now_words`), gets the child-in-danger help (112, the Kindertelefoon, Veilig Thuis);
- a held message that is none of these gets a kind "what do you need?" (`sys.invalid.held`);
- a typed question or sentence gets one short line: what the buttons are for, and where a question can be
  typed whole (`sys.invalid.typed_question`), not "kies een knop"; not where the question has its own
  `invalid` text, nor in the worker's safety route.
A single word or a typing error keeps "Ik begrijp niet welke keuze je bedoelt": that is what it is.
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine.typed import TypedWords
from bot.engine.words import yes_or_no_first
from bot.events import Send
from bot.flows.steps import ChooseStep
from bot.intents import words_of

#: What a typed question at buttons is told (the buttons are for this question; type yours at the menu)
TYPED_QUESTION = "sys.invalid.typed_question"
#: What a held message that names no button is told, after "Nee" at the check ("Wat heb je nodig?")
HELD_UNREAD = "sys.invalid.held"
#: Words that make a young person's held message a danger now ("hij schreeuwt nu weer"), any language
YOUNG_NOW = "crisis.by_role.young.now_words"
#: The child-in-danger help a young person gets (112, the Kindertelefoon, Veilig Thuis)
YOUNG_DANGER = "crisis.by_role.young.child_danger"
#: A text of this many words, or one that ends in "?", is a question or a sentence, not a mistyped button
SENTENCE_WORDS = 3


class UnreadText(TypedWords):
    def answer_unread(self, step: ChooseStep, raw: str, *, held: bool = False) -> bool:
        """A text at buttons (not a menu) that named none of them; True when answered here (see the module)."""
        mark = len(self.out)
        if self.read_at_own_menu(step, raw):
            if held:
                self.join_to_said_before(mark)
            return True
        if held and (self.young_danger_now(raw) or self.say_held_unread()):
            self.reshow()
            return True
        # a question's own `invalid` text says it better (the youth menu's warm word); in the safety route a
        # worker is answering about the threat, and "menu" would take them out of it
        if (step.invalid is None and not self.in_safety_route() and self.is_sentence(raw)
                and self.fs.locales.has(self.lang, TYPED_QUESTION)):
            self.fail(TYPED_QUESTION)
            self.reshow()
            return True
        return False

    def say_held_unread(self) -> bool:
        """"Wat heb je nodig?" after "Nee" at the check, for a held message that names nothing: kind, no reproach."""
        if not self.fs.locales.has(self.lang, HELD_UNREAD):
            return False
        self.say_key(HELD_UNREAD)
        return True

    def button_typed(self, step: ChooseStep, raw: str) -> str | None:
        """The button a text typed at this question names: its number, label or words, or a yes or no said first.

        Where the answer becomes a fact in a letter (`unsure`), a reason after a label is no choice ("ja ik hoop
        het" is doubt, which `doubted` answered before this); a yes with more words that neither doubt nor take it
        back is the yes: "ja samen met mijn ex" at "Heb je gezag?" got "Ik begrijp niet" (try-out 34).
        """
        pairs = [(o.id, o.label) for o in self.offered(step)]
        option_id = self.match_buttons(raw, pairs, clauses=step.unsure is None)
        if option_id is None and step.unsure is not None:
            option_id = yes_or_no_first(raw, self.normalised_labels(pairs))[0]
        return option_id

    def join_to_said_before(self, mark: int) -> None:
        """After "Nee" at the check, "Goed, dank je dat je het zegt" and the first text of the part the held
        message led to are one message: with that part's card and question a phone shows three, not four."""
        if 0 < mark < len(self.out):
            before, first = self.out[mark - 1], self.out[mark]
            if isinstance(before, Send) and isinstance(first, Send) and not before.choices and not first.choices \
                    and before.document is None and first.document is None and first.preview is None:
                self.out[mark - 1:mark + 1] = [replace(before, text=f"{before.text}\n\n{first.text}")]

    def read_at_own_menu(self, step: ChooseStep, raw: str) -> bool:
        """The menu this question leads back to ("Ja, iets anders"), when its `words` name one of its options."""
        assert self.state is not None
        flow = self.state.flow
        for option in self.offered(step):
            target = self.fs.step(flow, option.next)
            matcher = self.fs.option_words(flow, option.next) if isinstance(target, ChooseStep) else None
            if matcher is None or not isinstance(target, ChooseStep):
                continue
            ids = {o.id for o in target.options}
            picked = next((guess.route for guess in matcher.match(raw) if guess.route in ids), None)
            if picked is not None:
                self.remember()
                self.goto(flow, option.next)
                self.choose(target, picked, typed=raw)
                return True
        return False

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
