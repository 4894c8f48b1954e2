"""avtale.services.uploads on a real warehouse and operational database: who may upload,
what becomes of a file while a refresh holds the warehouse, names a browser may send,
and a refresh asked for while another runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from avtale.pipeline import (
    RefreshRunningError,
    WarehouseBusyError,
    refresh_running,
    refresh_turn,
    warehouse_turn,
)
from avtale.services import uploads, users
from avtale.services.database import Database, close_database, database_at
from avtale.services.unit_of_work import FORM, System
from avtale.settings import Paths

CUSTOMERS = b"customer_id,name\nU1,Opplasta AS\n"
PASSWORD = "fjord-analytics-2025"


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path).ensure()


@pytest.fixture
def db(home: Paths) -> Iterator[Database]:
    database = database_at(f"sqlite:///{home.home / 'avtale.db'}")
    for username, role in (("leo", "leadership"), ("anna", "analyst")):
        assert users.create_user(database, System("setup"), username, PASSWORD, role).ok
    yield database
    close_database(database)


def test_leadership_may_not_upload_and_nothing_is_written(db: Database, home: Paths) -> None:
    made = uploads.load_uploads(db, "leo", home, [("customers.csv", CUSTOMERS)])
    assert made.errors == {FORM: "your role (leadership) may not do this"}
    assert not home.warehouse.exists()
    assert not home.uploading.exists()


def test_while_a_refresh_holds_the_warehouse_the_files_wait_in_the_inbox(
    db: Database, home: Paths
) -> None:
    with warehouse_turn(home):
        made = uploads.load_uploads(db, "anna", home, [("customers.csv", CUSTOMERS)])
    assert made.ok, made.errors
    assert made.detail["files"].status.tolist() == ["waiting for the next refresh"]
    assert (home.inbox / "customers.csv").read_bytes() == CUSTOMERS
    assert not home.warehouse.exists()  # the upload did not touch it


def test_a_name_from_the_browser_cannot_leave_the_data_folder(db: Database, home: Paths) -> None:
    made = uploads.load_uploads(
        db, "anna", home, [("../../etc/customers.csv", CUSTOMERS), ("..", b"a,b\n1,2\n")]
    )
    assert made.ok, made.errors
    assert sorted(made.detail["files"].file) == ["customers.csv", "upload"]
    assert [p.name for p in home.archive.rglob("*.csv")] == ["customers.csv"]
    assert (home.rejected / "upload").read_bytes() == b"a,b\n1,2\n"


def test_no_refresh_starts_while_one_runs(db: Database, home: Paths) -> None:
    said: list[str] = []
    with refresh_turn(home):
        assert refresh_running(home)
        with pytest.raises(RefreshRunningError), refresh_turn(home, wait=False):
            pass
        made = uploads.refresh(db, "anna", home, say=said.append)
    assert made.errors == {FORM: uploads.RUNNING} and said == []
    assert not refresh_running(home)
    with warehouse_turn(home), pytest.raises(WarehouseBusyError), warehouse_turn(home, wait=False):
        pass
