"""The app's downloads on a published demo portfolio: each chart and the deadline list also
download as CSV for Excel with Nordic settings, named after the filters in use."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from avtale.serving import connect_serving
from avtale.settings import Paths
from tests.app_ops_fixtures import as_user, make_template, open_page, sqlite_url
from tests.demo_home import demo_home

pytestmark = pytest.mark.slow

BOM = b"\xef\xbb\xbf"
AMOUNT = re.compile(r"^-?\d+,\d\d$")  # decimal comma, rounded to øre, no thousands mark


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
def opener(home: Paths, users_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    shutil.copy(users_db, tmp_path / "avtale.db")
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", sqlite_url(tmp_path / "avtale.db"))
    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", RecordingStorage)

    def open_as(username: str, page: str) -> AppTest:
        return open_page(as_user(username), page)

    return open_as


def served(at: AppTest, key: str) -> tuple[str, bytes]:
    (button,) = [b for b in at.get("download_button") if b.key == key]
    filename, content = RecordingStorage.served[Path(button.proto.url).stem]
    assert filename is not None
    return filename, content


def excel_table(content: bytes) -> pd.DataFrame:
    assert content.startswith(BOM)
    return pd.read_csv(io.BytesIO(content), sep=";", dtype=str, encoding="utf-8-sig")


def sql(home: Paths, query: str) -> pd.DataFrame:
    with connect_serving(home.serving) as con:
        return con.execute(query).df()


def test_a_chart_downloads_for_excel_rounded_to_ore(home: Paths, opener) -> None:  # type: ignore[no-untyped-def]
    at = opener("leo", "dashboards/pages/kpis.py")
    filename, content = served(at, "kpi_mrr_excel")
    assert filename == "kpi-mrr_excel.csv"
    table = excel_table(content)
    assert list(table.columns) == ["month", "mrr"]
    assert all(AMOUNT.match(cell) for cell in table.mrr)
    mart = sql(
        home,
        "select strftime(month, '%Y-%m-%d') as month, mrr from monthly_metrics "
        "where not is_future order by month",
    ).iloc[-25:-1]  # the complete months the chart shows
    assert table.month.tolist() == mart.month.tolist()
    shown = [float(cell.replace(",", ".")) for cell in table.mrr]
    assert shown == pytest.approx(mart.mrr.tolist(), abs=0.005 + 1e-9)


def test_the_sidebar_filters_name_the_downloads(home: Paths, opener) -> None:  # type: ignore[no-untyped-def]
    owner = sql(home, "select owner from customers group by owner order by count(*) desc limit 1")
    name = str(owner.owner.iloc[0])
    at = opener("leo", "dashboards/pages/kpis.py")
    at.multiselect(key="filter_owner").select(name).run()
    assert not at.exception
    tag = "owner-" + name.replace(" ", "-")
    assert served(at, "kpi_mrr_csv")[0] == f"kpi-mrr_{tag}.csv"
    assert served(at, "kpi_mrr_excel")[0] == f"kpi-mrr_{tag}_excel.csv"


def test_the_deadline_list_downloads_for_excel(opener) -> None:  # type: ignore[no-untyped-def]
    at = opener("sally", "operations/pages/deadlines.py")
    at.selectbox(key="deadlines_horizon").set_value(24).run()
    at.multiselect(key="deadlines_type").set_value(["notice"]).run()
    assert not at.exception
    filename, content = served(at, "deadlines_excel")
    assert filename == "deadlines_type-notice_next-24m_excel.csv"
    table = excel_table(content)
    assert set(table.deadline_type) == {"notice"}
    assert all(AMOUNT.match(cell) for cell in table.mrr_at_stake.dropna())
    plain = pd.read_csv(io.BytesIO(served(at, "deadlines_csv")[1]))
    assert len(plain) == len(table)
