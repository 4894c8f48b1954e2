"""One definition of the monthly rates: ``avtale.metrics`` (the app's filtered dashboards)
against the dbt macro ``monthly_rates`` (``monthly_metrics``), by hand and on the published
demo portfolio, and a filtered dashboard against a computation written here from the
customer-level marts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avtale import metrics
from avtale.serving import connect_serving
from avtale.settings import STREAMLIT_APP, Paths
from tests.demo_home import demo_home

NAN = math.nan


def months(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Components of consecutive months from January 2024, zero where not given."""
    frame = pd.DataFrame([{component: 0 for component in metrics.COMPONENTS} | row for row in rows])
    frame.insert(0, "month", pd.date_range("2024-01-01", periods=len(rows), freq="MS"))
    frame.insert(1, "is_future", False)
    return frame


# (case, components per month, metric, expected per month) — by hand, as the dbt unit
# tests of monthly_metrics work them.
CASES = [
    (
        "logo churn and ARPA over the month before",
        [{"mrr": 400, "customers": 2}, {"mrr": 250, "customers": 2, "churned_customers": 1}],
        "logo_churn_rate",
        [NAN, 0.5],
    ),
    (
        "gross revenue churn: churn and contraction over last month's MRR",
        [{"mrr": 400}, {"mrr": 250, "churn_mrr": -100, "contraction_mrr": -100}],
        "gross_revenue_churn_rate",
        [NAN, 0.5],
    ),
    (
        "NRR: retained over base, empty without a base",
        [{"base_mrr_12m": 0}, {"base_mrr_12m": 400, "retained_mrr_12m": 450}],
        "nrr_12m",
        [NAN, 1.125],
    ),
    (
        "quick ratio: empty when nothing was lost",
        [{"new_mrr": 300}, {"new_mrr": 100, "churn_mrr": -200, "contraction_mrr": -50}],
        "quick_ratio",
        [NAN, 0.4],
    ),
    (
        "LTV: ARPA over the average of the rates of 3 months; three zero rates give none",
        [
            {"mrr": 400, "customers": 4},
            {"mrr": 300, "customers": 3, "churned_customers": 1},
            {"mrr": 300, "customers": 3},
            {"mrr": 300, "customers": 3},
            {"mrr": 300, "customers": 3},
        ],
        "ltv",
        [NAN, 400, 800, 1200, NAN],
    ),
    (
        "a month without customers: no ARPA, and the next month churns from 0 customers",
        [{"mrr": 0, "customers": 0}, {"mrr": 100, "customers": 1}],
        "logo_churn_rate",
        [NAN, NAN],
    ),
]


