"""Every query the app runs, against the published marts (docs/marts.md).

Functions take plain, hashable arguments so ``st.cache_data`` can key on them:
the serving file as text, its ``serving_version`` (a new publish misses the
cache), and the sidebar filters as tuples (empty = everyone). They call no UI
and raise ``NotPublishedError`` when nothing is published. Sums and counts
happen in DuckDB, so a page gets one row per month, never one per customer-month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from avtale.serving import connect_serving

TTL = 600  # seconds; a publish changes the version, so the ttl only bounds memory

Filters = tuple[str, ...]

# Named parameters, never formatted values. The casts keep an empty list typed.
SCOPED_CUSTOMERS = """
scoped_customers as (
    select customers.customer_id, customers.name, customers.country, customers.owner
    from customers
    where (len($owners::varchar[]) = 0 or list_contains($owners::varchar[], customers.owner))
        and (len($countries::varchar[]) = 0
            or list_contains($countries::varchar[], customers.country))
        and (len($currencies::varchar[]) = 0
            or list_contains($currencies::varchar[], customers.currency))
)"""

MONTHLY_METRICS = """
select
    month,
    mrr::double as mrr,
    arr::double as arr,
    customers,
    new_mrr::double as new_mrr,
    expansion_mrr::double as expansion_mrr,
    reactivation_mrr::double as reactivation_mrr,
    contraction_mrr::double as contraction_mrr,
    churn_mrr::double as churn_mrr,
    net_new_mrr::double as net_new_mrr,
    is_future
from monthly_metrics
order by month
"""

# The same columns as MONTHLY_METRICS, summed over the filtered customers only.
SCOPED_MONTHLY = f"""
with {SCOPED_CUSTOMERS},

totals as (
    select
        customer_months.month,
        sum(customer_months.mrr)::double as mrr,
        count(*) filter (where customer_months.mrr > 0) as customers,
        bool_or(customer_months.is_future) as is_future
    from customer_months
    inner join scoped_customers
        on customer_months.customer_id = scoped_customers.customer_id
    group by customer_months.month
),

movements as (
    select
        mrr_movements.month,
        sum(mrr_movements.amount) filter (where mrr_movements.movement = 'new') as new_mrr,
        sum(mrr_movements.amount) filter (where mrr_movements.movement = 'expansion')
            as expansion_mrr,
        sum(mrr_movements.amount) filter (where mrr_movements.movement = 'reactivation')
            as reactivation_mrr,
        sum(mrr_movements.amount) filter (where mrr_movements.movement = 'contraction')
            as contraction_mrr,
        sum(mrr_movements.amount) filter (where mrr_movements.movement = 'churn')
            as churn_mrr,
        sum(mrr_movements.amount) as net_new_mrr
    from mrr_movements
    inner join scoped_customers
        on mrr_movements.customer_id = scoped_customers.customer_id
    group by mrr_movements.month
),

monthly as (
    select
        totals.month,
        totals.mrr,
        12 * totals.mrr as arr,
        totals.customers,
        coalesce(movements.new_mrr, 0)::double as new_mrr,
        coalesce(movements.expansion_mrr, 0)::double as expansion_mrr,
        coalesce(movements.reactivation_mrr, 0)::double as reactivation_mrr,
        coalesce(movements.contraction_mrr, 0)::double as contraction_mrr,
        coalesce(movements.churn_mrr, 0)::double as churn_mrr,
        coalesce(movements.net_new_mrr, 0)::double as net_new_mrr,
        totals.is_future
    from totals
    left join movements on totals.month = movements.month
)

select * from monthly order by month
"""

MOVEMENT_CUSTOMERS = f"""
with {SCOPED_CUSTOMERS},

picked as (
    select
        scoped_customers.name as customer,
        scoped_customers.country,
        scoped_customers.owner,
        mrr_movements.movement,
        mrr_movements.previous_mrr::double as previous_mrr,
        mrr_movements.mrr::double as mrr,
        mrr_movements.amount::double as amount
    from mrr_movements
    inner join scoped_customers
        on mrr_movements.customer_id = scoped_customers.customer_id
    where mrr_movements.month = $month
        and ($movement::varchar is null or mrr_movements.movement = $movement)
)

select * from picked order by abs(amount) desc, customer
"""


# Customers and contracts that came from CRM and accounting exports; the app's own
# agreements (source_system 'app') are searched in the operational database instead.
# One row per customer, with the first field that matched (name before org number, ...).
CRM_SEARCH = """
with hits as (
    select customer_id, 'name' as matched_on, 1 as rank
    from customers where contains(lower(name), $needle)
    union all
    select customer_id, 'org number', 2
    from customers
    where contains(lower(replace(org_number, ' ', '')), replace($needle, ' ', ''))
    union all
    select customer_id, 'contract id', 3
    from contracts where contains(lower(source_id), $needle)
    union all
    select customer_id, 'product', 4
    from contract_lines where contains(lower(product), $needle)
    union all
    select customer_id, 'owner', 5
    from customers where contains(lower(owner), $needle)
    union all
    select customer_id, 'contract owner', 6
    from contracts where contains(lower(owner), $needle)
)

select
    customers.customer_id,
    customers.name,
    customers.source_system,
    customers.org_number,
    customers.owner,
    customers.current_mrr::double as current_mrr,
    arg_min(hits.matched_on, hits.rank) as matched_on
