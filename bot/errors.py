"""One root for the product's own errors, so a caller can tell an expected problem from a bug.

Every exception class the bot defines derives from `WegwijzerError`, through one branch per
kind of problem (`ProblemKind`). A caller catches the branch it can answer: the engine catches
`TurnError` (a flow that cannot go on: it apologises and starts over), the CLI catches
`ContentError` and `ConfigurationError` (a line for the moderator or operator). What is not a
`WegwijzerError` (a `KeyError`, a `TypeError`) is a bug in the code: nobody catches it as if it
were expected, so it surfaces in tests and is logged as a bug in production.

What this module must never do: import anything from the rest of `bot/` (every module may
import it), or hold a message text a user sees (those live in `locales/`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

__all__ = [
    "ConfigurationError",
    "ContentError",
    "PlatformError",
    "ProblemKind",
    "StorageError",
    "ToolError",
    "TurnError",
    "WegwijzerError",
]


class ProblemKind(StrEnum):
    """What kind of problem an error is: who can fix it, and where it is answered."""

    #: a flow, expression or text failed while running a turn: the user gets the engine's apology
    TURN = "turn"
    #: a file moderators edit (flows, locales, directory, crisis rules, scenarios) cannot be used
    CONTENT = "content"
    #: a setting or key the operator gives cannot be used: the bot does not start
    CONFIGURATION = "configuration"
    #: a chat platform refused or went away: retried, queued or reported at start
    PLATFORM = "platform"
    #: an outside program the tools need (Graphviz) is missing or failed
    TOOL = "tool"
    #: the database cannot be used (closed while a call waited): the update is not claimed, so it comes again
    STORAGE = "storage"


class WegwijzerError(Exception):
    """The root: a problem the bot expects and answers, never a bug."""

    kind: ClassVar[ProblemKind]


class TurnError(WegwijzerError):
    """A turn cannot go on (a loop, an expression or render over budget): the engine apologises."""

    kind = ProblemKind.TURN


class ContentError(WegwijzerError):
    """A moderator's file cannot be used; the message (or `problems`) says where and how to fix it."""

    kind = ProblemKind.CONTENT


class ConfigurationError(WegwijzerError):
    """A setting or key cannot be used; the message names it, never its value."""

    kind = ProblemKind.CONFIGURATION


class PlatformError(WegwijzerError):
    """A chat platform did not do what was asked."""

    kind = ProblemKind.PLATFORM


class StorageError(WegwijzerError):
    """The database could not run a call; nothing was written by it."""

    kind = ProblemKind.STORAGE


class ToolError(WegwijzerError):
    """An outside program a tool needs is missing or failed; the message says what to install or do."""

    kind = ProblemKind.TOOL
