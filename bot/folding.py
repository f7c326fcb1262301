"""One way to compare what a person typed with the words the bot lists: lower case, accents off.

Why one module: the date reader, the town finder, the intents, the glossary, the name check, the
engine's words and the language guess each had their own copy of the same two lines, and an
improvement to one (the fast path for plain ASCII) did not reach the others. Pure: imports nothing
of the bot, so every layer may use it. The crisis check keeps its own normaliser: it must stay
byte-for-byte what its model was trained on.
"""

from __future__ import annotations

import unicodedata


def unaccented(text: str) -> str:
    """'Súdwest-Fryslân' -> 'Sudwest-Fryslan': decomposed (NFKD), the combining marks dropped.

    Plain ASCII has nothing to decompose and no combining marks, so it comes back as it is.
    """
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def folded(text: str) -> str:
    """Lower case without accents: 'Één Gezinsvoogd' -> 'een gezinsvoogd'."""
    return unaccented(text.lower())
