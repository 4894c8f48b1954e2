"""The portfolio rates of SPEC IX M5, applied to summed components: the Python twin of the
dbt macro ``monthly_rates`` (dbt/macros/monthly_rates.sql).

The mart ``monthly_segments`` holds only sums and counts per month and segment (owner,
country, currency), so any selection of segments adds up to its own totals. dbt sums every
segment and rates them into ``monthly_metrics``; the app sums the segments a user picks and
rates them here, with the same definitions. ``tests/test_metrics.py`` holds the two equal
on the demo data. Pure: no Streamlit, no database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# What monthly_segments sums per month (and the one input of monthly_metrics below).
COMPONENTS = (
    "mrr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churn_mrr",
    "reactivation_mrr",
    "net_new_mrr",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "base_mrr_12m",
    "retained_mrr_12m",
    "non_recurring_revenue",
)
COUNTS = ("customers", "new_customers", "churned_customers", "reactivated_customers")

# monthly_metrics' columns, in its order.
METRICS = (
    "month",
    "mrr",
    "arr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churn_mrr",
    "reactivation_mrr",
    "net_new_mrr",
    "new_customers",
    "churned_customers",
    "reactivated_customers",
    "previous_mrr",
    "previous_customers",
    "logo_churn_rate",
    "gross_revenue_churn_rate",
    "arpa",
    "is_future",
    "nrr_12m",
    "ltv",
    "quick_ratio",
    "non_recurring_revenue",
)

# LTV divides ARPA by the average logo churn rate of the month and the two before.
LTV_MONTHS = 3


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, empty (NaN) where the denominator is 0: SQL's
    ``x / nullif(y, 0)``."""
    return numerator.astype("float64") / denominator.astype("float64").replace(0.0, np.nan)


def monthly_metrics(components: pd.DataFrame) -> pd.DataFrame:
    """``monthly_metrics`` from summed components: one row per month of the spine, in
    order, with ``month``, ``is_future`` and every column of ``COMPONENTS``.

    A month none of the selected segments has a row for must be there with zeros, as the
    rates of the next month look back at it."""
    missing = {"month", "is_future", *COMPONENTS} - set(components.columns)
    if missing:
        raise ValueError(f"components lack {', '.join(sorted(missing))}")
    frame = components.sort_values("month", ignore_index=True)
    previous_mrr = frame.mrr.shift(1, fill_value=0.0)
    previous_customers = frame.customers.shift(1, fill_value=0)
    logo_churn_rate = _ratio(frame.churned_customers, previous_customers)
    arpa = _ratio(frame.mrr, frame.customers)
    # Like SQL's avg over a window frame, months without a rate left out. Not a rolling
    # mean: its running sum can leave 1e-17 where three zero rates must average to 0.
    window = pd.concat([logo_churn_rate.shift(back) for back in range(LTV_MONTHS)], axis=1)
    churn_average = window.mean(axis=1, skipna=True)
    lost = frame.churn_mrr + frame.contraction_mrr
    gained = frame.new_mrr + frame.expansion_mrr + frame.reactivation_mrr
    rated = frame.assign(
        arr=12 * frame.mrr,
        previous_mrr=previous_mrr,
        previous_customers=previous_customers,
        logo_churn_rate=logo_churn_rate,
        gross_revenue_churn_rate=_ratio(-lost, previous_mrr),
        arpa=arpa,
        nrr_12m=_ratio(frame.retained_mrr_12m, frame.base_mrr_12m),
        ltv=_ratio(arpa, churn_average),
        quick_ratio=_ratio(gained, lost.abs()),
    )
    return rated[list(METRICS)]


def cohort_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Logo and revenue retention of summed cohort rows (SPEC IX M6): the share of a
    cohort's customers still with MRR, and their MRR over their MRR at the start."""
    return cohorts.assign(
        logo_retention=_ratio(cohorts.active_customers, cohorts.cohort_customers),
        revenue_retention=_ratio(cohorts.mrr, cohorts.cohort_start_mrr),
    )
