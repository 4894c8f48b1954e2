"""The leadership analytics pages as a user sees them, on a published demo portfolio.

Expected values are read straight from the published marts (or summed from them with
SQL written here), so the tests check what each page shows against the data, not against
the page's own queries.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from avtale.serving import connect_serving
from avtale.settings import STREAMLIT_APP, Paths
from tests.app_ops_fixtures import app_formatter, as_user, make_template, open_page, sqlite_url
from tests.demo_home import demo_home

pytestmark = pytest.mark.slow
NB = app_formatter("nb")  # the users here read the default locale

# page file -> the keys of its charts (each has a download button <key>_csv)
PAGES = {
    "kpis": [
        f"kpi_{kpi}"
        for kpi in (
            "mrr",
            "arr",
            "arpa",
            "ltv",
            "customers",
            "non_recurring_revenue",
            "net_new_mrr",
            "quick_ratio",
        )
    ],
    "churn": ["churn_rates_chart", "churn_nrr_chart", "churn_reasons_chart"],
    "cohorts": ["cohort_logo_retention", "cohort_revenue_retention"],
    "sales_team": ["sales_owner_chart", "sales_product_chart", "sales_country_chart"],
    "forecast": ["forecast_mrr", "forecast_invoicing"],
    "portfolio": ["portfolio_weeks"],
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    return demo_home(tmp_path_factory)


@pytest.fixture(scope="module")
def users_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("users"))


class RecordingStorage(MemoryMediaFileStorage):
    """AppTest's in-memory media store, keeping what each download button would serve."""

    served: dict[str, tuple[str | None, bytes]] = {}

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None) -> str:  # type: ignore[no-untyped-def]
        file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
        self.served[file_id] = (filename, self._files_by_id[file_id].content)
        return file_id


@pytest.fixture
def dashboard(
    home: Paths, users_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], AppTest]:
    """Log in as leadership and open a page of dashboards/pages/ by its file's stem."""
    shutil.copy(users_db, tmp_path / "avtale.db")
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", sqlite_url(tmp_path / "avtale.db"))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", RecordingStorage)

    def opener(page: str) -> AppTest:
        return open_page(as_user("leo"), f"dashboards/pages/{page}.py")

    return opener


def sql(home: Paths, query: str, params: list[Any] | None = None) -> pd.DataFrame:
    with connect_serving(home.serving) as con:
        return con.execute(query, params or []).df()


def decoded(values: Any) -> list[Any]:
    """A trace's array as Plotly's JSON holds it (plain, or base64 typed array)."""
    if isinstance(values, dict) and "bdata" in values:
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        if "shape" in values:
            array = array.reshape([int(n) for n in str(values["shape"]).split(",")])
        return array.tolist()
    return list(values)


