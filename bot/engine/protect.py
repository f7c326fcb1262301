"""Texts that protect people: a typed answer is checked for names and details before it is used.

`protect: public` (a text the public may read) sends a text that names people back with
why and how to write it as policy; `protect: letter` (a complaint letter) only warns.
The finding itself is bot.personal's; this layer decides what the user is told and offered.
"""

from __future__ import annotations

from bot.engine.system import PUBLIC_DRAFT, AsksSystemQuestions
from bot.engine.words import normalise, read_button
from bot.events import Send
from bot.expressions import any_word_in, sentences
from bot.flows.steps import AskStep
from bot.personal import Finding, find_personal, names_people

#: Kinds of bot.personal findings that a complaint letter warns about (it needs no names).
LETTER_WARNS = frozenset({"name", "worker"})
#: State variable: the public draft waiting is a question the person may have asked the bot
PUBLIC_QUESTION = "_public_question"
#: The crisis class of a text that reads as a threat to someone (flows/crisis.yaml)
THREAT_CLASS = "harm_intent"
#: A letter answer's threat is kept in this variable + its `save` name, where the flow asks for it
THREAT_PREFIX = "threat_"


def shorten(quoted: str, limit: int = 45) -> str:
    """A long finding cut at a word, never inside a name: "Jeugdbeschermer Sanne" + "Jong" read as two people."""
    if len(quoted) <= limit:
        return quoted
    cut = quoted[:limit - 1].rsplit(" ", 1)[0] if " " in quoted[:limit - 1] else quoted[:limit - 1]
    return cut + "…"