from hits
inner join customers on hits.customer_id = customers.customer_id
where customers.source_system <> 'app'
group by all
order by min(hits.rank), customers.name
limit 50
"""

CRM_COMPANY = """
select
    customer_id, source_system, source_id, name, org_number, country, owner, industry,
    created_date, currency, first_mrr_month, current_mrr::double as current_mrr
from customers
where customer_id = $customer_id and source_system <> 'app'
"""

CRM_CONTRACTS = """
select
    contract_id, source_id, name, status, owner, deal_type, currency, signed_date,
    start_date, end_date, term_months, auto_renew, renewal_term_months, notice_months,
    terminated_date, termination_reason, current_mrr::double as current_mrr
from contracts
where customer_id = $customer_id
order by start_date, contract_id
"""

CRM_LINES = """
select
    contract_id, product, quantity, unit_price, discount_percent, discount_end_date,
    billing_period, currency, start_date, end_date, line_mrr::double as line_mrr
from contract_lines
where customer_id = $customer_id
order by contract_id, start_date, line_id
"""


@dataclass(frozen=True)
class CrmCustomer:
    """A customer from a CRM or accounting export, as the marts hold it (read-only)."""

    company: dict[str, Any]
    contracts: list[dict[str, Any]]  # Python values: dates stay dates, a blank is None
    lines: pd.DataFrame


def _query(serving: str, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    con = connect_serving(Path(serving))
    try:
        return con.execute(sql, params or {}).df()
    finally:
        con.close()


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of an executed query as dicts of Python values (dates stay dates)."""
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _filters(owners: Filters, countries: Filters, currencies: Filters) -> dict[str, Any]:
    return {"owners": list(owners), "countries": list(countries), "currencies": list(currencies)}


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
    return _query(
        serving,
        """
        select owner, country, currency, count(*) as customers
        from customers
        group by all
        order by all
        """,
    )


@st.cache_data(ttl=TTL)
def monthly_series(
    serving: str, version: int, owners: Filters, countries: Filters, currencies: Filters
) -> pd.DataFrame:
    """One row per month: MRR, ARR, customers with MRR, each movement's sum, net new MRR."""
    if not (owners or countries or currencies):
        return _query(serving, MONTHLY_METRICS)
    return _query(serving, SCOPED_MONTHLY, _filters(owners, countries, currencies))


@st.cache_data(ttl=TTL)
def movement_customers(
    serving: str,
    version: int,
    month: date,
    movement: str | None,
    owners: Filters,
    countries: Filters,
    currencies: Filters,
) -> pd.DataFrame:
    """The customers behind one month's movement (``None`` = every movement), largest first."""
    params = _filters(owners, countries, currencies) | {"month": month, "movement": movement}
    return _query(serving, MOVEMENT_CUSTOMERS, params)


@st.cache_data(ttl=TTL)
def crm_search(serving: str, version: int, text: str) -> pd.DataFrame:
    """CRM and accounting customers whose name, org number, contract id, product or owner
    contains ``text`` (case-insensitive), at most 50, best field first."""
    return _query(serving, CRM_SEARCH, {"needle": text.strip().lower()})


@st.cache_data(ttl=TTL)
def crm_customer_choices(serving: str, version: int) -> dict[str, str]:
    """customer_id -> name, for every customer from a CRM or accounting export."""
    rows = _query(
        serving,
        "select customer_id, name from customers where source_system <> 'app' order by name",
    )
    return dict(zip(rows.customer_id, rows.name, strict=True))


@st.cache_data(ttl=TTL)
def crm_customer(serving: str, version: int, customer_id: str) -> CrmCustomer | None:
    """One CRM or accounting customer with its contracts and their lines; None if unknown."""
    params = {"customer_id": customer_id}
    con = connect_serving(Path(serving))
    try:
        company = _records(con.execute(CRM_COMPANY, params))
        if not company:
            return None
        contracts = _records(con.execute(CRM_CONTRACTS, params))
        lines = con.execute(CRM_LINES, params).df()
    finally:
        con.close()
    return CrmCustomer(company[0], contracts, lines)


CRM_BY_TERMS = """
select
    contracts.contract_id,
    customers.customer_id,
    customers.name as customer,
    contracts.source_system,
    contracts.status,
    contracts.start_date,
    -- The mart holds deadlines from 30 days ago to 24 months ahead; beyond, the end date.
    coalesce(expiry.deadline_date, contracts.end_date) as current_term_end,
    contracts.auto_renew,
    contracts.notice_months,
    contracts.current_mrr::double as current_mrr
from contracts
join customers using (customer_id)
left join contract_deadlines as expiry
    on expiry.contract_id = contracts.contract_id and expiry.deadline_type = 'expiry'
where contracts.source_system <> 'app'
    and ($auto_renew is null or contracts.auto_renew = $auto_renew)
    and ($min_notice is null or contracts.notice_months >= $min_notice)
    and ($ends_before is null or coalesce(expiry.deadline_date, contracts.end_date) < $ends_before)
order by current_term_end nulls last, customers.name
limit 500
"""


@st.cache_data(ttl=TTL)
def crm_contracts_by_terms(
    serving: str,
    version: int,
    auto_renew: bool | None,
    min_notice: int | None,
    ends_before: date | None,
) -> pd.DataFrame:
    """CRM and accounting contracts with these terms; the end is the current term's."""
    return _query(
        serving,
        CRM_BY_TERMS,
        {"auto_renew": auto_renew, "min_notice": min_notice, "ends_before": ends_before},
    )
