"""Interrupts: what works at every step without a flow naming it.

Help, back, start over, language, stop/forget me, my data, a person and resume, as a
command (`/terug`), a keyword typed on its own ("terug") or a button of a system question.
Each meaning is one method; `interrupt` looks it up.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.engine.base import LETTER_CHANGE
from bot.engine.check import CheckAnswers
from bot.engine.steps import TYPED_BEFORE
from bot.engine.system import COMMAND_TOKEN, CRISIS_CHECK_TOKEN, RESTART_TO, WAY_OUT_AFTER, SystemQuestion
from bot.engine.words import command_meaning
from bot.events import ExportData, ForgetUser, HandOff
from bot.flows.check import variables_set
from bot.flows.steps import AskStep, CallStep


class Interrupts(CheckAnswers):
    def on_command(self, name: str, args: str) -> None:
        meaning = command_meaning(name)
        if meaning is None:
            self.say_key("sys.unknown_command")
            self.reshow_or_begin()
        elif meaning == "start":
            flow = self.fs.deeplinks.get(args.lower(), self.fs.entry_flow) if args else self.fs.entry_flow
            self.start_over(flow)
        else:
            self.interrupt(meaning, args)

    def interrupt(self, meaning: str, args: str = "") -> None:
        if meaning.startswith("language:"):
            meaning, args = "language", meaning.split(":", 1)[1]
        if meaning == "language":
            self.change_language(args)
            return
        handlers: dict[str, Callable[[], None]] = {
            "restart": self.restart, "help": self.help, "back": self.go_back, "forget": self.ask_forget,
            "mydata": self.my_data, "resume": self.reshow_or_begin, "person": self.ask_for_person,
        }
        handler = handlers.get(meaning)
        if handler is not None:
            handler()

    def restart(self) -> None:
        self.start_over(self.fs.entry_flow)

    def start_over(self, flow: str) -> None:
        """Start `flow` afresh; with typed answers that would be lost, ask first.

        On Telegram people tap /start to get unstuck, and "opnieuw" is one word: a letter half
        written went without a word (try-out 2026-12-07).
        """
        if self.state is None or not self.answers_given():
            self.begin(flow, fresh=True, lang=self.state.lang if self.state else None)
            return
        self.state.vars[RESTART_TO] = flow
        self.state.pending = SystemQuestion.RESTART
        self.ask_pending()

    def answers_given(self) -> bool:
        """Is the person in the middle of a part where they typed an answer (a question's `save`)?

        Only the part they stand in and the parts that called it count: after a letter or report
        is done and its flow has ended, starting over loses nothing they still need.
        """
        assert self.state is not None
        open_parts = {self.state.flow, *(flow for flow, _ in self.state.stack)}
        typed = {step.save for name in open_parts if name in self.fs.flows
                 for step in self.fs.flows[name].steps.values() if isinstance(step, AskStep)}
        return any(self.state.vars.get(name) not in (None, "") for name in typed)

    def on_restart_choice(self, choice_id: str) -> None:
        assert self.state is not None
        flow = self.state.vars.pop(RESTART_TO, None)
        if choice_id == "restart":
            self.begin(flow if flow in self.fs.flows else self.fs.entry_flow, fresh=True, lang=self.state.lang)
        else:
            self.reshow()

    def help(self) -> None:
        self.say_key("sys.help")
        self.reshow_or_begin()

    def ask_forget(self) -> None:
        if self.state is None:
            self.out.append(ForgetUser())
            self.say_key("sys.forgotten")
            return
        self.state.pending = SystemQuestion.FORGET
        self.ask_pending()

    def my_data(self) -> None:
        self.out.append(ExportData())
        if self.state is not None:
            self.reshow()

    def ask_for_person(self) -> None:
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, quiet=True)
        assert self.state is not None
        if self.ctx.desk_available:  # with no desk, "I'll ask someone" would be a promise nobody keeps
            self.say_key("sys.handoff")  # before the HandOff: the desk's answer to it comes after
        self.out.append(HandOff(urgent=bool(self.state.vars.get("_crisis"))))

    def change_language(self, wanted: str) -> None:
        langs = self.fs.locales.languages
        code = wanted.lower()[:2] if wanted else ""
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True, lang=code if code in langs else None, quiet=True)
        assert self.state is not None
        if code in langs:
            self.state.lang = code
            self.state.pending = None
            self.say_key("sys.language_set")
            self.reshow()
        else:
            self.state.pending = SystemQuestion.LANGUAGE
            self.ask_pending()

    def go_back(self) -> None:
        if self.state is None:
            self.begin(self.fs.entry_flow, fresh=True)
            return
        if self.state.pending == SystemQuestion.DATE:  # "back" at "Ik lees: ... Klopt dat?": type the date again
            self.state.pending, self.state.offer = None, []
            self.reshow()
            return
        self.state.pending = None
        self.state.fails = 0
        change = self.state.vars.pop(LETTER_CHANGE, None)
        if change and change[0] == self.state.flow and self.fs.step(change[0], change[1]) is not None:
            # right after a letter: which part to change, not the last question (whose answer made it again)
            self.goto(change[0], change[1])
            self.run()
            return
        while self.state.history:
            flow, step, stack, answers = self.state.history.pop()
            if self.fs.step(flow, step) is not None:
                self.state.flow, self.state.step, self.state.stack = flow, step, list(stack)
                if answers is not None:
                    # undo what was answered since (an option's `set` too), keep the engine's own flags
                    flags = {k: v for k, v in self.state.vars.items() if k.startswith("_")}
                    asked = self.fs.step(flow, step)
                    if (isinstance(asked, AskStep) and asked.asks_for_a_story
                            and isinstance(said := self.state.vars.get(asked.save), str)
                            and self.assessed(said) is None):
                        flags[TYPED_BEFORE] = said  # a story typed there is offered again (not one taken back in a crisis)
                    self.state.vars = {**answers, **flags}
                self.reshow()
                return
        self.say_key("sys.back_none")
        self.reshow()

    def on_system_choice(self, token: str, choice_id: str) -> None:
        """A button of a system question: valid only while that question is open."""
        if token == CRISIS_CHECK_TOKEN:  # valid whenever it is pressed: "yes" to "are you safe?" always counts
            self.on_crisis_check(choice_id)
            return
        if token == COMMAND_TOKEN:  # "Alles zien" under what is stored: as if "mijn gegevens" was typed
            self.on_command(choice_id, "")
            return
        state = self.state
        expected = SystemQuestion.by_token(token)
        way_out_shown = state is not None and state.fails >= WAY_OUT_AFTER
        if state is None:
            self.say_key("sys.expired")
            self.begin(self.fs.entry_flow, fresh=True)
            return
        if expected is None or (state.pending != expected
                                and not (expected is SystemQuestion.WAY_OUT and way_out_shown)):
            self.stale()
            return
        state.pending = None
        answers: dict[SystemQuestion, Callable[[str], None]] = {
            SystemQuestion.LANGUAGE: self.change_language, SystemQuestion.FORGET: self.on_forget_choice,
            SystemQuestion.WAY_OUT: self.on_way_out_choice, SystemQuestion.RECOVER: self.on_recover_choice,
            SystemQuestion.RESTART: self.on_restart_choice,
        }
        answers[expected](choice_id)

    def on_forget_choice(self, choice_id: str) -> None:
        assert self.state is not None
        if choice_id == "yes":
            self.out.append(ForgetUser())
            self.stats.append(f"forget:{self.state.started}")
            self.say_key("sys.forgotten")
            self.end_conversation()
        else:
            self.say_key("sys.forget_cancelled")
            self.reshow()

    def on_way_out_choice(self, choice_id: str) -> None:
        assert self.state is not None
        self.state.fails = 0
        if choice_id == "back":
            self.go_back()
        elif choice_id == "restart":
            self.begin(self.fs.entry_flow, fresh=True, lang=self.state.lang)
        elif choice_id == "person":
            self.interrupt("person")
            self.reshow()
        else:
            self.reshow()

    def on_recover_choice(self, choice_id: str) -> None:
        assert self.state is not None
        if choice_id == "again":
            self.restart_lost_flow()
        else:  # "menu", or a button from before these ids (it named a flow): the beginning
            self.begin(self.fs.entry_flow, fresh=True, lang=self.state.lang)

    def restart_lost_flow(self) -> None:
        """Start the part whose step disappeared afresh, as the same call it was.

        The lost part is the flow the user stands in: the step that was deleted or renamed is
        in it, or a call returned into it at a step that is gone. With callers on the stack it
        restarts as a call from them, so its end goes back where the caller goes on (the
        caller's answers stay); what it and the flows it calls save is forgotten first, so an
        answer from the first try (an option's `set`, like months of an appeal) cannot mix
        into the second. A part without callers starts a fresh conversation; a flow that is
        gone altogether starts at the beginning.
        """
        state = self.state
        assert state is not None
        flow = state.flow
        if flow not in self.fs.flows or not state.stack:
            self.begin(flow if flow in self.fs.flows else self.fs.entry_flow, fresh=True, lang=state.lang)
            return
        forgotten = variables_set({name: self.fs.flows[name] for name in self.called_from(flow)})
        state.vars = {k: v for k, v in state.vars.items() if k not in forgotten}
        state.fails, state.offer, state.version = 0, [], self.fs.version
        return_to = state.stack.pop()  # enter() puts it back and counts the start
        self.enter(flow, self.fs.flows[flow].start, return_to=return_to)
        self.run()

    def called_from(self, flow: str) -> set[str]:
        """`flow` and every flow it calls, directly or through others."""
        found: set[str] = set()
        todo = [flow]
        while todo:
            name = todo.pop()
            if name in found or name not in self.fs.flows:
                continue
            found.add(name)
            todo += [step.call for step in self.fs.flows[name].steps.values() if isinstance(step, CallStep)]
        return found