@pytest.mark.parametrize(("case", "rows", "metric", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rates_by_hand(case: str, rows: list[dict[str, Any]], metric: str, expected: list) -> None:
    rated = metrics.monthly_metrics(months(rows))
    assert list(rated.columns) == list(metrics.METRICS)
    np.testing.assert_allclose(rated[metric].to_numpy(dtype=float), expected, rtol=1e-12)


def test_components_must_be_complete() -> None:
    with pytest.raises(ValueError, match="components lack base_mrr_12m"):
        metrics.monthly_metrics(months([{}]).drop(columns="base_mrr_12m"))


def test_cohort_retention_is_a_share_of_the_cohort() -> None:
    cohorts = pd.DataFrame(
        {"cohort_customers": [4, 2], "active_customers": [3, 0], "cohort_start_mrr": [400, 0.0]}
        | {"mrr": [500, 0.0]}
    )
    rated = metrics.cohort_retention(cohorts)
    assert rated.logo_retention.tolist() == [0.75, 0.0]
    assert rated.revenue_retention.tolist()[0] == 1.25
    assert math.isnan(rated.revenue_retention.tolist()[1])


# --- on the published demo portfolio ---------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[ModuleType, ModuleType]]:
    """The app's read modules, imported as Streamlit runs them (from the app's folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(STREAMLIT_APP.parent))
        from common import marts_reads
        from dashboards import metrics_reads

        yield marts_reads, metrics_reads


def sql(home: Paths, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    with connect_serving(home.serving) as con:
        return con.execute(query, params or {}).df()


SUMMED = ", ".join(
    f"coalesce(sum(monthly_segments.{c}), 0)::"
    f"{'bigint' if c in metrics.COUNTS else 'double'} as {c}"
    for c in metrics.COMPONENTS
)

# The same KPIs for one owner's customers, from the customer-level marts and SPEC IX M5
# as written here, not from monthly_segments (the app's source).
ONE_OWNER = """
with owned as (
    select customer_id from customers where owner = $owner
),

totals as (
    select month, sum(mrr) as mrr, count(*) filter (where mrr > 0) as customers
    from customer_months semi join owned using (customer_id)
    group by month
),

moves as (
    select
        month,
        sum(amount) filter (where movement = 'new') as new_mrr,
        sum(amount) filter (where movement = 'expansion') as expansion_mrr,
        sum(amount) filter (where movement = 'reactivation') as reactivation_mrr,
        sum(amount) filter (where movement = 'contraction') as contraction_mrr,
        sum(amount) filter (where movement = 'churn') as churn_mrr,
        count(*) filter (where movement = 'new') as new_customers,
        count(*) filter (where movement = 'churn') as churned_customers,
        count(*) filter (where movement = 'reactivation') as reactivated_customers
    from mrr_movements semi join owned using (customer_id)
    group by month
),

nrr as (
    select
        (base.month + interval 12 month)::date as month,
        sum(base.mrr) as base_mrr,
        sum(coalesce(later.mrr, 0)) as retained_mrr
    from customer_months as base
    left join customer_months as later
        on later.customer_id = base.customer_id
        and later.month = (base.month + interval 12 month)::date
    where base.mrr > 0 and base.customer_id in (select customer_id from owned)
    group by 1
),

one_off as (
    select date_trunc('month', start_date)::date as month, sum(non_recurring_amount) as revenue
    from contract_lines semi join owned using (customer_id)
    where not is_recurring
    group by 1
),

joined as (
    select
        monthly_metrics.month,
        coalesce(totals.mrr, 0) as mrr,
        coalesce(totals.customers, 0) as customers,
        coalesce(moves.new_mrr, 0) as new_mrr,
        coalesce(moves.expansion_mrr, 0) as expansion_mrr,
        coalesce(moves.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(moves.contraction_mrr, 0) as contraction_mrr,
        coalesce(moves.churn_mrr, 0) as churn_mrr,
        coalesce(moves.new_customers, 0) as new_customers,
        coalesce(moves.churned_customers, 0) as churned_customers,
        coalesce(moves.reactivated_customers, 0) as reactivated_customers,
        nrr.retained_mrr / nullif(nrr.base_mrr, 0) as nrr_12m,
        coalesce(one_off.revenue, 0) as non_recurring_revenue,
        coalesce(lag(totals.mrr) over (order by monthly_metrics.month), 0) as previous_mrr,
        coalesce(lag(totals.customers) over (order by monthly_metrics.month), 0)
            as previous_customers,
        monthly_metrics.is_future
    from monthly_metrics
    left join totals using (month)
    left join moves using (month)
    left join nrr using (month)
    left join one_off using (month)
)

select
    month,
    mrr,
    12 * mrr as arr,
    customers,
    new_mrr,
    expansion_mrr,
    reactivation_mrr,
    contraction_mrr,
    churn_mrr,
    new_mrr + expansion_mrr + reactivation_mrr + contraction_mrr + churn_mrr as net_new_mrr,
    new_customers,
    churned_customers,
    reactivated_customers,
    churned_customers / nullif(previous_customers, 0) as logo_churn_rate,
    -(churn_mrr + contraction_mrr) / nullif(previous_mrr, 0) as gross_revenue_churn_rate,
    mrr / nullif(customers, 0) as arpa,
    nrr_12m,
    (mrr / nullif(customers, 0)) / nullif(avg(churned_customers / nullif(previous_customers, 0))
        over (order by month rows between 2 preceding and current row), 0) as ltv,
    (new_mrr + expansion_mrr + reactivation_mrr) / nullif(abs(churn_mrr + contraction_mrr), 0)
        as quick_ratio,
    non_recurring_revenue,
    is_future
from joined
order by month
"""


@pytest.mark.slow
def test_python_rates_are_the_dbt_macros_on_every_month(home: Paths) -> None:
    """Every segment summed and rated in Python is monthly_metrics (rated by the macro)."""
    components = sql(
        home,
        f"select monthly_metrics.month, monthly_metrics.is_future, {SUMMED} "
        "from monthly_metrics left join monthly_segments using (month) "
        "group by all order by monthly_metrics.month",
    )
    mart = sql(home, "select * from monthly_metrics order by month")
    assert len(mart) > 24 and mart.nrr_12m.notna().sum() > 12 and mart.ltv.notna().any()
    rated = metrics.monthly_metrics(components)
    pd.testing.assert_frame_equal(rated, mart, check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_a_filtered_dashboard_is_the_independent_sum(home: Paths, app) -> None:
    _, metrics_reads = app
    owners = sql(home, "select owner from customers group by owner order by count(*) desc")
    owner = owners.owner.iloc[0]
    shown = metrics_reads.metrics(str(home.serving), 1, (owner,), (), ())
    expected = sql(home, ONE_OWNER, {"owner": owner})
    everyone = sql(home, "select sum(mrr) as mrr from monthly_metrics").mrr.iloc[0]
    assert 0 < shown.mrr.sum() < everyone  # a real part of the portfolio
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False, rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_everything_ticked_is_the_unfiltered_mart(home: Paths, app) -> None:
    marts_reads, metrics_reads = app
    options = marts_reads.filter_options(str(home.serving), 1)
    assert options.notna().all().all()  # else ticking every value would not be everyone
    everyone = tuple(sorted(options.owner.unique()))
    serving = str(home.serving)
    for ticked in [(everyone, (), ()), ((), tuple(sorted(options.country.unique())), ())]:
        pd.testing.assert_frame_equal(
            metrics_reads.metrics(serving, 1, *ticked),
            metrics_reads.metrics(serving, 1, (), (), ()),
            check_dtype=False,
            rtol=1e-9,
            atol=1e-9,
        )
        pd.testing.assert_frame_equal(
            metrics_reads.monthly_series(serving, 1, *ticked),
            metrics_reads.monthly_series(serving, 1, (), (), ()),
            check_dtype=False,
            rtol=1e-9,
            atol=1e-9,
        )


@pytest.mark.slow
def test_segments_sum_to_the_portfolio(home: Paths) -> None:
    """Each customer in one segment: summed over segments, the customer-level marts."""
    by_segments = sql(
        home,
        "select month, sum(mrr) as mrr, sum(customers) as customers, "
        "sum(moved_customers) as moved from monthly_segments group by month order by month",
    )
    by_customers = sql(
        home,
        "select month, sum(mrr) as mrr, count(*) filter (where mrr > 0) as customers, "
        "(select count(*) from mrr_movements where mrr_movements.month = customer_months.month) "
        "as moved from customer_months group by month order by month",
    )
    pd.testing.assert_frame_equal(by_segments, by_customers, check_dtype=False, rtol=1e-12)
    products = sql(
        home,
        "select month, sum(net_new_mrr) as net_new from monthly_product_segments "
        "group by month order by month",
    )
    movements = sql(
        home,
        "select month, sum(amount) as net_new from mrr_movements group by month order by month",
    )
    pd.testing.assert_frame_equal(products, movements, check_dtype=False, rtol=1e-9, atol=1e-6)
