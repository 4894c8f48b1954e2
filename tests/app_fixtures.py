"""A hand-made serving file for the app tests, with the tables of docs/marts.md.

Four customers, January-June 2025 actual and July-August contracted (is_future).
MRR in NOK per month, Jan..Aug:

    C1 Fjord Analytics AS   NO Ingrid NOK  1000 1000 1500 1500 1500 1500 1500 1500
    C2 Nordlys Data AS      NO Lars   NOK  2000 2000    0    0 1200 1200 1200    0
    C3 Skärgård Systems AB  SE Lars   SEK     - 2880 2880 2400 2400 2400 2400 2400
    C4 Öresund Logistik AB  SE Ingrid SEK     -    -    -    -    -  812.5 812.5 812.5

So: new (C1, C2 Jan; C3 Feb; C4 Jun), expansion (C1 Mar), churn (C2 Mar and,
contracted, Aug), contraction (C3 Apr), reactivation (C2 May). Totals Jan..Jun:
3000, 5880, 4380, 3900, 5100, 5912.5. SEK converts at the planning rate 0.96.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

MONTHS = [date(2025, m, 1) for m in range(1, 9)]
CURRENT_MONTH = date(2025, 6, 1)

# fmt: off
CUSTOMERS = [
    # customer_id, name, org_number, country, owner, industry, created, currency
    ("C1", "Fjord Analytics AS", "912345678", "NO", "Ingrid", "Software", date(2024, 11, 4), "NOK"),
    ("C2", "Nordlys Data AS", "923456789", "NO", "Lars", "Media", date(2024, 12, 1), "NOK"),
    ("C3", "Skärgård Systems AB", "5561234567", "SE", "Lars", "Retail", date(2025, 1, 9), "SEK"),
    ("C4", "Öresund Logistik AB", "5569876543", "SE", "Ingrid", "Freight", date(2025, 5, 2), "SEK"),
]
# fmt: on

MRR = {  # one value per month of MONTHS; None = before the first month with MRR
    "C1": [1000, 1000, 1500, 1500, 1500, 1500, 1500, 1500],
    "C2": [2000, 2000, 0, 0, 1200, 1200, 1200, 0],
    "C3": [None, 2880, 2880, 2400, 2400, 2400, 2400, 2400],
    "C4": [None, None, None, None, None, 812.5, 812.5, 812.5],
}

MOVEMENTS = [
    # customer_id, month, movement, amount, previous_mrr, mrr
    ("C1", date(2025, 1, 1), "new", 1000, 0, 1000),
    ("C2", date(2025, 1, 1), "new", 2000, 0, 2000),
    ("C3", date(2025, 2, 1), "new", 2880, 0, 2880),
    ("C1", date(2025, 3, 1), "expansion", 500, 1000, 1500),
    ("C2", date(2025, 3, 1), "churn", -2000, 2000, 0),
    ("C3", date(2025, 4, 1), "contraction", -480, 2880, 2400),
    ("C2", date(2025, 5, 1), "reactivation", 1200, 0, 1200),
    ("C4", date(2025, 6, 1), "new", 812.5, 0, 812.5),
    ("C2", date(2025, 8, 1), "churn", -1200, 1200, 0),
]

# fmt: off
CONTRACTS = [
    # contract_id, customer_id, name, owner, deal_type, currency, signed, start, end,
    # term_months, auto_renew, notice_months, terminated_date, termination_reason, status
    ("K1", "C1", "Fjord platform", "Ingrid", "newbusiness", "NOK", date(2024, 12, 15),
     date(2025, 1, 1), None, None, True, 3, None, None, "active"),
    ("K2", "C2", "Nordlys pilot", "Lars", "newbusiness", "NOK", date(2024, 12, 20),
     date(2025, 1, 1), date(2025, 2, 28), 2, False, 1, None, None, "ended"),
    ("K3", "C2", "Nordlys return", "Lars", "existingbusiness", "NOK", date(2025, 4, 25),
     date(2025, 5, 1), date(2025, 7, 31), 3, False, 1, date(2025, 6, 2), "budget", "terminated"),
    ("K4", "C3", "Skärgård seats", "Lars", "newbusiness", "SEK", date(2025, 1, 20),
     date(2025, 2, 1), None, None, True, 3, None, None, "active"),
    ("K5", "C4", "Öresund yearly", "Ingrid", "newbusiness", "SEK", date(2025, 5, 28),
     date(2025, 6, 1), None, None, True, 3, None, None, "active"),
]
# fmt: on

# fmt: off
LINES = [
    # line_id, contract_id, customer_id, product, quantity, unit_price, billing_period,
    # months per period, currency, fx_rate, start, end, line_mrr
    ("L1", "K1", "C1", "Platform", 10, 100, "monthly", 1, "NOK", 1.0,
     date(2025, 1, 1), None, 1000),
    ("L2", "K1", "C1", "Analytics add-on", 1, 500, "monthly", 1, "NOK", 1.0,
     date(2025, 3, 1), None, 500),
    ("L3", "K2", "C2", "Platform", 20, 100, "monthly", 1, "NOK", 1.0,
     date(2025, 1, 1), date(2025, 2, 28), 2000),
    ("L4", "K3", "C2", "Platform", 12, 100, "monthly", 1, "NOK", 1.0,
     date(2025, 5, 1), date(2025, 7, 31), 1200),
    ("L5", "K4", "C3", "Seats", 12, 250, "monthly", 1, "SEK", 0.96,
     date(2025, 2, 1), date(2025, 3, 31), 2880),
    ("L6", "K4", "C3", "Seats", 10, 250, "monthly", 1, "SEK", 0.96,
     date(2025, 4, 1), None, 2400),
    ("L7", "K5", "C4", "Logistics suite", 1, 10156.25, "yearly", 12, "SEK", 0.96,
     date(2025, 6, 1), None, 812.5),
]
# fmt: on

DDL = """
create table customers (
    customer_id varchar, source_system varchar, source_id varchar, name varchar,
    org_number varchar, country varchar, owner varchar, industry varchar,
    created_date date, currency varchar, first_mrr_month date, current_mrr double
);
create table contracts (
    contract_id varchar, customer_id varchar, source_system varchar, source_id varchar,
    name varchar, owner varchar, deal_type varchar, currency varchar, signed_date date,
    start_date date, end_date date, term_months integer, auto_renew boolean,
    renewal_term_months integer, notice_months integer, terminated_date date,
    termination_reason varchar, status varchar
);
create table contract_lines (
    line_id varchar, contract_id varchar, customer_id varchar, source_system varchar,
    source_id varchar, product varchar, quantity double, unit_price double,
    discount_percent double, discount_end_date date, billing_period varchar,
    billing_interval_months integer, is_recurring boolean, currency varchar,
    fx_rate double, start_date date, end_date date, line_mrr double,
    non_recurring_amount double
);
create table customer_months (
    customer_id varchar, month date, mrr double, previous_mrr double, is_future boolean
);
create table mrr_movements (
    customer_id varchar, month date, movement varchar, amount double,
    previous_mrr double, mrr double
);
create table contract_deadlines (
    contract_id varchar, customer_id varchar, owner varchar, deadline_type varchar,
    deadline_date date, contract_mrr double
);
create table quarantine (
    load_id varchar, source_file varchar, row_number integer, field varchar,
    reason varchar, raw_record varchar
);
create table loads (
    load_id varchar, source_file varchar, file_hash varchar, kind varchar,
    loaded_at timestamptz, rows_read integer, rows_loaded integer, rows_quarantined integer
);
"""

# Derived from the rows above, so the totals can never disagree with them (M4, M5).
MONTHLY_METRICS = """
create table monthly_metrics as
with totals as (
    select
        month,
        sum(mrr) as mrr,
        count(*) filter (where mrr > 0) as customers,
        bool_or(is_future) as is_future
    from customer_months
    group by month
),

