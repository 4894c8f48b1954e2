"""The reads of the Deadlines page (SPEC VI A1), on the published ``contract_deadlines``.

Same rules as common.marts_reads: plain, hashable arguments (the serving file, its version, the
filters as tuples, empty = all), named parameters, never formatted values, no UI, sums
and counts in DuckDB. ``today`` is an argument, not ``current_date``, so a page open over
midnight and a test agree on what "days left" and the horizon mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from common.marts_reads import TTL, query

# The types that ask someone to act before the date; they lead each week of the list.
ACTION_TYPES = ("notice", "renegotiation_window")
SOON_DAYS = 30  # the tiles' "notice deadlines in 30 days"


class PublishedTooOldError(Exception):
    """The published copy has no deadlines as this page reads them: a refresh publishes
    them again."""


FILTERED = """
filtered as (
    select contract_deadlines.*
    from contract_deadlines
    where (len($owners::varchar[]) = 0
            or list_contains($owners::varchar[], contract_deadlines.owner))
        and (len($types::varchar[]) = 0
            or list_contains($types::varchar[], contract_deadlines.deadline_type))
        and coalesce(contract_deadlines.mrr_at_stake, 0) >= $min_mrr
        and contract_deadlines.deadline_date <= $until
)"""

# Week by week (weeks start on Monday); in a week, notice deadlines and renegotiation
# windows first, soonest first, then the rest by MRR at stake, largest first.
DEADLINE_LIST = f"""
with {FILTERED}

select
    date_trunc('week', filtered.deadline_date)::date as week,
    filtered.deadline_date,
    (filtered.deadline_date - $today::date)::integer as days_left,
    filtered.deadline_type,
    filtered.customer_name,
    filtered.owner,
    filtered.detail,
    filtered.mrr_at_stake,
    filtered.contract_mrr,
    filtered.auto_renew,
    filtered.source_system,
    filtered.contract_id,
    filtered.customer_id,
    contracts.source_id
from filtered
left join contracts
    on filtered.contract_id = contracts.contract_id
order by
    week,
    list_contains($actions::varchar[], filtered.deadline_type) desc,
    case
        when list_contains($actions::varchar[], filtered.deadline_type)
            then filtered.deadline_date
    end,
    filtered.mrr_at_stake desc nulls last,
    filtered.deadline_date,
    filtered.customer_name,
    filtered.contract_id,
    filtered.deadline_type
"""

DEADLINE_WEEKS = f"""
with {FILTERED}

select
    date_trunc('week', filtered.deadline_date)::date as week,
    filtered.deadline_type,
    count(*) as deadlines,
    coalesce(sum(filtered.mrr_at_stake), 0)::double as mrr_at_stake
from filtered
group by all
order by week, filtered.deadline_type
"""


def _deadlines(serving: str, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    try:
        return query(serving, sql, params)
    except duckdb.BinderException as problem:  # a column this page reads is missing
        raise PublishedTooOldError(str(problem)) from problem


def _params(
    owners: tuple[str, ...], types: tuple[str, ...], min_mrr: float, until: date
) -> dict[str, Any]:
    return {"owners": list(owners), "types": list(types), "min_mrr": min_mrr, "until": until}


@st.cache_data(ttl=TTL)
def owner_choices(serving: str, version: int) -> list[str]:
    """The owners that have a deadline, by name."""
    rows = query(
        serving,
        "select distinct owner from contract_deadlines where owner is not null order by owner",
    )
    return rows.owner.tolist()


@st.cache_data(ttl=TTL)
def deadline_list(
    serving: str,
    version: int,
    owners: tuple[str, ...],
    types: tuple[str, ...],
    min_mrr: float,
    until: date,
    today: date,
) -> pd.DataFrame:
    """One row per deadline up to ``until``, in the order to act on them."""
    params = _params(owners, types, min_mrr, until) | {
        "today": today,
        "actions": list(ACTION_TYPES),
    }
    return _deadlines(serving, DEADLINE_LIST, params)


@st.cache_data(ttl=TTL)
def deadline_weeks(
    serving: str,
    version: int,
    owners: tuple[str, ...],
    types: tuple[str, ...],
    min_mrr: float,
    until: date,
) -> pd.DataFrame:
    """Deadlines and their MRR at stake per week and type, for the same filters."""
    return _deadlines(serving, DEADLINE_WEEKS, _params(owners, types, min_mrr, until))


@dataclass(frozen=True)
class Summary:
    """What the tiles above the list say."""

    notices_soon: int  # notice deadlines from today through SOON_DAYS ahead
    notices_soon_mrr: float  # their MRR at stake
    passed: int  # notice deadlines and renegotiation windows whose date has passed


def summary(rows: pd.DataFrame) -> Summary:
    """The tiles of a ``deadline_list``."""
    notices = rows[(rows.deadline_type == "notice") & rows.days_left.between(0, SOON_DAYS)]
    actions = rows[rows.deadline_type.isin(ACTION_TYPES)]
    return Summary(
        notices_soon=len(notices),
        notices_soon_mrr=float(notices.mrr_at_stake.sum()),
        passed=int((actions.days_left < 0).sum()),
    )
