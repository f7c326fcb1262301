"""The turn builder: one event in, routed to what it means at the user's position.

An event is a command, a typed text, a button press, something unsupported or a timer.
Typed text is read in a fixed order (a command, a text too long, the answer to an open
crisis check, a keyword, an option's whole label, the crisis check, then the answer to
the open question); a button press is matched to the question it belongs to, and a
button of an earlier question is recognised as stale and never applied to this one.
"""

from __future__ import annotations

from typing import Any

from bot.engine.crisis import OPEN_CHECK, OPEN_CHECK_KEY, PAUSED
from bot.engine.held import HELD_CHOICE
from bot.engine.held_menu import RESUME
from bot.engine.steps import NO_PHONE, USE_TYPED_BEFORE
from bot.engine.system import ASIDE, CRISIS_CHECK_TOKEN, SYSTEM_TOKENS, WAY_OUT_AFTER, Aside, SystemQuestion
from bot.engine.unread import UnreadText
from bot.engine.words import (
    COMMAND_TEXT,
    HELP_WORDS,
    MAX_INPUT,
    command_meaning,
    doubt_in,
    keyword_of,
    normalise,
    typed_number,
)
from bot.events import Choice, Command, Event, Text, Timer, Unsupported
from bot.flows.steps import AskStep, ChooseStep
from bot.state import State


