"""How much of a button label a phone shows.

Why: Telegram draws each inline button on one line and cuts what does not fit with "…". On a
phone about 360 px wide, a button in a row of its own holds roughly 30-35 characters of
Telegram's interface font (Roboto on Android, SF on iOS), fewer when the label is full of
capitals or wide letters. A label cut at "A written instruction (schriftelijke aanwij…" loses
the part that tells two options apart, so `check` warns about labels that may not fit.

The estimate is a conservative character count weighted by letter width (measured once from
Roboto's advance widths, rounded): narrow letters count for less, capitals, "m" and "w" for
more, emoji and East Asian characters for two. On top of that every character counts for at
least one: a label of 31 narrow letters is still over the cap, because a phone's font, size
and the user's text-size setting vary more than the weights can know. It errs on the side of
warning.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["BUTTON_WIDTH", "SIDE_BY_SIDE_COUNT", "SIDE_BY_SIDE_LABEL", "label_width", "side_by_side"]

#: What one full-width button shows on a 360 px phone, in average lower-case characters.
BUTTON_WIDTH = 30.0

#: Answers this short ("Ja"/"Nee", "Yes"/"No") fit three to a row; longer ones get a row each,
#: because a shared row gives each button a third of the width and Telegram cuts the rest.
SIDE_BY_SIDE_LABEL = 8.0
SIDE_BY_SIDE_COUNT = 3

_NARROW = frozenset("iljtfr.,:;'!|()[]/ ")
_WIDE_LOWER = frozenset("mw")


def label_width(label: str) -> float:
    """The label's width in average lower-case characters, never less than its plain count (see the module's note)."""
    width = 0.0
    count = 0
    for char in label:
        if unicodedata.combining(char):
            continue
        count += 1
        if unicodedata.east_asian_width(char) in ("W", "F") or ord(char) >= 0x1F000:
            width += 2.0
        elif char in _NARROW:
            width += 0.55
        elif char in _WIDE_LOWER or char in "MW":
            width += 1.45
        elif char.isupper() or char.isdigit():
            width += 1.2
        else:
            width += 1.0
    return round(max(width, count), 2)


def side_by_side(labels: Sequence[str]) -> bool:
    """Whether these buttons may share one row: a few, each short enough for its share of the width."""
    return len(labels) <= SIDE_BY_SIDE_COUNT and all(label_width(label) <= SIDE_BY_SIDE_LABEL for label in labels)