movements as (
    select
        month,
        sum(amount) filter (where movement = 'new') as new_mrr,
        sum(amount) filter (where movement = 'expansion') as expansion_mrr,
        sum(amount) filter (where movement = 'contraction') as contraction_mrr,
        sum(amount) filter (where movement = 'churn') as churn_mrr,
        sum(amount) filter (where movement = 'reactivation') as reactivation_mrr,
        sum(amount) as net_new_mrr,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers
    from mrr_movements
    group by month
),

joined as (
    select
        totals.month,
        totals.mrr,
        12 * totals.mrr as arr,
        totals.customers,
        coalesce(movements.new_mrr, 0) as new_mrr,
        coalesce(movements.expansion_mrr, 0) as expansion_mrr,
        coalesce(movements.contraction_mrr, 0) as contraction_mrr,
        coalesce(movements.churn_mrr, 0) as churn_mrr,
        coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(movements.net_new_mrr, 0) as net_new_mrr,
        coalesce(movements.new_customers, 0) as new_customers,
        coalesce(movements.churned_customers, 0) as churned_customers,
        coalesce(movements.reactivated_customers, 0) as reactivated_customers,
        coalesce(movements.churned_customers, 0)
            / nullif(lag(totals.customers) over (order by totals.month), 0)
            as logo_churn_rate,
        abs(coalesce(movements.churn_mrr, 0) + coalesce(movements.contraction_mrr, 0))
            / nullif(lag(totals.mrr) over (order by totals.month), 0)
            as gross_revenue_churn_rate,
        totals.mrr / nullif(totals.customers, 0) as arpa,
        totals.is_future
    from totals
    left join movements on totals.month = movements.month
)

