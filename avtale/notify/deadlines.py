"""The deadlines to remind of, read from the published mart ``contract_deadlines``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from avtale.serving import NotPublishedError, connect_serving

TABLE = "contract_deadlines"
REQUIRED = ("contract_id", "deadline_type", "deadline_date")
# Read when the mart has them; older publishes lack some, and they only enrich the text.
OPTIONAL = (
    "customer_id",
    "customer_name",
    "owner",
    "source_system",
    "auto_renew",
    "contract_mrr",
    "mrr_at_stake",
    "detail",
)


def read_deadlines(serving: Path, today: date, horizon_days: int) -> list[dict[str, Any]]:
    """Deadlines from ``today`` to ``today + horizon_days``, one dict per mart row, with
    every optional column present (None when the mart does not have it)."""
    con = connect_serving(serving)
    try:
        present = {
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [TABLE],
            ).fetchall()
        }
        if not present:
            raise NotPublishedError(f"{serving} has no table {TABLE}: run `avtale refresh`.")
        missing = [column for column in REQUIRED if column not in present]
        if missing:
            raise ValueError(f"{TABLE} lacks the columns {', '.join(missing)}")
        columns = [*REQUIRED, *(column for column in OPTIONAL if column in present)]
        cursor = con.execute(
            f"SELECT {', '.join(columns)} FROM {TABLE} "
            "WHERE deadline_date BETWEEN ? AND ? "
            "ORDER BY deadline_date, contract_id, deadline_type",
            [today, today + timedelta(days=horizon_days)],
        )
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    for row in rows:
        for column in OPTIONAL:
            row.setdefault(column, None)
        row["contract_id"] = str(row["contract_id"])
    return rows
