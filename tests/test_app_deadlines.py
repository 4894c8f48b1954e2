"""The Deadlines page as sales ops see it, on a published demo portfolio (SPEC VI A1).

Expected rows are read straight from the published ``contract_deadlines`` with SQL
written here, so the tests check what the page shows against the mart, not against the
page's own queries.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from avtale.serving import connect_serving
from avtale.settings import Paths
from tests.app_ops_fixtures import as_user, make_template, open_page, sqlite_url
from tests.demo_home import demo_home

pytestmark = pytest.mark.slow

PAGE = "operations/pages/deadlines.py"
LIST = "deadlines_list"
ACTIONS = ("notice", "renegotiation_window")
LABELS = {
    "notice": "Notice deadline",
    "renegotiation_window": "Renegotiation window",
    "expiry": "Expiry",
    "next_renewal": "Next renewal",
    "lock_in_end": "End of lock-in",
    "price_adjustment": "Price adjustment",
    "discount_end": "End of discount",
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
def page(home: Paths, users_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Deadlines page, logged in as sales ops, with every deadline of 24 months."""
    shutil.copy(users_db, tmp_path / "avtale.db")
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", sqlite_url(tmp_path / "avtale.db"))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", RecordingStorage)
    at = open_page(as_user("sally"), PAGE)
    at.selectbox(key="deadlines_horizon").set_value(24).run()
    assert not at.exception, at.exception
    return at


def sql(home: Paths, query: str, params: list[Any] | None = None) -> pd.DataFrame:
    with connect_serving(home.serving) as con:
        return con.execute(query, params or []).df()


def until(months: int) -> date:
    return (pd.Timestamp(date.today()) + pd.DateOffset(months=months)).date()


def listed(at: AppTest) -> pd.DataFrame:
    return at.dataframe(key=LIST).value