class TurnBuilder(UnreadText):
    #: the buttons shown aside in the previous message (system.ASIDE), for this event only
    _aside: Aside | None = None

    def dispatch(self, state: State | None, event: Event) -> None:
        self._aside = Aside.read(state.vars.pop(ASIDE, None)) if state is not None else None
        self.crisis_aside = self._aside is not None and self._aside.token == CRISIS_CHECK_TOKEN
        if state is not None and self.fs.step(state.flow, state.step) is None:
            self.state = state
            self.recover_lost_step(event)
            return
        self.state = state
        if isinstance(event, Command):
            self.on_command(event.name.lower().lstrip("/"), event.args.strip())
        elif isinstance(event, Text):
            self.on_text(event.text)
        elif isinstance(event, Choice):
            self.on_choice(event.choice_id, event.step_token)
        elif isinstance(event, Unsupported):
            self.say_key("sys.unsupported")
            self.reshow_or_begin()
        elif isinstance(event, Timer):
            self.on_timer(event.name, event.values)
        self.drop_held_elsewhere()

    def recover_lost_step(self, event: Event) -> None:
        """The flows changed under this conversation: say so and offer a fresh start."""
        assert self.state is not None
        state = self.state
        if isinstance(event, Command) and command_meaning(event.name) in ("start", "restart"):
            self.state = None
            self.dispatch(None, event)
            return
        recovering = state.pending == SystemQuestion.RECOVER
        token = SystemQuestion.RECOVER.token
        if isinstance(event, Choice) and event.step_token == token and recovering:
            self.on_system_choice(token, event.choice_id)
            return
        if isinstance(event, Text) and recovering:
            picked = self.match_buttons(event.text, self.pending_buttons())
            if picked is not None:
                self.on_system_choice(token, picked)
                return
        state.pending = SystemQuestion.RECOVER
        state.stack = [(f, s) for f, s in state.stack if self.fs.step(f, s) is not None]
        self.ask_pending()

    # ------------------------------------------------------------ text
    def on_text(self, raw: str) -> None:
        pause = self.pause_shown(self._aside)
        if self.state is None and self.spoken is None:
            # a first message in English is answered in English, the crisis lines too (they come
            # before the conversation starts; Matrix and the console give no language)
            self.spoken = self.guess_language(raw)
        command = COMMAND_TEXT.match(raw.strip())
        if command:
            self.on_command(command.group(1).lower(), command.group(2) or "")
        elif (target := self.start_without_slash(raw)) is not None:
            self.on_command("start", target)  # "start veilig": texts say "/start veilig", phones drop the slash
        elif len(raw) > MAX_INPUT:
            # a crisis at the start of a long paste is still seen; the paste cannot be an answer
            if not self.check_crisis(raw[:MAX_INPUT], keep=False, notice=("sys.too_long", MAX_INPUT)):
                self.say_key("sys.too_long", limit=MAX_INPUT)
                self.reshow_or_begin()
        elif self.answer_aside(raw) or self.answer_denial(raw):
            pass
        elif not (self.answer_open_check(raw) or self.read_words(raw) or self.check_crisis(raw) or self.paused(pause, raw)):
            self.on_answer_text(raw)

    def start_without_slash(self, raw: str) -> str | None:
        """The deep link of "start veilig" typed without its slash, when it names one."""
        words = normalise(raw).split(" ")
        if len(words) == 2 and words[0] == "start" and words[1] in self.fs.deeplinks:
            return words[1]
        return None

    def answer_aside(self, raw: str) -> bool:
        """A typed number ("1", "1.", "1)") or a button's whole label, for the buttons shown aside
        in the previous message (a route offer, the way out, a crisis check question)."""
        aside, self._aside = self._aside, None
        if aside is None or not aside.buttons or self.state is None:
            return False
        token, pairs = aside.token, aside.buttons
        number = typed_number(raw.strip().rstrip(".)"))
        wanted = normalise(raw)
        if number is not None:
            picked = pairs[number - 1][0] if 1 <= number <= len(pairs) else None
        else:
            picked = next((cid for cid, label in pairs if normalise(label) == wanted), None)
        if not picked:  # "": a button of the question itself, shown with "Nee, ga verder" joined to it (held.py)
            return (picked is None and token == self.state.step and all(cid for cid, _ in pairs)
                    and self.yes_at_offer(token, pairs, raw))  # "ja" at a route offer ("Bedoel je dit?")
        self.on_choice(picked, token)
        return True

    def read_words(self, raw: str) -> bool:
        """A keyword, "help" at a question with its own help option, or an option's whole label."""
        word = normalise(raw)
        keyword = keyword_of(word)
        if word in HELP_WORDS and self.offers_help():
            self.choose(self.current(ChooseStep), "help")  # "help" at "are you safe?" asks for help
            return True
        picking = self.state is not None and self.state.pending == SystemQuestion.PICK and bool(self.state.offer)
        if keyword and picking and self.match_offer(raw) is None:
            # "terug" at "did you mean ...?" goes back to the question it answers, not past it
            if keyword == "back":
                assert self.state is not None
                self.state.offer, self.state.pending = [], None
                self.reshow()
            else:
                self.interrupt(keyword)
            return True
        if keyword and not picking:
            self.interrupt(keyword)
            return True
        option_id = self.typed_label(raw)
        if option_id is not None:
            self.choose(self.current(ChooseStep), option_id)
            return True
        return self.explain_word(raw)

    def on_answer_text(self, raw: str) -> None:
        """Typed text that is an answer: to the open system question, else to the step's question."""
        if self.state is None:
            self.on_first_text(raw)
            return
        if self.state.vars.get(RESUME):
            # typed while "go on now?" still hides the next question: that question, not this text as its answer
            self.resume(welcome_back=bool(self.state.vars.get(PAUSED)))
            return
        question = self.asked()
        if question is not None and question.own_buttons:
            picked = self.match_buttons(raw, self.pending_buttons())
            if picked is not None:
                self.on_choice(picked, self.pending_token())
            else:
                self.say_key("sys.invalid.choice")
                self.ask_pending()
            return
        if question is SystemQuestion.PICK and self.state.offer:
            picked = self.match_offer(raw)
            if picked is not None:
                self.on_choice(picked, self.state.step)
                return
        if question is SystemQuestion.DATE and self.state.offer:
            self.on_date_text(raw)
            return
        step = self.current_question()
        if isinstance(step, AskStep):
            self.on_ask_text(step, raw)
        else:
            self.on_choose_text(step, raw)

    def on_choose_text(self, step: ChooseStep, raw: str, *, held: bool = False) -> None:
        """Text typed at buttons: a button's number, label or words, a typed option's answer, else
        what it may mean (a route, a word) before "kies een knop". `held`: read after "Nee" at the check."""
        assert self.state is not None
        if self.doubted(step, raw):
            return
        # a fact in a letter: "ja, volgens de voogd wel" is no yes said first; "yes its still going on" is
        option_id = self.match_buttons(raw, [(o.id, o.label) for o in self.offered(step)],
                                       clauses=step.unsure is None or not doubt_in(raw))
        if option_id is None and (self.answer_privacy(raw) or self.hear_story(step, raw)):
            return  # "weten mijn ouders dit?"; a story at a question: heard, and the options it fits
        option_id = option_id or self.typed_words(step, raw)
        if option_id is not None:
            self.keep_story(raw)  # a story that picked a button is offered again at "what happened?"
            self.choose(step, option_id, typed=raw)
        elif self.answer_typed_option(step, raw) or self.read_behind(step, raw, held=held) or self.not_knowing_which(step, raw):
            pass  # a phone number typed at "chat or phone?"; "hoe vraag ik mijn dossier op" at "iets anders?"; "idk"
        elif self.state.vars.get(PAUSED):
            self.resume(welcome_back=True)  # back after "not now" (a crisis answer): the question again, no reproach
        elif not (self.offer_routes(raw) or self.unknown_word(raw) or self.not_understood_kindly(step, raw)
                  or self.answer_unread(step, raw, held=held)):
            self.fail(step.invalid or ("intents.nothing" if self.fs.flows[self.state.flow].menu else "sys.invalid.choice"))
            if self.state.fails < WAY_OUT_AFTER:
                # "kies een knop": the buttons come below, not only far above (on Matrix and the
                # console they are a numbered list that has scrolled away)
                self.reshow()

    def on_ask_text(self, step: AskStep, raw: str) -> None:
        """Text typed at a question: a question about a word, one of its buttons, else its answer."""
        # "wat is de VPT-code?" at a date or number question, or asked with "?" where text is
        # the answer: a question about a word, answered as one, not saved nor read as a date
        if (step.type != "text" or raw.strip().endswith("?")) and self.unknown_word(raw):
            return
        # a button of this question (Ja/Nee, "Liever niet bellen", "use what you wrote") typed: its
        # number or label, read as at a question with buttons; where text is the answer, "ja, de voogd
        # belde niet terug" is that answer, not the yes button with a reason after it
        if self.doubted(step, raw):
            return
        picked = self.match_buttons(raw, self.ask_buttons(step), clauses=step.type != "text")
        if picked is not None:
            self.on_ask_button(step, picked, via_button=False)
        else:
            self.answer(step, self.story_in_bounds(step, raw))  # a long story: its first part, the rest given back

    def offers_help(self) -> bool:
        """Does the question the user is at have its own `help` option (a check-in's "are you safe?")?"""
        step = self.step_answered()
        return isinstance(step, ChooseStep) and step.offers_help

    def typed_label(self, raw: str) -> str | None:
        """The option whose whole label was typed at a choice step: it wins over the crisis check.

        A professional who types the menu's "Ik ben bedreigd of aangevallen"
        chose the safety route, like pressing it; the crisis check would read "bedreigd" and
        give the generic reply instead. Only the full label counts (as match_buttons
        normalises it): part of a label, or a sentence that merely contains crisis words
        ("ik wil dood"), still gets the crisis answer first.
        """
        state = self.state
        if state is None or state.pending:
            return None
        step = self.fs.step(state.flow, state.step)
        if not isinstance(step, ChooseStep):
            return None
        text = normalise(raw)
        labels = self.normalised_labels([(o.id, o.label) for o in self.offered(step)])
        return next((cid for cid, label in labels if label == text), None)

    # ------------------------------------------------------------ buttons
    def on_choice(self, choice_id: str, token: str) -> None:
        if choice_id.startswith(f"{HELD_CHOICE}:"):
            token = CRISIS_CHECK_TOKEN  # "Nee, ga verder" in a question's own list (held.join_way_on)
        if token in SYSTEM_TOKENS:
            self.on_system_choice(token, choice_id)
            return
        if self.state is None:
            self.say_key("sys.expired")
            self.begin(self.fs.entry_flow, fresh=True)
            return
        self.state.vars.pop(OPEN_CHECK, None)  # answered the flow instead: the check is closed
        self.state.vars.pop(OPEN_CHECK_KEY, None)
        step = self.current_step()
        if token != self.state.step or self.state.pending not in (None, SystemQuestion.PICK, SystemQuestion.DATE):
            self.stale()
        elif self.state.pending == SystemQuestion.DATE and self.state.offer:
            self.on_date_choice(self.current(AskStep), choice_id)
        elif isinstance(step, ChooseStep) and any(o.id == choice_id for o in self.offered(step)):
            self.choose(step, choice_id, via_button=True)
        elif isinstance(step, ChooseStep) and (self.take_route(choice_id) or self.take_detour(choice_id)):
            pass
        elif isinstance(step, AskStep):
            self.on_ask_button(step, choice_id)
        else:
            self.stale()

    def on_ask_button(self, step: AskStep, choice_id: str, via_button: bool = True) -> None:
        """A button of a typed question: yes/no, the "this text names people" choices, a municipality
        (`via_button` False: typed, so the question stays in the chat above the answer)."""
        assert self.state is not None
        offered = typed_number(choice_id[1:]) if choice_id.startswith("c") else None
        before = self.typed_before(step) if choice_id == USE_TYPED_BEFORE else None
        if before is not None:
            self.answer_text(step, self.story_in_bounds(step, before))
        elif step.type == "yesno" and choice_id in ("yes", "no"):
            self.accept(step, choice_id == "yes", via_button=via_button)
        elif step.type == "phone" and choice_id == NO_PHONE:
            self.accept(step, None, via_button=via_button)
        elif step.protect == "public" and choice_id in ("again", "keep", "own_case"):
            self.on_public_choice(step, choice_id, via_button=True)
        elif step.type != "municipality" or not self.state.offer:
            self.stale()
        elif offered is not None and offered < len(self.state.offer):
            self.accept(step, self.state.offer[offered], via_button=True)
        elif choice_id == "none":
            self.state.offer = []
            self.state.pending = None
            self.reshow()
        else:
            self.stale()

    def on_timer(self, name: str, values: tuple[tuple[str, Any], ...] = ()) -> None:
        """A timer fired: its flow's timer step interrupts, and the user returns afterwards.

        The flow that names the timer is looked for where the user is, then down
        the call stack, then among all flows: a home-visit check-in must still ask
        when the user went back to the menu, or their conversation ended.
        """
        state = self.state
        here = [state.flow, *(f for f, _ in reversed(state.stack))] if state else []
        owners = [f for f in here if f in self.fs.flows and name in self.fs.flows[f].timers]
        if not owners:
            owners = sorted(f for f, flow in self.fs.flows.items() if name in flow.timers)[:1]
        if not owners:
            return
        owner = owners[0]
        target = self.fs.flows[owner].timers[name]
        if state is None:
            self.state = State(flow=owner, step=target, lang=self._pick_lang(None),
                               version=self.fs.version, started=owner)
            self.stats.append(f"start:{owner}")
        else:
            state.pending = None
            self.enter(owner, target, return_to=(state.flow, state.step))
        assert self.state is not None
        for variable, value in values:
            self.state.vars.setdefault(variable, value)
        self.run()
