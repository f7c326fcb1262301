"""How much of a button label a phone shows.

Why: Telegram draws each inline button on one line and cuts what does not fit with "…". On a
phone about 360 px wide, a button in a row of its own holds roughly 30-35 characters of
Telegram's interface font (Roboto on Android, SF on iOS), fewer when the label is full of
capitals or wide letters. A label cut at "A written instruction (schriftelijke aanwij…" loses
the part that tells two options apart, so `check` warns about labels that may not fit.

The estimate is a conservative character count weighted by letter width (measured once from
Roboto's advance widths, rounded): narrow letters count for less, capitals, "m" and "w" for
more, emoji and East Asian characters for two. It errs on the side of warning.
"""

from __future__ import annotations

import unicodedata

__all__ = ["BUTTON_WIDTH", "label_width"]

#: What one full-width button shows on a 360 px phone, in average lower-case characters.
BUTTON_WIDTH = 30.0

_NARROW = frozenset("iljtfr.,:;'!|()[]/ ")
_WIDE_LOWER = frozenset("mw")


def label_width(label: str) -> float:
    """The label's width in average lower-case characters (see the module's note)."""
    width = 0.0
    for char in label:
        if unicodedata.combining(char):
            continue
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
    return round(width, 2)
