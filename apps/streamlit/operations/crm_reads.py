"""Customers and contracts from the CRM and accounting exports, as the published marts hold
them (read-only: the export is the master copy), for search, the CRM customer page and the
filter on contract terms. The app's own agreements are read from the operational database
(``customer_reads``, ``contract_reads``, ``search_reads``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from avtale.services import adoption
from avtale.services.database import Version
from avtale.serving import NotPublishedError, connect_serving
from common.database import opened
from common.marts_reads import TTL, query, records

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
    contract_id, source_system, source_id, name, status, owner, deal_type, currency, signed_date,
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


@st.cache_data(ttl=TTL)
def crm_search(serving: str, version: int, text: str) -> pd.DataFrame:
    """CRM and accounting customers whose name, org number, contract id, product or owner
    contains ``text`` (case-insensitive), at most 50, best field first."""
    return query(serving, CRM_SEARCH, {"needle": text.strip().lower()})


@st.cache_data(ttl=TTL)
def crm_customer_choices(serving: str, version: int) -> dict[str, str]:
    """customer_id -> name, for every customer from a CRM or accounting export."""
    rows = query(
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
        company = records(con.execute(CRM_COMPANY, params))
        if not company:
            return None
        contracts = records(con.execute(CRM_CONTRACTS, params))
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
    return query(
        serving,
        CRM_BY_TERMS,
        {"auto_renew": auto_renew, "min_notice": min_notice, "ends_before": ends_before},
    )


RECONCILIATION = """
select
    product, difference, export_quantity, app_quantity, export_unit_price, app_unit_price,
    export_discount_percent, app_discount_percent, load_id
from adoption_reconciliation
where contract_id = $contract_id
order by product
"""


@st.cache_data(ttl=TTL)
def reconciliation(serving: str, version: int, contract_number: str) -> pd.DataFrame | None:
    """What the latest export of an adopted contract says differently; None when nothing
    is published yet (or was published before the reconciliation existed)."""
    try:
        con = connect_serving(Path(serving))
    except NotPublishedError:
        return None
    try:
        return con.execute(RECONCILIATION, {"contract_id": f"app:{contract_number}"}).df()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()


@st.cache_data(ttl=TTL)
def adopted_contracts(url: str, version: Version) -> dict[str, str]:
    """The export's contracts Avtale took over: their id -> the app contract's number."""
    return adoption.adopted_contracts(opened(url))
