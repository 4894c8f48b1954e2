"""The deadlines to remind of, read from the published mart ``contract_deadlines``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from avtale.serving import NotPublishedError, connect_serving

TABLE = "contract_deadlines"
COLUMNS = (
    "contract_id",
    "deadline_type",
    "deadline_date",
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
    """Deadlines from ``today`` to ``today + horizon_days``, one dict per mart row."""
    con = connect_serving(serving)
    try:
        cursor = con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {TABLE} "
            "WHERE deadline_date BETWEEN ? AND ? "
            "ORDER BY deadline_date, contract_id, deadline_type",
            [today, today + timedelta(days=horizon_days)],
        )
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    except duckdb.CatalogException:
        raise NotPublishedError(f"{serving} has no table {TABLE}: run `avtale refresh`.") from None
    finally:
        con.close()
