"""The inbox on a real data folder: only settled regular files are loaded, links and
odd files are refused without being read, and nothing in it stops the next refresh."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import ingestion.load
from avtale.pipeline import ingest_inbox
from avtale.settings import Paths
from tests.sample_files import drop

COMPANIES = "Record ID,Company name\n1,Bølgen AS\n2,Ærø ApS\n"


@pytest.fixture()
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home").ensure()


def test_a_file_still_being_written_waits_until_it_has_settled(home: Paths) -> None:
    writing = home.inbox / "companies.csv"
    writing.write_text(COMPANIES, encoding="utf-8")  # modified just now
    partial = drop(home.inbox / "deals.csv.crdownload", "Record ID,Deal Name\n")

    report = ingest_inbox(home)

    assert [(f.name, f.status) for f in report.files] == [
        ("companies.csv", "waiting"),
        ("deals.csv.crdownload", "waiting"),
    ]
    assert report.ok and writing.exists() and partial.exists()
    assert "waiting: changed" in report.format()
    os.utime(writing, (writing.stat().st_mtime - 60,) * 2)
    assert [f.status for f in ingest_inbox(home).files] == ["loaded", "waiting"]
    assert not writing.exists()


def test_links_are_refused_without_reading_or_naming_their_target(
    home: Paths, tmp_path: Path
) -> None:
    secret = tmp_path / "secret-passwords.csv"
    secret.write_text("Record ID,Company name\n1,hunter2\n", encoding="utf-8")
    os.symlink(secret, home.inbox / "companies.csv")
    os.symlink(tmp_path, home.inbox / "a-folder")
    os.symlink(tmp_path / "nowhere.csv", home.inbox / "dangling.csv")
    drop(home.inbox / "good.csv", COMPANIES)

    report = ingest_inbox(home)

    statuses = {f.name: (f.status, f.message) for f in report.files}
    assert statuses["good.csv"][0] == "loaded"
    for link in ("companies.csv", "a-folder", "dangling.csv"):
        assert statuses[link] == ("error", "a symbolic link; the inbox takes only files")
        assert (home.rejected / link).is_symlink()  # the link moved, its target untouched
    assert secret.read_text(encoding="utf-8").endswith("hunter2\n")
    notes = "".join(p.read_text() for p in home.rejected.glob("*.error.txt"))
    report_text = report.format()
    for leak in ("hunter2", "secret-passwords", str(tmp_path)):
        assert leak not in notes and leak not in report_text
    assert list(home.inbox.iterdir()) == []


def test_a_fifo_does_not_hang_the_inbox(home: Paths) -> None:
    os.mkfifo(home.inbox / "pipe.csv")
    drop(home.inbox / "good.csv", COMPANIES)
    report = ingest_inbox(home)
    assert {f.name: f.status for f in report.files} == {"pipe.csv": "error", "good.csv": "loaded"}
    assert (home.rejected / "pipe.csv.error.txt").read_text() == "not a regular file\n"


def test_an_unreadable_file_goes_aside_and_the_next_refresh_runs_clean(home: Paths) -> None:
    long_name = "æ" * 120 + ".csv"  # 244 bytes: the note beside it must still fit
    drop(home.inbox / long_name, b"\xef\xbb\xbfRecord ID,Company name\n1,Bl\xe5 \x81\n")
    drop(home.inbox / "random.csv", bytes(range(256)) * 3)
    drop(home.inbox / "good.csv", COMPANIES)

    first = ingest_inbox(home)

    assert sorted(f.status for f in first.files) == ["error", "error", "loaded"]
    rejected = sorted(p.name for p in home.rejected.iterdir())
    assert len(rejected) == 4 and all(len(name.encode()) <= 255 for name in rejected)
    assert list(home.inbox.iterdir()) == []
    assert ingest_inbox(home).files == []  # nothing left to fail the next refresh


def test_a_file_that_changes_while_it_is_loaded_stays_for_the_next_refresh(
    home: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = drop(home.inbox / "companies.csv", COMPANIES)
    real = ingestion.load.load_files

    def load_then_append(*args, **kwargs):  # the exporter writes on after we read
        report = real(*args, **kwargs)
        with path.open("a", encoding="utf-8") as fh:
            fh.write("3,Sent AS\n")
        return report

    monkeypatch.setattr("avtale.pipeline.load_files", load_then_append)
    first = ingest_inbox(home)
    assert first.files[0].status == "loaded" and first.files[0].rows_loaded == 2
    assert "changed after it was read" in first.format()
    assert path.exists()

    os.utime(path, (path.stat().st_mtime - 60,) * 2)
    monkeypatch.setattr("avtale.pipeline.load_files", real)
    second = ingest_inbox(home)
    assert (second.files[0].status, second.files[0].rows_loaded) == ("loaded", 3)
    assert not path.exists()
