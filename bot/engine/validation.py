"""Named rules that judge a typed answer before an `ask` step keeps it (in the style of Rasa's
named validation rules): one table, so a flow, the docs and a reader see which rules exist and
which a question runs.

- `not_a_story` refuses "weet ik niet", a bare "ja" or a phone number where a story is asked.
  Runs by default at a `type: text` question that takes 400+ characters (`STORY_FROM`); judged
  before the length; then says kindly why and asks again (a wrong answer).
- `asks_the_bot` refuses a short question to the bot ("hoelang mag ik eigenlijk praten?"). Runs
  by default with `protect: public`; judged after the length; then keeps the text aside and asks
  "is this your answer, or a question to me?".

A step's `rules: [...]` names the rules it runs instead (`[]`: none); `AskStep.answer_rules`
is what a step runs. Each rule is a pure function from the text to the text key that says why it
is not kept, or None. Pure, like the whole engine: no state, no flow set, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.engine.words import DONT_KNOW, YES, normalise
from bot.flows.steps import AnswerRuleName
from bot.telephone import read_phone

#: "weet ik niet" and its kin as a whole answer: the one DONT_KNOW list (which a button may also mean),
#: and what only a story question hears so
_NOT_KNOWN_STORY = DONT_KNOW | {"ik weet het niet meer", "weet ik niet meer", "ik weet het echt niet", "onbekend",
                                "i have no idea", "unknown"}
#: A question ("...?", or one that starts with a question word) ...
_QUESTION = re.compile(r"\?\s*$|^(hoe|hoelang|hoeveel|wat|wanneer|waar|welke|mag|kan|moet|wie"
                       r"|how|what|when|where|which|can|may|must|do|should|who)\b")
#: ... in the first person or to "you": asked of the bot, not of the council ("Kan de gemeente ...?")
_TO_THE_BOT = re.compile(r"\b(ik|i|jij|je|you|u)\b")


def not_a_story(text: str) -> str | None:
    """Why a typed answer to a story question is no story: the text that says so kindly, or None.

    Only "I don't know", a bare yes, or a phone number: each went into a letter as its content.
    """
    said = re.sub(r"[,.;:!?']", "", normalise(text))
    if said in _NOT_KNOWN_STORY:
        return "sys.invalid.story_unknown"
    if said in YES:
        return "sys.invalid.story_yes"
    if read_phone(text) is not None:
        return "sys.invalid.story_phone"
    return None


def asks_the_bot(text: str) -> bool:
    """Is a short typed answer a question to the bot ("hoelang mag ik eigenlijk praten?")?

    Why: typed at "Wat gebeurt er, in algemene woorden?" it became the public e-mail's message,
    and every later answer moved one question on (try-out 2026-12-07). A question to the council
    ("Kan de gemeente zorgen voor één loket?") names neither "ik" nor "je", and is an answer.
    """
    said = normalise(text)
    return len(said) <= 120 and bool(_QUESTION.search(said)) and bool(_TO_THE_BOT.search(said))


@dataclass(frozen=True, slots=True)
class AnswerRule:
    """One named check of a typed text (see the table above)."""

    name: AnswerRuleName
    #: the text key saying why the text is not kept, or None when the rule lets it through
    judge: Callable[[str], str | None]
    #: judged before the length is: its own words say more than "too short" ("ja" at a story)
    before_length: bool
    #: `again`: the key is said and the question asked again; `ask`: the text is kept aside and the
    #: key asks whether it is the answer (with the public text's buttons)
    then: Literal["again", "ask"]


#: Every rule, by name; `AnswerRuleName` (bot/flows/steps.py) names exactly these.
RULES: Mapping[AnswerRuleName, AnswerRule] = {
    "not_a_story": AnswerRule("not_a_story", not_a_story, before_length=True, then="again"),
    "asks_the_bot": AnswerRule("asks_the_bot", lambda text: "public_text.question" if asks_the_bot(text) else None,
                               before_length=False, then="ask"),
}