def chart(at: AppTest, key: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The traces and config of the Plotly chart with widget key ``key``."""
    (element,) = [e for e in at.get("plotly_chart") if e.proto.id.endswith(f"-{key}")]
    traces = json.loads(element.proto.spec)["data"]
    return traces, json.loads(element.proto.config)


def trace(at: AppTest, key: str, name: str | None = None) -> dict[str, Any]:
    traces, _ = chart(at, key)
    return next(t for t in traces if name is None or t.get("name") == name)


def download(at: AppTest, key: str) -> tuple[str | None, pd.DataFrame]:
    """File name and table of the CSV the download button ``key`` serves."""
    (button,) = [b for b in at.get("download_button") if b.key == key]
    file_id = Path(button.proto.url).stem
    filename, content = RecordingStorage.served[file_id]
    return filename, pd.read_csv(io.BytesIO(content))


def days(values: list[Any]) -> list[str]:
    return [str(value)[:10] for value in values]


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.delta) for metric in at.metric}


def months_back(month: date, count: int) -> date:
    return (pd.Timestamp(month) - pd.DateOffset(months=count)).date()


# --- every page ---------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_each_page_has_the_filters_and_downloadable_charts(dashboard, page: str) -> None:
    at = dashboard(page)
    assert at.title[0].value  # the page drew, with the sidebar filters of the dashboards
    filters = {"filter_owner", "filter_country", "filter_currency"}
    if page == "forecast":  # computed for the whole portfolio: no filters that do not apply
        assert not filters & {m.key for m in at.multiselect}
    else:
        assert filters <= {m.key for m in at.multiselect}
    for key in PAGES[page]:
        traces, config = chart(at, key)
        assert traces
        assert config["toImageButtonOptions"]["format"] == "png"
        assert config["displaylogo"] is False
        filename, table = download(at, f"{key}_csv")
        assert filename == config["toImageButtonOptions"]["filename"] + ".csv"
        assert not table.empty


# --- KPIs ---------------------------------------------------------------------------


def test_kpi_tiles_show_the_latest_complete_month_of_the_mart(home, dashboard) -> None:
    at = dashboard("kpis")
    running, latest, previous = sql(
        home, "select * from monthly_metrics where not is_future order by month desc limit 3"
    ).itertuples()
    shown = tiles(at)
    # leo reads Norwegian (the default locale): amounts as "792 081,51 kr", a million or
    # more in whole kroner, months as "nov. 2026".
    assert shown["MRR"] == (NB.tile_money(latest.mrr), NB.change(latest.mrr - previous.mrr))
    assert shown["ARR"][0] == NB.tile_money(latest.arr)
    assert latest.arr < 1_000_000 or "," not in shown["ARR"][0]  # no øre on a million
    assert shown["ARPA"][0] == NB.tile_money(latest.arpa)
    assert shown["LTV"] == (NB.tile_money(latest.ltv), NB.change(latest.ltv - previous.ltv))
    assert shown["Customers with MRR"] == (
        NB.count(latest.customers),
        NB.signed(latest.customers - previous.customers, 0),
    )
    assert shown["Non-recurring revenue"][0] == NB.tile_money(latest.non_recurring_revenue)
    assert shown["Net new MRR"][0] == NB.tile_money(latest.net_new_mrr)
    assert shown["Quick ratio"][0] == NB.number(latest.quick_ratio, 2)
    assert f"{NB.month(running.month)} is still running" in at.caption[0].value
    # Each definition is one click away, in SPEC IX's words.
    helps = {metric.label: metric.proto.help for metric in at.metric}
    assert "LTV = ARPA / average logo churn of the last 3 months" in helps["LTV"]
    assert "ARR = 12 x MRR" in helps["ARR"]


def test_kpi_trend_and_its_csv_are_the_mart_series(home, dashboard) -> None:
    at = dashboard("kpis")
    line = trace(at, "kpi_mrr")
    filename, table = download(at, "kpi_mrr_csv")
    assert filename == "kpi-mrr.csv"
    assert days(decoded(line["x"])) == table.month.tolist()
    assert decoded(line["y"]) == pytest.approx(table.mrr.tolist())
    mart = sql(
        home,
        "select strftime(month, '%Y-%m-%d') as month, mrr from monthly_metrics "
        "where not is_future order by month",
    ).iloc[-25:-1]  # the 24 complete months before the running one
    assert table.month.tolist() == mart.month.tolist()
    assert table.mrr.tolist() == pytest.approx(mart.mrr.tolist())


def test_filtered_kpis_are_the_marts_definitions(home, monkeypatch) -> None:
    """The KPIs of a filtered selection are summed afresh; over every customer that sum
    must give monthly_metrics, column by column."""
    monkeypatch.syspath_prepend(str(STREAMLIT_APP.parent))
    from dashboards import metrics_reads

    owners = sql(home, "select distinct owner from customers").owner.tolist()
    assert None not in owners  # else ticking every owner would not be everyone
    scoped = metrics_reads.metrics(str(home.serving), 1, tuple(sorted(owners)), (), ())
    mart = sql(home, metrics_reads.METRICS)
    pd.testing.assert_frame_equal(scoped, mart, check_dtype=False, rtol=1e-9)


def test_kpis_follow_the_owner_filter(home, dashboard) -> None:
    at = dashboard("kpis")
    owner, month = sql(
        home,
        "select (select owner from customers group by owner order by count(*) desc, owner "
        "limit 1) as owner, (select month from monthly_metrics where not is_future "
        "order by month desc limit 1 offset 1) as month",
    ).iloc[0]
    expected = sql(
        home,
        "select sum(customer_months.mrr) as mrr, count(*) filter (where customer_months.mrr > 0) "
        "as customers from customer_months join customers using (customer_id) "
        "where customers.owner = ? and customer_months.month = ?",
        [owner, month],
    ).iloc[0]
    at.multiselect(key="filter_owner").select(owner).run()
    assert not at.exception
    assert tiles(at)["MRR"][0] == NB.tile_money(expected.mrr)
    assert tiles(at)["Customers with MRR"][0] == NB.count(int(expected.customers))


# --- churn --------------------------------------------------------------------------


def test_churn_tiles_and_rates_are_the_marts(home, dashboard) -> None:
    at = dashboard("churn")
    latest = sql(
        home,
        "select * from monthly_metrics where not is_future order by month desc limit 1 offset 1",
    ).iloc[0]
    assert tiles(at)["Logo churn"][0] == NB.rate(latest.logo_churn_rate)  # e.g. 2,4 %
    assert tiles(at)["Gross revenue churn"][0] == NB.rate(latest.gross_revenue_churn_rate)
    assert tiles(at)["NRR 12 months"][0] == NB.rate(latest.nrr_12m)

    logo = trace(at, "churn_rates_chart", "Logo churn")
    _, table = download(at, "churn_rates_chart_csv")
    assert days(decoded(logo["x"])) == table.month.tolist()
    assert decoded(logo["y"]) == pytest.approx(table.logo_churn_rate.tolist(), nan_ok=True)
    mart = sql(
        home,
        "select strftime(month, '%Y-%m-%d') as month, gross_revenue_churn_rate "
        "from monthly_metrics where month in (select unnest(?::date[]))",
        [table.month.tolist()],
    )
    merged = table.merge(mart, on="month", suffixes=("", "_mart"))
    assert len(merged) == len(table)
    assert merged.gross_revenue_churn_rate.tolist() == pytest.approx(
        merged.gross_revenue_churn_rate_mart.tolist(), nan_ok=True
    )
    _, nrr = download(at, "churn_nrr_chart_csv")
    assert decoded(trace(at, "churn_nrr_chart")["y"]) == pytest.approx(nrr.nrr_12m.tolist())


def test_a_period_and_reason_list_the_customers_who_left(home, dashboard) -> None:
    at = dashboard("churn")
    latest = (
        sql(home, "select max(month) as month from monthly_metrics where not is_future")
        .month.iloc[0]
        .date()
    )
    start = months_back(latest, 11)
    expected = sql(
        home,
        "select reason, count(*) as customers, -sum(amount) as mrr_lost from churn_events "
        "where not is_future and month between ? and ? group by reason "
        "order by mrr_lost desc, reason",
        [start, latest],
    )
    _, reasons = download(at, "churn_reasons_chart_csv")
    assert reasons.reason.tolist() == expected.reason.tolist()
    assert reasons.mrr_lost.tolist() == pytest.approx(expected.mrr_lost.tolist())
    assert len(at.dataframe[0].value) == expected.customers.sum()

    reason = expected.reason.iloc[-1]
    at.selectbox(key="churn_reason").set_value(reason).run()
    listed = at.dataframe[0].value
    assert set(listed["Reason"]) == {reason}
    assert len(listed) == expected.set_index("reason").customers[reason]

    # One month: the reasons and the customers are that month's only.
    month = sql(
        home,
        "select max(month) as month from churn_events where not is_future and month < ?",
        [latest],
    ).month.iloc[0]
    at.selectbox(key="churn_month").set_value(month.date()).run()
    assert not at.exception
    in_month = sql(
        home,
        "select count(*) as n, -sum(amount) as lost from churn_events "
        "where not is_future and month = ?",
        [month],
    ).iloc[0]
    _, reasons = download(at, "churn_reasons_chart_csv")
    assert reasons.customers.sum() == in_month.n
    assert reasons.mrr_lost.sum() == pytest.approx(in_month.lost)
    assert set(at.dataframe[0].value["Month"]) <= {NB.month(month)}


# --- cohorts ------------------------------------------------------------------------


def test_cohort_heatmaps_are_the_mart_summed_by_quarter(home, dashboard) -> None:
    at = dashboard("cohorts")
    expected = sql(
        home,
        "select strftime(date_trunc('quarter', cohort_month), '%Y-%m-%d') as cohort, "
        "months_since_start, sum(active_customers) / sum(cohort_customers) as retention, "
        "sum(mrr) / sum(cohort_start_mrr) as revenue "
        "from cohort_retention where months_since_start % 3 = 0 and months_since_start <= 60 "
        "group by all order by all",
    )
    _, table = download(at, "cohort_logo_retention_csv")
    assert table.cohort.tolist() == expected.cohort.tolist()
    assert table.logo_retention.tolist() == pytest.approx(expected.retention.tolist())
    _, revenue = download(at, "cohort_revenue_retention_csv")
    assert revenue.revenue_retention.tolist() == pytest.approx(expected.revenue.tolist())

    heat = trace(at, "cohort_logo_retention")
    grid = table.pivot(index="cohort", columns="months_since_start", values="logo_retention")
    assert np.allclose(np.array(decoded(heat["z"]), dtype=float), grid.to_numpy(), equal_nan=True)
    assert decoded(heat["x"]) == grid.columns.tolist()
    assert heat["texttemplate"] == "%{z:.0%}"  # the cells show percentages


def test_cohort_size_and_segment_change_the_heatmap(home, dashboard) -> None:
    at = dashboard("cohorts")
    at.button_group(key="cohort_grain").set_value("year").run()
    starts = sql(
        home,
        "select year(customer_months.month)::varchar as year, customers.country, "
        "count(*) as customers from customer_months join customers using (customer_id) "
        "where customer_months.is_first_month and not customer_months.is_future group by all",
    )
    per_year = starts.groupby("year").customers.sum()
    rows = decoded(trace(at, "cohort_logo_retention")["y"])
    assert rows == [f"{year} ({count:,})" for year, count in per_year.items()]

    at.selectbox(key="cohort_segment").set_value("country").run()
    at.selectbox(key="cohort_value").set_value("SE").run()
    assert not at.exception
    swedish = starts[starts.country == "SE"].groupby("year").customers.sum()
    rows = decoded(trace(at, "cohort_logo_retention")["y"])
    assert rows == [f"{year} ({count:,})" for year, count in swedish.items()]


# --- sales team ---------------------------------------------------------------------


def test_movements_per_owner_product_and_country_add_up(home, dashboard) -> None:
    at = dashboard("sales_team")
    # Periods end with the latest complete month, the one "now" of every dashboard.
    latest = sql(
        home,
        "select month from monthly_metrics where not is_future order by month desc limit 1 "
        "offset 1",
    ).month.iloc[0]

    def net_new(start: date) -> float:
        return sql(
            home,
            "select sum(net_new_mrr) as n from monthly_metrics where month between ? and ?",
            [start, latest],
        ).n.iloc[0]

    year = net_new(months_back(latest.date(), 11))
    for key in ("sales_owner_chart", "sales_product_chart", "sales_country_chart"):
        _, table = download(at, f"{key}_csv")
        assert table.net_new.sum() == pytest.approx(year)
        bars = trace(at, key, "New")
        assert decoded(bars["y"]) == pytest.approx(table.new.tolist())
    owners = sql(
        home,
        "select customers.owner as segment, sum(amount) filter (where movement = 'churn') "
        "as churn from mrr_movements join customers using (customer_id) "
        "where month between ? and ? group by all",
        [months_back(latest.date(), 11), latest],
    ).set_index("segment")
    _, table = download(at, "sales_owner_chart_csv")
    for row in table.itertuples():
        assert row.churn == pytest.approx(owners.churn.fillna(0)[row.segment])

    at.button_group(key="sales_period").set_value("month").run()
    _, table = download(at, "sales_owner_chart_csv")
    assert table.net_new.sum() == pytest.approx(net_new(latest.date()))


# --- forecast -----------------------------------------------------------------------


def test_forecast_shows_the_mart_and_the_horizon_selector_shortens_it(home, dashboard) -> None:
    at = dashboard("forecast")
    mart = sql(home, "select * from mrr_forecast order by month")
    actual, ahead = mart[mart.is_actual], mart[~mart.is_actual]
    last = ahead.iloc[23]
    shown = tiles(at)
    assert shown["MRR now"][0] == NB.tile_money(actual.actual_mrr.iloc[-1])
    in_last = NB.month(last.month)
    assert shown[f"Contracted MRR in {in_last}"][0] == NB.tile_money(last.contracted_mrr)
    assert shown[f"Trend in {in_last}"][0] == NB.tile_money(last.trend_mrr)
    invoicing = ahead.expected_invoicing.head(24).sum()
    assert shown["Expected invoicing, next 24 months"][0] == NB.tile_money(invoicing)
    _, table = download(at, "forecast_mrr_csv")
    assert len(table) == len(actual) + 24
    band = trace(at, "forecast_mrr", "Trend band (80 %)")
    assert band["fill"] == "tonexty"
    assert decoded(band["y"]) == pytest.approx(ahead.trend_low.head(24).tolist())

    at.button_group(key="forecast_horizon").set_value(12).run()
    _, table = download(at, "forecast_invoicing_csv")
    assert len(table) == len(actual) + 12
    assert table.expected_invoicing.tolist() == pytest.approx(
        mart.expected_invoicing.head(len(actual) + 12).tolist()
    )
    bars = trace(at, "forecast_invoicing", "Expected")
    assert decoded(bars["y"]) == pytest.approx(ahead.expected_invoicing.head(12).tolist())


# --- portfolio ----------------------------------------------------------------------


def test_portfolio_tiles_list_and_signals_are_the_marts(home, dashboard) -> None:
    at = dashboard("portfolio")
    summary = sql(
        home,
        "select count(*) filter (where status = 'healthy') as healthy, "
        "count(*) filter (where status = 'at_risk') as at_risk, "
        "sum(revenue_at_risk) as risk, sum(upsell_mrr) as upsell, "
        "sum(margin_potential) as margin from contract_health",
    ).itertuples()
    summary = next(summary)  # a row with each column's own type: counts stay ints
    shown = tiles(at)
    assert shown["Healthy contracts"][0] == NB.count(summary.healthy)
    assert shown["Contracts at risk"][0] == NB.count(summary.at_risk)
    assert shown["Revenue at risk"][0] == NB.tile_money(summary.risk)
    assert shown["Open upsell (MRR)"][0] == NB.tile_money(summary.upsell)
    assert shown["Margin potential (MRR)"][0] == NB.tile_money(summary.margin)

    listed = at.dataframe[0].value
    assert len(listed) == summary.at_risk
    assert listed["Next action"].tolist() == sorted(listed["Next action"])
    _, weeks = download(at, "portfolio_weeks_csv")
    assert weeks.contracts.sum() == summary.at_risk
    assert (weeks.churn_risk_mrr.sum()) == pytest.approx(summary.risk)

    at.selectbox(key="portfolio_sort").set_value("contract_mrr").run()
    listed = at.dataframe[0].value
    assert listed["Contract MRR"].tolist() == sorted(listed["Contract MRR"], reverse=True)

    contract = listed["Contract"].iloc[0]  # the id; shown as "HubSpot 123" (a Styler)
    at.selectbox(key="portfolio_contract").set_value(contract).run()
    signals = sql(
        home,
        "select label, detail from contract_health_signals where contract_id = ? "
        "order by due_date, label",
        [contract],
    )
    shown_signals = at.dataframe[1].value
    assert shown_signals["Condition"].tolist() == signals.label.tolist()
    assert shown_signals["Detail"].tolist() == signals.detail.tolist()