class ProtectsText(AsksSystemQuestions):
    def protect(self, step: AskStep, text: str) -> bool:
        """Check a typed text for people's names and details; True when it was sent back.

        `public`: the text goes into something the public may read (a letter to the
        council), so anything found stops it, with why and how to write it as policy.
        `letter`: a complaint letter, where the organisation must know the case but not
        a worker's name: a warning, and the answer is kept. (A public text that is a question to
        the bot was asked about before this: the rule `asks_the_bot`, `ask_if_meant`.)
        """
        assert self.state is not None
        self.state.vars.pop(PUBLIC_QUESTION, None)
        findings = find_personal(text, self.fs.known_words())
        if step.protect == "letter":
            named = [f for f in findings if f.kind in LETTER_WARNS]
            if named:
                self.say_key("public_text.letter_warning", items=self.finding_lines(named))
            self.note_threat(step, text)
            return False
        if not findings:
            return False
        personal = names_people(findings)
        # only a text that names nobody may be used as it is, so only that one is kept
        self.state.vars[PUBLIC_DRAFT] = None if personal else text
        own_case = any(f.kind == "own_case" for f in findings)
        self.out.append(Send(
            self.text("public_text.found", items=self.finding_lines(findings), personal=personal,
                      # "a worker you name cannot defend themselves" only where a person is named
                      worker=any(f.kind in LETTER_WARNS for f in findings),
                      own_case=own_case, route=bool(step.own_case)),
            self.buttons(self.public_buttons(step)), token=self.state.step))
        return True

    def note_threat(self, step: AskStep, text: str) -> None:
        """Where a letter's flow asks for it (it set `threat_<save>`), the part of a letter answer that reads
        as a threat, else None: the flow shows it before the letter is made, to rewrite or leave out.

        Why: a threat typed at "Wat is er gebeurd?" trips the crisis check and is kept as the answer, so
        nobody types a story twice; it then went word for word into the letter to the klachtencommissie
        (try-out 37). A letter can lead to an aangifte against its writer; nobody should send a threat by
        accident. Only the sentences that read as a threat are quoted, so the rest can stay.
        """
        assert self.state is not None
        key = THREAT_PREFIX + step.save
        if key not in self.state.vars:
            return  # a letter whose flow does not ask (a worker's own account in the safety flow)
        self.state.vars[key] = self.threat_in(text)

    def threat_in(self, text: str) -> str | None:
        """The sentences of `text` the crisis check reads as a threat; all of it when only the whole does."""
        if not self.reads_as_threat(text):
            return None
        parts = sentences(text)
        threats = [s for s in parts if self.reads_as_threat(s)] if len(parts) > 1 else []
        return " ".join(threats) if threats else text

    def reads_as_threat(self, text: str) -> bool:
        found = self.assessed(text)
        return found is not None and found.crisis_class == THREAT_CLASS

    def ask_if_meant(self, step: AskStep, text: str, key: str) -> None:
        """Kept aside, not saved: "is this your answer, or a question to me?" (`key`), with its buttons."""
        assert self.state is not None
        self.state.vars[PUBLIC_DRAFT] = text
        self.state.vars[PUBLIC_QUESTION] = True
        self.out.append(Send(self.text(key, text=shorten(text, 120)),
                             self.buttons(self.public_buttons(step)), token=self.state.step))

    def finding_lines(self, findings: list[Finding] | tuple[Finding, ...]) -> str:
        """At most three findings, each cut short: enough to find them again, and the message fits a phone."""
        return "\n".join(self.text(f"public_text.kind.{f.kind}", text=shorten(f.text)) for f in findings[:3])

    def public_buttons(self, step: AskStep) -> list[tuple[str, str]]:
        assert self.state is not None
        if self.state.vars.get(PUBLIC_QUESTION):
            # "Is dit een vraag aan mij?": yes, a question (not kept); no, my answer (a try-out could not say "ja")
            return [("again", "public_text.question_again"), ("keep", "public_text.question_keep")]
        pairs = [("again", "public_text.again")]
        if self.state.vars.get(PUBLIC_DRAFT):
            pairs.append(("keep", "public_text.keep"))
        if step.own_case:
            pairs.append(("own_case", "public_text.own_case"))
        return pairs

    def public_button(self, step: AskStep, text: str) -> bool:
        """A button of the "this text names people" question typed instead of pressed (Matrix, console)."""
        assert self.state is not None
        if PUBLIC_DRAFT not in self.state.vars:
            return False
        typed = normalise(text)
        pairs = self.public_buttons(step)
        labels = self.normalised_labels(pairs)
        picked = next((cid for cid, label in labels if typed == label), None)
        if typed.isdigit() and 0 < int(typed) <= len(pairs):
            picked = pairs[int(typed) - 1][0]
        if picked is None and self.state.vars.get(PUBLIC_QUESTION):
            picked = read_button(text, pairs, self.text, clauses=False)  # "ja" / "nee, het is mijn antwoord"
        if picked is None and not self.state.vars.get(PUBLIC_QUESTION) and self.insists(text):
            self.out.append(Send(self.text("public_text.insist", route=bool(step.own_case)),
                                 self.buttons(pairs), token=self.state.step))
            return True
        if picked is None:
            return False
        self.on_public_choice(step, picked)
        return True

    def insists(self, text: str) -> bool:
        """Is this a reply to "a name may not go in" ("ik wil haar naam er toch in, het is de waarheid")?

        Why: it was taken as the next answer, and the protest became the public e-mail's subject
        (try-out 37, person 1). It is answered (why not, and where a name may go) and never stored.
        """
        phrases = [p for p in (normalise(p) for p in self.text("public_text.insist_words").split(",")) if p]
        return any_word_in(normalise(text), phrases)

    def on_public_choice(self, step: AskStep, choice_id: str, via_button: bool = False) -> None:
        assert self.state is not None
        if PUBLIC_DRAFT not in self.state.vars:
            self.stale()
            return
        draft = self.state.vars.pop(PUBLIC_DRAFT)
        if self.state.vars.pop(PUBLIC_QUESTION, False):
            if choice_id == "keep" and draft:  # their answer after all: checked for names like any other
                if not self.protect(step, draft):
                    self.accept(step, draft, via_button=via_button)
            else:
                self.say_key("public_text.question_type_again")
                self.reshow()
        elif choice_id == "keep" and draft:
            self.accept(step, draft, via_button=via_button)
        elif choice_id == "own_case" and step.own_case:
            self.say_key("public_text.to_own_case")
            self.enter(step.own_case, self.fs.flows[step.own_case].start, return_to=(self.state.flow, self.state.step))
            self.run()
        else:
            self.say_key("public_text.type_again")
            self.reshow()
