"""Organisation numbers of Norway, Sweden, Denmark and Finland, checked by their check digits.

People type them as the registers, invoices and VAT numbers print them: ``NO 923 609 016
MVA``, ``556016-0680``, ``SE556016068001``, ``DK 24256790``, ``FI 0112038-9``. ``compact``
strips that dress so two spellings of one number compare equal; ``check`` says what is wrong
with a number for its country. Other countries have no rule here: any text is accepted.
"""

from __future__ import annotations

import re

CHECKED_COUNTRIES = ("NO", "SE", "DK", "FI")
SEPARATORS = re.compile(r"[\s.\-/]")


def compact(country: str | None, number: str) -> str:
    """The bare number: upper case without separators, country prefix or the Norwegian
    ``MVA`` suffix. A Swedish VAT number (``SE`` + number + ``01``) and the 12-digit form
    with the ``16`` prefix become the 10-digit number; a Finnish business ID written with
    6 digits gets its leading zero back."""
    bare = SEPARATORS.sub("", number).upper()
    code = (country or "").upper()
    if code and bare.startswith(code):
        bare = bare[len(code) :]
        if code == "SE" and len(bare) == 12 and bare.endswith("01"):
            bare = bare[:10]
    if code == "NO":
        bare = bare.removesuffix("MVA")
    elif code == "SE" and len(bare) == 12 and bare.startswith("16"):
        bare = bare[2:]
    elif code == "FI" and len(bare) == 7:
        bare = "0" + bare
    return bare


def check(country: str | None, number: str) -> str | None:
    """Why ``number`` is not a valid organisation number of ``country``; None when it is,
    or when the country has no rule here."""
    code = (country or "").upper()
    if code not in CHECKED_COUNTRIES:
        return None
    bare = compact(code, number)
    return {"NO": _norway, "SE": _sweden, "DK": _denmark, "FI": _finland}[code](bare)


def _digits(bare: str, length: int) -> list[int] | None:
    return [int(digit) for digit in bare] if len(bare) == length and bare.isdigit() else None


def _norway(bare: str) -> str | None:
    # Brønnøysundregistrene: modulus 11 with weights 3 2 7 6 5 4 3 2; a remainder of 1
    # would need the check digit 10, so such numbers are never issued.
    digits = _digits(bare, 9)
    if digits is None:
        return "must be 9 digits for a Norwegian organisation number, such as 923 609 016"
    remainder = sum(w * d for w, d in zip((3, 2, 7, 6, 5, 4, 3, 2), digits, strict=False)) % 11
    if remainder == 1 or (11 - remainder) % 11 != digits[8]:
        return "has a wrong check digit for a Norwegian organisation number"
    return None


def _sweden(bare: str) -> str | None:
    # Bolagsverket: the Luhn check over the 10 digits (the last one is the check digit).
    digits = _digits(bare, 10)
    if digits is None:
        return "must be 10 digits for a Swedish organisation number, such as 556016-0680"
    total = 0
    for index, digit in enumerate(digits):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    if total % 10:
        return "has a wrong check digit for a Swedish organisation number"
    return None


def _denmark(bare: str) -> str | None:
    # Erhvervsstyrelsen: the weighted sum (2 7 6 5 4 3 2 1) of a CVR number is divisible
    # by 11, and no CVR number starts with 0.
    digits = _digits(bare, 8)
    if digits is None or digits[0] == 0:
        return "must be 8 digits, not starting with 0, for a Danish CVR number, such as 24256790"
    if sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2, 1), digits, strict=True)) % 11:
        return "has a wrong check digit for a Danish CVR number"
    return None


def _finland(bare: str) -> str | None:
    # PRH/Vero: Y-tunnus 1234567-8, weights 7 9 10 5 8 4 2; remainder 0 gives check digit
    # 0, remainder 1 is never issued, otherwise 11 - remainder.
    digits = _digits(bare, 8)
    if digits is None:
        return "must be 7 digits and a check digit for a Finnish business ID, such as 0112038-9"
    remainder = sum(w * d for w, d in zip((7, 9, 10, 5, 8, 4, 2), digits, strict=False)) % 11
    if remainder == 1 or (11 - remainder) % 11 != digits[7]:
        return "has a wrong check digit for a Finnish business ID (Y-tunnus)"
    return None