def keys(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(contract, type label, day) of each row, in order."""
    types = frame.deadline_type.map(lambda value: LABELS.get(value, value))
    days = pd.to_datetime(frame.deadline_date).dt.strftime("%Y-%m-%d")
    return list(zip(frame.contract_id, types, days, strict=True))


def downloaded(at: AppTest, key: str) -> tuple[str | None, pd.DataFrame]:
    (button,) = [b for b in at.get("download_button") if b.key == key]
    filename, content = RecordingStorage.served[Path(button.proto.url).stem]
    return filename, pd.read_csv(io.BytesIO(content))


def busiest_owner(home: Paths) -> str:
    return sql(
        home,
        "select owner from contract_deadlines where owner is not null "
        "group by owner order by count(*) desc, owner limit 1",
    ).owner.iloc[0]


def test_the_list_is_the_marts_deadlines_for_an_owner_and_types(home, page) -> None:
    owner = busiest_owner(home)
    types = ["notice", "renegotiation_window", "expiry", "next_renewal"]
    page.multiselect(key="deadlines_owner").set_value([owner]).run()
    page.multiselect(key="deadlines_type").set_value(types).run()
    assert not page.exception, page.exception
    expected = sql(
        home,
        "select contract_id, deadline_type, deadline_date from contract_deadlines "
        "where owner = ? and list_contains(?, deadline_type) and deadline_date <= ?",
        [owner, types, until(24)],
    )
    assert not expected.empty
    shown = listed(page)
    assert sorted(keys(shown)) == sorted(keys(expected))
    assert set(shown.owner) == {owner}

    filename, table = downloaded(page, "deadlines_csv")
    # The page's filters name the file: owner, types (sorted), period.
    assert filename == (
        f"deadlines_owner-{owner.replace(' ', '-')}"
        "_type-expiry+next_renewal+notice+renegotiation_window_next-24m.csv"
    )
    assert keys(table) == keys(shown.assign(deadline_type=table.deadline_type))
    assert set(table.deadline_type) <= set(types)  # the CSV keeps the mart's codes


def test_a_minimum_mrr_at_stake_leaves_out_smaller_deadlines(home, page) -> None:
    floor = float(
        sql(
            home, "select median(mrr_at_stake) as m from contract_deadlines where mrr_at_stake > 0"
        ).m.iloc[0]
    )
    page.number_input(key="deadlines_min_mrr").set_value(floor).run()
    assert not page.exception, page.exception
    expected = sql(
        home,
        "select count(*) as n from contract_deadlines where mrr_at_stake >= ? "
        "and deadline_date <= ?",
        [floor, until(24)],
    ).n.iloc[0]
    shown = listed(page)
    assert len(shown) == expected
    assert (shown.mrr_at_stake >= floor).all()


def test_the_soonest_notice_deadline_comes_first(home, page) -> None:
    soonest = sql(
        home,
        "select contract_id, deadline_date from contract_deadlines where deadline_type = 'notice' "
        "order by deadline_date, mrr_at_stake desc nulls last, customer_name, contract_id limit 1",
    ).iloc[0]
    page.multiselect(key="deadlines_type").set_value(["notice", "expiry", "next_renewal"]).run()
    shown = listed(page)
    week = pd.Timestamp(soonest.deadline_date).to_period("W-SUN").start_time
    in_week = shown[pd.to_datetime(shown.week) == week]
    first = in_week.iloc[0]
    assert (first.contract_id, first.deadline_type) == (soonest.contract_id, "Notice deadline")
    assert pd.Timestamp(first.deadline_date) == pd.Timestamp(soonest.deadline_date)

    page.multiselect(key="deadlines_type").set_value(["notice"]).run()
    assert listed(page).contract_id.iloc[0] == soonest.contract_id


def test_each_week_puts_notices_and_renegotiations_first_then_mrr_at_stake(page) -> None:
    shown = listed(page).reset_index(drop=True)
    assert len(shown) > 0
    weeks = pd.to_datetime(shown.week)
    assert weeks.is_monotonic_increasing
    assert (weeks == pd.to_datetime(shown.deadline_date).dt.to_period("W-SUN").dt.start_time).all()
    action_labels = {LABELS[kind] for kind in ACTIONS}
    for _, rows in shown.groupby("week", sort=False):
        is_action = rows.deadline_type.isin(action_labels).tolist()
        assert is_action == sorted(is_action, reverse=True)  # actions, then the rest
        actions, rest = (
            rows[rows.deadline_type.isin(action_labels)],
            rows[~rows.deadline_type.isin(action_labels)],
        )
        assert pd.to_datetime(actions.deadline_date).is_monotonic_increasing
        assert rest.mrr_at_stake.fillna(float("-inf")).is_monotonic_decreasing


def test_the_chart_stacks_mrr_at_stake_by_week_and_type(page) -> None:
    (element,) = [e for e in page.get("plotly_chart") if e.proto.id.endswith("-deadlines_chart")]
    spec = json.loads(element.proto.spec)
    bars = [trace for trace in spec["data"] if trace["type"] == "bar"]
    assert bars
    assert spec["layout"]["barmode"] == "stack"
    shown = listed(page)
    assert {trace["name"] for trace in bars} == set(shown.deadline_type)
    assert json.loads(element.proto.config)["toImageButtonOptions"]["format"] == "png"


def test_a_row_opens_its_contract(page) -> None:
    """A CRM or accounting contract opens on its customer's read-only page (the demo has
    no app contracts; those open on the contract page, ``?contract=<number>``)."""
    shown = listed(page)
    crm_row = int(shown.index[shown.source_system != "app"][0])
    page.session_state[LIST] = {"selection": {"rows": [crm_row], "columns": [], "cells": []}}
    page.run()
    assert not page.exception, page.exception
    assert page.title[0].value == "CRM customer"
    assert page.query_params == {"crm_customer": shown.customer_id.iloc[crm_row]}
