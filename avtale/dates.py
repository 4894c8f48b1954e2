"""The business's calendar: what day it is, and calendar arithmetic.

"Today" is the date in the business's time zone (``$AVTALE_TIMEZONE``, default
Europe/Oslo), never the server's: at 00:30 in Oslo a UTC server still says
yesterday, and a reminder, an invoice date or a signed date would be a day off.
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMEZONE_ENV = "AVTALE_TIMEZONE"
DEFAULT_TIMEZONE = "Europe/Oslo"


@cache
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{TIMEZONE_ENV}={name!r} is not a time zone; use a name such as Europe/Oslo"
        ) from None


def business_zone(environ: Mapping[str, str] = os.environ) -> ZoneInfo:
    """The business's time zone: ``$AVTALE_TIMEZONE`` (read on each call, so "today" follows
    the environment it runs in; ``avtale.settings`` checks it at start)."""
    return _zone(environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE)


def today() -> date:
    """Today in the business's time zone."""
    return datetime.now(business_zone()).date()


def add_months(start: date, months: int) -> date:
    """``start`` moved by whole months, kept on the month's last day when it is shorter."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last_day))
