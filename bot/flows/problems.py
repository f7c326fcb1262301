"""Problems a moderator sees: what, where (file:line:col), and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.errors import ContentError
from bot.flows.source import Where


@dataclass(frozen=True, slots=True)
class Problem:
    where: Where
    kind: str
    message: str
    fix: str = ""
    severity: Literal["error", "warning"] = "error"
    #: the error this one follows from (its `where`, as text): a step cut off by a misspelt `next` elsewhere.
    #: Why: one typo in a moderator's `next` gave 44 errors in the /reload chat reply, 43 of them this kind;
    #: the chat names the cause once, with how many follow (bot/moderation.py); `check` lists them all
    follows: str = ""
    #: the technical words behind a plain message (the YAML parser's), last, for whoever wants them
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.severity}[{self.kind}]: {self.message}"
        text = f"{text}\n    fix: {self.fix}" if self.fix else text
        return f"{text}\n    parser: {self.detail}" if self.detail else text


class FlowSetInvalid(ContentError):
    """Loading failed; `problems` lists every error (the running set is kept)."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in flows")
        self.problems = problems
