"""Payment references a buyer pays with, so the bank statement names the invoice: the
Norwegian KID and the Swedish OCR reference (Bankgirot's "OCR-referens").

KID (kundeidentifikasjon), as Norwegian banks and Mastercard Payment Services (Nets)
define it: 2 to 25 characters, digits with a check digit last, computed by one of two
methods the payee agrees with its bank:

- MOD10 (Luhn): from the right, the digits are weighted 2, 1, 2, 1, …; a product above 9
  counts as the sum of its digits; the check digit brings the total to a multiple of 10.
- MOD11: from the right, the digits are weighted 2, 3, 4, 5, 6, 7, 2, 3, …; the check
  digit is 11 − (sum mod 11), 0 when that is 11, and "-" when it is 10 (a KID may end with
  a hyphen, which the payer types too).

OCR reference (Bankgirot, Bankgiro Inbetalningar): 2 to 25 digits, the last one a check
digit by "10-modul" (the same Luhn computation). The payee's agreement with its bank sets
how hard the payer's bank checks it:

- "mjuk kontroll" (soft): the check digit; a wrong one is accepted after a warning.
- "hård kontroll" (hard): the check digit must be right.
- "variabel längdkontroll" (hard, with a length digit): the second-last digit is the
  reference's total length, check and length digit included, modulo 10 (a 12-digit
  reference has length digit 2); the check digit is computed over everything before it,
  the length digit included. This is the common choice: a dropped or doubled digit fails.
- "fast längd" (hard, fixed length): the check digit, and the reference has one of one or
  two lengths agreed with the bank.

Soft and hard control accept the same references, so they are one variant here
(``length_digit=False``); fixed lengths are checked with ``lengths``.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

MIN_LENGTH = 2
MAX_LENGTH = 25
MOD11_WEIGHTS = (2, 3, 4, 5, 6, 7)


class KidMethod(StrEnum):
    MOD10 = "MOD10"
    MOD11 = "MOD11"


def luhn_digit(digits: str) -> str:
    """The Luhn (MOD10, "10-modul") check digit to append to ``digits``."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return str(-total % 10)


def mod11_digit(digits: str) -> str:
    """The MOD11 check digit to append to ``digits``: "0"-"9", or "-" where it would be 10."""
    total = sum(
        int(char) * MOD11_WEIGHTS[position % len(MOD11_WEIGHTS)]
        for position, char in enumerate(reversed(digits))
    )
    check = (11 - total % 11) % 11
    return "-" if check == 10 else str(check)


def _base_error(base: str, extra: int) -> str | None:
    if not base.isdigit():
        return f"{base!r} is not digits only"
    if not MIN_LENGTH <= len(base) + extra <= MAX_LENGTH:
        return f"{base!r} makes a reference of {len(base) + extra} digits, not {MIN_LENGTH}-{MAX_LENGTH}"
    return None


def make_kid(base: str, method: KidMethod = KidMethod.MOD10) -> str:
    """``base`` (digits, e.g. customer and invoice number) with its KID check digit."""
    problem = _base_error(base, 1)
    if problem:
        raise ValueError(f"no KID from {problem}")
    check = luhn_digit(base) if KidMethod(method) is KidMethod.MOD10 else mod11_digit(base)
    return base + check


def kid_error(kid: str, method: KidMethod = KidMethod.MOD10) -> str | None:
    """Why ``kid`` is not a valid KID by ``method``; None when it is."""
    if not MIN_LENGTH <= len(kid) <= MAX_LENGTH:
        return f"KID {kid!r} is {len(kid)} characters long, not {MIN_LENGTH}-{MAX_LENGTH}"
    base, check = kid[:-1], kid[-1]
    if not base.isdigit() or not (check.isdigit() or check == "-"):
        return f"KID {kid!r} must be digits, its last one may be -"
    expected = luhn_digit(base) if KidMethod(method) is KidMethod.MOD10 else mod11_digit(base)
    if check != expected:
        return f"KID {kid!r} has a wrong {KidMethod(method)} check digit"
    return None


def is_valid_kid(kid: str, method: KidMethod = KidMethod.MOD10) -> bool:
    return kid_error(kid, method) is None


def make_ocr(base: str, *, length_digit: bool = False) -> str:
    """``base`` (digits) as a Bankgirot OCR reference: with a length digit when the payee's
    agreement has variable length control, then the check digit."""
    problem = _base_error(base, 2 if length_digit else 1)
    if problem:
        raise ValueError(f"no OCR reference from {problem}")
    if length_digit:
        base += str((len(base) + 2) % 10)
    return base + luhn_digit(base)


def ocr_error(ocr: str, *, length_digit: bool = False, lengths: Collection[int] = ()) -> str | None:
    """Why ``ocr`` fails Bankgirot's hard control: check digit, and the length digit or one
    of the fixed ``lengths`` where the agreement has them; None when it passes."""
    if not ocr.isdigit():
        return f"OCR reference {ocr!r} must be digits only"
    if not MIN_LENGTH <= len(ocr) <= MAX_LENGTH:
        return f"OCR reference {ocr!r} is {len(ocr)} digits long, not {MIN_LENGTH}-{MAX_LENGTH}"
    if lengths and len(ocr) not in lengths:
        agreed = " or ".join(str(n) for n in sorted(lengths))
        return f"OCR reference {ocr!r} has {len(ocr)} digits, not {agreed}"
    if luhn_digit(ocr[:-1]) != ocr[-1]:
        return f"OCR reference {ocr!r} has a wrong check digit"
    if length_digit and ocr[-2] != str(len(ocr) % 10):
        return f"OCR reference {ocr!r} has a wrong length digit"
    return None


def is_valid_ocr(ocr: str, *, length_digit: bool = False, lengths: Collection[int] = ()) -> bool:
    return ocr_error(ocr, length_digit=length_digit, lengths=lengths) is None