select * from joined order by month
"""


# monthly_metrics' components per segment (the customer's owner, country, currency), as
# the mart monthly_segments holds them; the app sums the ones a filter keeps.
MONTHLY_SEGMENTS = """
create table monthly_segments as
with totals as (
    select
        month, owner, country, currency, bool_or(is_future) as is_future,
        sum(mrr) as mrr, count(*) filter (where mrr > 0) as customers
    from customer_months join customers using (customer_id)
    group by all
),

movements as (
    select
        month, owner, country, currency,
        sum(amount) filter (where movement = 'new') as new_mrr,
        sum(amount) filter (where movement = 'expansion') as expansion_mrr,
        sum(amount) filter (where movement = 'contraction') as contraction_mrr,
        sum(amount) filter (where movement = 'churn') as churn_mrr,
        sum(amount) filter (where movement = 'reactivation') as reactivation_mrr,
        sum(amount) as net_new_mrr,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers,
        count(*) as moved_customers
    from mrr_movements join customers using (customer_id)
    group by all
)

select
    totals.month, totals.is_future, totals.owner, totals.country, totals.currency,
    totals.mrr, totals.customers,
    coalesce(movements.new_mrr, 0) as new_mrr,
    coalesce(movements.expansion_mrr, 0) as expansion_mrr,
    coalesce(movements.contraction_mrr, 0) as contraction_mrr,
    coalesce(movements.churn_mrr, 0) as churn_mrr,
    coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
    coalesce(movements.net_new_mrr, 0) as net_new_mrr,
    coalesce(movements.new_customers, 0) as new_customers,
    coalesce(movements.churned_customers, 0) as churned_customers,
    coalesce(movements.reactivated_customers, 0) as reactivated_customers,
    coalesce(movements.moved_customers, 0) as moved_customers,
    0.0 as base_mrr_12m, 0.0 as retained_mrr_12m, 0.0 as non_recurring_revenue
from totals
left join movements using (month, owner, country, currency)
"""


def _customer_rows() -> list[tuple]:
    rows = []
    for customer_id, name, org, country, owner, industry, created, currency in CUSTOMERS:
        first = next(m for m, v in zip(MONTHS, MRR[customer_id], strict=True) if v)
        current = MRR[customer_id][MONTHS.index(CURRENT_MONTH)] or 0
        source_id = customer_id.removeprefix("C") + "0001"
        rows.append(
            (customer_id, "hubspot", source_id, name, org, country, owner, industry,
             created, currency, first, current)
        )  # fmt: skip
    return rows


def _customer_month_rows() -> list[tuple]:
    rows = []
    for customer_id, values in MRR.items():
        previous = 0
        for month, mrr in zip(MONTHS, values, strict=True):
            if mrr is None:
                continue
            rows.append((customer_id, month, mrr, previous, month > CURRENT_MONTH))
            previous = mrr
    return rows


def _contract_rows() -> list[tuple]:
    return [
        (k, c, "hubspot", k.removeprefix("K") + "0002", name, owner, deal, cur, signed,
         start, end, term, renew, 12 if renew else None, notice, terminated, reason, status)
        for (k, c, name, owner, deal, cur, signed, start, end, term, renew, notice,
             terminated, reason, status) in CONTRACTS
    ]  # fmt: skip


def _line_rows() -> list[tuple]:
    return [
        (line, k, c, "hubspot", line.removeprefix("L") + "0003", product, qty, price, 0.0,
         None, period, months, True, cur, fx, start, end, mrr, 0.0)
        for (line, k, c, product, qty, price, period, months, cur, fx, start, end, mrr)
        in LINES
    ]  # fmt: skip


DEADLINES = [
    ("K3", "C2", "Lars", "notice", date(2025, 6, 30), 1200.0),
    ("K3", "C2", "Lars", "expiry", date(2025, 7, 31), 1200.0),
]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    marks = ", ".join("?" * len(rows[0]))
    con.executemany(f"insert into {table} values ({marks})", rows)


def write_serving_fixture(path: Path) -> Path:
    """Write the fixture marts to ``path`` as ``avtale.serving.publish`` would lay them out."""
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        _insert(con, "customers", _customer_rows())
        _insert(con, "contracts", _contract_rows())
        _insert(con, "contract_lines", _line_rows())
        _insert(con, "customer_months", _customer_month_rows())
        _insert(con, "mrr_movements", MOVEMENTS)
        _insert(con, "contract_deadlines", DEADLINES)
        _insert(con, "quarantine", [("1", "deals.csv", 7, "amount", "not a number", "{}")])
        loaded_at = datetime(2025, 6, 15, 6, 0, tzinfo=UTC)
        _insert(con, "loads", [("1", "deals.csv", "ab12", "hubspot_deals", loaded_at, 8, 7, 1)])
        con.execute(MONTHLY_METRICS)
        con.execute(MONTHLY_SEGMENTS)
        con.execute("create table _published as select ?::timestamptz as published_at", [loaded_at])
    finally:
        con.close()
    return path
