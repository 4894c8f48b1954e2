"""Operations → Upload as a user sees it, on real components: export files uploaded through
the page load as `avtale ingest` loads them (the load report, the quarantined rows, a file
already loaded, one that is not an export kept in rejected/ with its note), the upload is
audited with its user, and a refresh started there, in the app's process or by the warm
worker, brings a new customer to the published marts; while a refresh runs, none starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.inbox import NOTE_SUFFIX
from avtale.pipeline import refresh_turn
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import AuditLog
from avtale.serving import connect_serving
from avtale.settings import Paths
from avtale.worker import is_running
from dagster_project.worker import Worker
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database

PAGE = "operations/pages/upload.py"
CUSTOMERS = (
    "customer_id,name,country,owner\n"
    "UP-1,Opplasta Fjordfisk AS,NO,Kari Nordmann\n"
    "UP-2,,NO,Kari Nordmann\n"  # no name: quarantined, row 3
)
CONTRACTS = (
    "contract_id,customer_id,start_date,term_months,currency\nUPC-1,UP-1,2025-01-01,36,NOK\n"
)
LINES = "line_id,contract_id,product,quantity,unit_price\nUPL-1,UPC-1,Analytics,4,1250\n"
NOT_AN_EXPORT = "colour,flavour\nblue,salty\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: Path) -> Paths:
    use_database(tmp_path, monkeypatch, template)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    return Paths(tmp_path).ensure()


def upload(at: AppTest, *files: tuple[str, str]) -> AppTest:
    at.file_uploader[0].set_value([(name, text.encode(), "text/csv") for name, text in files])
    at.button(key="upload_submit").click().run()
    assert not at.exception, at.exception
    return at


def table(at: AppTest, *columns: str) -> Any:
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


def texts(elements: Any) -> list[str]:
    return [element.value for element in elements]


def test_an_upload_shows_the_load_report_and_keeps_every_file(home: Paths) -> None:
    at = open_page(as_user("sally"), PAGE)
    assert texts(at.title) == ["Upload"]
    upload(at, ("customers.csv", CUSTOMERS), ("colours.csv", NOT_AN_EXPORT))

    (message,) = texts(at.success)
    assert message.startswith("2 file(s): 1 loaded, 1 not loaded")
    files = table(at, "file", "rows_read").set_index("file")
    assert files.loc["customers.csv", "kind"] == "Accounting customers"  # a word, not a code
    counts = ["rows_read", "rows_loaded", "rows_quarantined"]
    assert files.loc["customers.csv", counts].tolist() == [2, 1, 1]
    assert files.loc["colours.csv", "status"] == "not loaded"
    assert "not a known export" in files.loc["colours.csv", "note"]
    quarantined = table(at, "row", "reason")
    assert quarantined.to_dict("records") == [
        {"file": "customers.csv", "row": 3, "field": "name", "reason": "required value is missing"}
    ]
    (warning,) = texts(at.warning)
    assert "colours.csv was not loaded" in warning and "rejected/" in warning

    # Nothing is lost: the loaded file in the archive, the other in rejected/ with its note.
    (archived,) = home.archive.rglob("customers.csv")
    assert archived.read_text(encoding="utf-8") == CUSTOMERS
    assert (home.rejected / "colours.csv").read_text(encoding="utf-8") == NOT_AN_EXPORT
    note = (home.rejected / f"colours.csv{NOTE_SUFFIX}").read_text(encoding="utf-8")
    assert "not a known export" in note

    # Audited with the user as actor, with what became of each file.
    with session_scope(make_engine(f"sqlite:///{home.home / 'avtale.db'}")) as session:
        (entry,) = session.scalars(select(AuditLog).where(AuditLog.action == "files.upload"))
        assert entry.actor == "sally" and entry.entity == "upload"
        assert [(f["file"], f["status"]) for f in entry.after["files"]] == [
            ("colours.csv", "error"),
            ("customers.csv", "loaded"),
        ]

    # The same content again (under another name) is said to be loaded already.
    upload(at, ("customers (1).csv", CUSTOMERS))
    (again,) = texts(at.info)
    assert "same content already loaded as load 1 (customers.csv)" in again
    assert table(at, "file", "status").status.tolist() == ["already loaded"]


def test_without_files_the_page_asks_for_some(home: Paths) -> None:
    at = open_page(as_user("anna"), PAGE)
    at.button(key="upload_submit").click().run()
    assert texts(at.error) == ["Files: choose one or more export files."]


@pytest.mark.slow
def test_a_refresh_from_the_page_publishes_the_new_customer(home: Paths) -> None:
    at = open_page(as_user("ada"), PAGE)
    upload(at, ("customers.csv", CUSTOMERS), ("contracts.csv", CONTRACTS), ("lines.csv", LINES))
    at.button(key="upload_refresh_submit").click().run(timeout=600)
    assert not at.exception, at.exception
    assert "Published: the dashboards show the new data now." in texts(at.success)
    told = [m.value for m in at.markdown]  # the steps as they started, in the status box
    for step in ("loading the inbox…", "building the marts (dbt)…", "publishing…"):
        assert step in told, told
    with connect_serving(home.serving) as con:
        found = con.execute(
            "SELECT name, current_mrr FROM customers WHERE source_id = 'UP-1'"
        ).fetchall()
    assert found == [("Opplasta Fjordfisk AS", 5000.0)]


class HeldRefresh:
    """A stand-in for the worker's refresh job: says a line, holds the refresh turn as a
    real one does, and can be held mid-run."""

    def __init__(self, home: Paths) -> None:
        self.home = home
        self.release = threading.Event()
        self.running = threading.Event()

    def __call__(self, say: Callable[[str], None]) -> bool:
        with refresh_turn(self.home):
            self.running.set()
            say("inbox loaded, marts built, published")
            self.release.wait(30)
        return True


def test_the_page_hands_the_refresh_to_the_worker_and_starts_none_while_one_runs(
    home: Paths,
) -> None:
    job = HeldRefresh(home)
    worker = Worker(home, job, say=lambda _line: None)
    threading.Thread(target=worker.serve_forever, daemon=True).start()
    deadline = time.monotonic() + 10
    while not is_running(home):
        assert time.monotonic() < deadline, "the worker did not start listening"
        time.sleep(0.02)

    job.release.set()  # the first refresh runs through
    at = open_page(as_user("sally"), PAGE)
    at.button(key="upload_refresh_submit").click().run()
    assert not at.exception, at.exception
    assert "inbox loaded, marts built, published" in [m.value for m in at.markdown]
    assert any("dashboards already show" in text for text in texts(at.success))

    # A refresh is running (the worker's, for an app write): the page says so, starts none.
    job.release.clear()
    job.running.clear()
    asked = threading.Thread(target=worker_ask, args=(home,), daemon=True)
    asked.start()
    assert job.running.wait(10)
    at = open_page(as_user("sally"), PAGE)
    assert any("A refresh is running now" in text for text in texts(at.info))
    assert not [b for b in at.button if b.key == "upload_refresh_submit"]
    job.release.set()
    asked.join(10)


def worker_ask(home: Paths) -> None:
    from avtale.worker import hand_refresh

    hand_refresh(home, say=lambda _line: None)
