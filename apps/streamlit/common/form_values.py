"""A table a form edited, as the plain rows the services take: a blank cell as None, a
timestamp as its date, a numpy number as a Python one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd


def plain(value: Any) -> Any:
    if value is None or (not isinstance(value, list | dict) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp | datetime):
        return value.date()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Every row of the table (the services leave out the rows never filled in)."""
    if frame is None:
        return []
    return [{key: plain(value) for key, value in row.items()} for row in frame.to_dict("records")]
