"""Reading a phone number a person types, so a desk never gets "bel me niet" as a number to call.

Why a library: Dutch numbers come as 06-12345678, 06 1234 5678, 0612345678, +31 6 12345678,
0031 6..., (020) 123 4567, and a colleague abroad types their own country's; phonenumbers
(Google's libphonenumber) knows which of these are real numbers, which hand-written
patterns get wrong at the edges. The number is saved written the way a Dutch desk dials
it: a Dutch number in the national form ("06 12345678"), any other in the international one.

Never log what was typed.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["read_phone", "refuses_phone"]

#: the region a number without a country code is read in
REGION = "NL"
#: what may be in a typed number besides digits: spaces, dashes, dots, brackets, a leading +
_NUMBER_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
#: typed answers that say: do not call me ("bel me niet", "liever niet", "no phone")
_REFUSAL = re.compile(
    r"^(?:nee|no|geen|none|liever niet|niet bellen|bel me niet|bel mij niet|niet|nee bedankt|no thanks"
    r"|geen telefoon(?:nummer)?|geen nummer|liever niet bellen|don'?t call(?: me)?|do not call(?: me)?"
    r"|no phone|no number|not by phone)[.!]*$")


def read_phone(text: str) -> str | None:
    """The number, written as a desk dials it, or None when the text is not one real number."""
    typed = text.strip()
    if not _NUMBER_LIKE.match(typed):
        return None
    try:
        number = phonenumbers.parse(typed.replace("(0)", ""), REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 31
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, style)


def refuses_phone(text: str) -> bool:
    """Does the answer say "do not call me" rather than give a number?"""
    return _REFUSAL.match(" ".join(text.strip().lower().split())) is not None
