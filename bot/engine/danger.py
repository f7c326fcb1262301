"""A danger NOW told inside the safety route: 112 first, and the route goes on with what was typed.

Why: a worker at "Wat gebeurde er, in je eigen woorden?" typed "hij heeft een mes en staat nu voor
mijn deur" or "help hij is hier" and got the next question ("Waren er getuigen?") without a word
about 112 (a try-out, 2026-12-07): inside the route a threat is the answer, not a new crisis, and
"ik ben nu in gevaar" tripped no rule at all. Now a message that says the danger is here and now
(`crisis.now.words`, any language: people mix them) gets the route's danger lines first (112, then
the manager or the safety desk), at any of its questions, the first one included;
a story is still kept as the answer. This layer never decides what a crisis is: bot.crisis does.
"""

from __future__ import annotations

from bot.engine.held import HeldAnswers
from bot.flows.steps import AskStep, ChooseStep
from bot.intents import IntentMatcher

#: Phrases that say the danger is here and now, one a line; a line starting with ^ counts only at
#: the start of the message ("help hij is hier", not "mijn leidinggevende wilde niet helpen")
NOW_WORDS = "crisis.now.words"
#: A phrase right after one of these is denied ("ik ben niet in gevaar", "im not in danger")
_DENIED = frozenset({"niet", "geen", "not", "no", "never", "nooit"})
#: The two kinds of NOW_WORDS line, as the routes of one IntentMatcher: anywhere, and only at the start
_ANYWHERE, _AT_START = "now", "now_at_start"


class DangerNow(HeldAnswers):
    def typed_words(self, step: ChooseStep, raw: str) -> str | None:
        """The option a person's own words name (bot/engine/typed.py)."""
        raise NotImplementedError

    def in_safety_route(self) -> bool:
        """Is the person in the professionals' safety flow, or in a part it called?"""
        state = self.state
        return state is not None and (state.flow == self.fs.safety_flow
                                      or any(f == self.fs.safety_flow for f, _ in state.stack))

    def says_danger_now(self, raw: str) -> bool:
        """Does the message say the danger is here and now ("staat nu voor mijn deur", "right now")?

        Read by the one phrase reader (bot/intents.py), word for word: a phrase counts where it is
        first typed, unless a denial stands right before it; a `^` phrase only as the first words.
        """
        words, found = self.fs.derived(NOW_WORDS, self.read_now_words).first_places(raw)
        return any(start == 0 or (kind == _ANYWHERE and words[start - 1] not in _DENIED) for kind, start in found)

    def read_now_words(self) -> IntentMatcher:
        """`crisis.now.words` of every language (people mix them), the `^` lines apart; read once per
        flow set (`FlowSet.derived`), not on every message in the route."""
        phrases: dict[str, list[str]] = {_ANYWHERE: [], _AT_START: []}
        for lang in self.fs.locales.languages:
            if self.fs.locales.has(lang, NOW_WORDS):
                for line in (line.strip() for line in self.text_in(lang, NOW_WORDS).splitlines()):
                    phrases[_AT_START if line.startswith("^") else _ANYWHERE].append(line.lstrip("^"))
        return IntentMatcher(phrases)

    def warn_danger_now(self, raw: str, *, home: bool = False) -> bool:
        """The route's danger lines when a message in it says the danger is now; True when they were said.

        Also at the route's first question ("Ben je nu in gevaar?"): "hij staat nu voor mijn huis" typed
        there was only shown the same buttons again (a try-out, 2026-12-07), leaving a worker in danger to
        work out that a button was meant; the lines come first, then the question.
        """
        detector, state = self.fs.crisis, self.state
        if (detector is None or detector.in_safety_flow is None or state is None or not self.in_safety_route()
                or not self.says_danger_now(raw)):
            return False
        self.stats.append("crisis:danger_now")
        self.say_key(detector.in_safety_flow, home_violence=home)
        return True

    def pick_danger_now(self, raw: str) -> bool:
        """At a question with buttons, words that say the danger is now pick the button whose own label
        says so ("hij staat nu voor mijn huis" at "Ben je nu in gevaar?": "Ik ben nu in gevaar").

        Why: typed at the route's first question it got the same buttons again (a try-out, 2026-12-07),
        leaving a worker in danger to work out which one was meant. The same denial-aware reading decides
        both, so "ik ben niet in gevaar" picks nothing and no label needs a word list of its own.
        """
        state = self.state
        if state is None or not self.in_safety_route() or not self.says_danger_now(raw):
            return False
        step = self.current_question()
        if not isinstance(step, ChooseStep):
            return False
        option = next((o.id for o in self.offered(step) if self.says_danger_now(self.text(o.label))), None)
        if option is None:
            return False
        self.choose(step, option)
        return True

    def danger_at_buttons(self, raw: str, *, home: bool) -> bool:
        """A threat the check read, typed at the route's buttons or a date: the button that says the
        danger is now (True: chosen), else the route's danger lines, and the caller asks again.

        Not the lines at the route's first question: its own text says 112 (a choice is clearer there).
        A place the check read as a threat ("in front of my house" at "Where did it happen?", try-out 33)
        but told without "now" is the option its words name: after "Yes, I am safe" only a danger told
        as now brings 112 again.
        """
        if self.pick_danger_now(raw):
            return True
        step = self.current_question()
        if isinstance(step, ChooseStep) and not self.says_danger_now(raw) and (option := self.typed_words(step, raw)):
            self.choose(step, option)
            return True
        detector, state = self.fs.crisis, self.state
        if (detector is not None and detector.in_safety_flow is not None and state is not None
                and state.step != self.fs.flows[state.flow].start):
            self.say_key(detector.in_safety_flow, home_violence=home)
        return False

    def danger_now_without_match(self, raw: str) -> bool:
        """No crisis rule or model read it, but it says the danger is now: the lines, then on.

        At the question that asks what happened the text is still its answer (False: read on), as a
        story that tripped a rule is; at a date the day it names is; elsewhere the question comes again.
        """
        if self.pick_danger_now(raw):
            return True
        if not self.warn_danger_now(raw):
            return False
        step = self.step_answered()
        if isinstance(step, AskStep) and step.asks_for_a_story:
            return False
        if not self.answer_date_told(raw):  # "vandaag, en hij staat nu voor mijn deur" at "when?" is its answer
            self.reshow()
        return True
