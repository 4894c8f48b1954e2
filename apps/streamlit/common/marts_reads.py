"""How the app reads the published marts (docs/marts.md), and what the frame reads of them.

The ``*_reads`` modules on the marts follow the rules here. Functions take plain, hashable
arguments so ``st.cache_data`` can key on them: the serving file as text, its
``serving_version`` (a new publish misses the cache), and the sidebar filters as tuples
(empty = everyone). They call no UI and raise ``NotPublishedError`` when nothing is
published. SQL takes named parameters, never formatted values; sums and counts happen in
DuckDB, so a page gets one row per month, never one per customer-month.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from avtale.serving import connect_serving

TTL = 600  # seconds; a publish changes the version, so the ttl only bounds memory

Filters = tuple[str, ...]


def segment_filter(table: str) -> str:
    """The sidebar filters on a mart with the customer's owner, country and currency
    (``customers`` itself, ``monthly_segments``): named parameters, never formatted values,
    the casts keep an empty list typed. ``table`` is an alias written in this package,
    never user input."""
    return f"""(len($owners::varchar[]) = 0 or list_contains($owners::varchar[], {table}.owner))
    and (len($countries::varchar[]) = 0 or list_contains($countries::varchar[], {table}.country))
    and (len($currencies::varchar[]) = 0
        or list_contains($currencies::varchar[], {table}.currency))"""


def filter_params(owners: Filters, countries: Filters, currencies: Filters) -> dict[str, Any]:
    """The sidebar filters as the parameters of ``segment_filter``."""
    return {"owners": list(owners), "countries": list(countries), "currencies": list(currencies)}


def query(serving: str, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The rows of one query on the serving copy."""
    con = connect_serving(Path(serving))
    try:
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as dicts of Python values (dates stay dates)."""
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@st.cache_data(ttl=TTL)
def published_at(serving: str, version: int) -> datetime | None:
    """When the serving copy was published (None if it has no ``_published`` table)."""
    con = connect_serving(Path(serving))
    try:
        # A file written by hand or an older publish may lack the table.
        has_table = con.execute(
            "select count(*) from duckdb_tables() where table_name = '_published'"
        ).fetchone()
        if not has_table or not has_table[0]:
            return None
        row = con.execute("select max(published_at) from _published").fetchone()
        return row[0] if row else None
    finally:
        con.close()


@st.cache_data(ttl=TTL)
def filter_options(serving: str, version: int) -> pd.DataFrame:
    """The owner x country x currency combinations that occur, with customer counts."""
    return query(
        serving,
        """
        select owner, country, currency, count(*) as customers
        from customers
        group by all
        order by all
        """,
    )
