"""A conversation's state: where the user is and what the flow saved.

Small on purpose: it is serialised to one SQLite row per conversation on
every update, so it holds only positions, the language, the saved answers
and a short history for "back". Nothing here is a platform object.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import orjson


def dumps(data: Any) -> str:
    """Compact JSON text, as `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` writes it.

    orjson does it several times faster (every turn encodes the state and its replies).
    What orjson refuses but json takes (an integer past 64 bits, a non-text key) is written
    by json with a leading space (still JSON), so `loads` reads it back with json too:
    orjson would read such an integer as a float.
    """
    try:
        return orjson.dumps(data).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return " " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def loads(raw: str | bytes) -> Any:
    """Data back from `dumps` (or from json.dumps: what earlier versions stored)."""
    if raw[:1] in (" ", b" "):
        return json.loads(raw)
    return orjson.loads(raw)


#: How many earlier questions "back" can return to.
HISTORY_LIMIT = 12

#: flow, step, call stack, and the answers as they were at that question (None: not recorded)
Position = tuple[str, str, tuple[tuple[str, str], ...], dict[str, Any] | None]

#: Values that need no copying (immutable).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _pair(item: list[str]) -> tuple[str, str]:
    first, second = item
    return first, second


def _copy_vars(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if type(v) in _ATOMS else copy.deepcopy(v) for k, v in values.items()}


@dataclass(slots=True)
class State:
    flow: str
    step: str
    lang: str
    version: str
    vars: dict[str, Any] = field(default_factory=dict)
    #: return points of `call`: (flow, step to continue at)
    stack: list[tuple[str, str]] = field(default_factory=list)
    #: earlier questions, newest last
    history: list[Position] = field(default_factory=list)
    #: wrong answers in a row at the current question
    fails: int = 0
    #: a system question waiting for an answer: "forget", "language", "recover", "way_out", "pick",
    #: "date" (a typed date echoed in words: "Klopt dat?", or the two readings of an ambiguous one)
    pending: str | None = None
    #: candidates offered by a "did you mean" question (municipality), or the dates read (ISO)
    offer: list[str] = field(default_factory=list)
    #: the flow this conversation started with (counted with "forget me"; starts and ends are
    #: counted per flow as they happen)
    started: str = ""

    def copy(self) -> State:
        """An independent copy: what copy.deepcopy gives, at a fraction of its cost.

        The engine changes a copy, never the state it was given. Values in `vars` are
        JSON data: scalars are shared (immutable), lists and dicts are copied deeply.
        """
        return State(
            flow=self.flow,
            step=self.step,
            lang=self.lang,
            version=self.version,
            vars=_copy_vars(self.vars),
            stack=list(self.stack),
            history=[(f, s, k, None if x is None else _copy_vars(x)) for f, s, k, x in self.history],
            fails=self.fails,
            pending=self.pending,
            offer=list(self.offer),
            started=self.started,
        )

    def position(self) -> Position:
        return (self.flow, self.step, tuple(self.stack), dict(self.vars))

    def wipe(self, names: set[str]) -> None:
        """Empty these answers in every earlier position too: a promised wipe ("ik wis de naam als de
        brief klaar is") must reach the copies "back" keeps, or "terug" and the stored row still hold them."""
        for _, _, _, answers in self.history:
            if answers is not None:
                for name in names & answers.keys():
                    answers[name] = None

    def to_json(self) -> str:
        data: dict[str, Any] = {"f": self.flow, "s": self.step, "l": self.lang, "v": self.version}
        if self.vars:
            data["x"] = self.vars
        if self.stack:
            data["k"] = self.stack
        if self.history:
            data["h"] = [[f, s, [list(r) for r in k], x] for f, s, k, x in self.history]
        if self.fails:
            data["n"] = self.fails
        if self.pending:
            data["p"] = self.pending
        if self.offer:
            data["o"] = self.offer
        if self.started and self.started != self.flow:
            data["b"] = self.started
        return dumps(data)

    @classmethod
    def from_json(cls, raw: str | bytes) -> State:
        data = loads(raw)
        get = data.get
        stack = get("k")
        history = get("h")
        return cls(
            data["f"], data["s"], data["l"], data["v"], get("x", {}),
            [(f, s) for f, s in stack] if stack else [],
            # every turn reads one back: map and tuple in C rather than a generator per position
            [(h[0], h[1], tuple(map(_pair, h[2])) if h[2] else (), h[3] if len(h) > 3 else None)
             for h in history] if history else [],
            get("n", 0), get("p"), get("o", []), get("b", data["f"]),
        )
