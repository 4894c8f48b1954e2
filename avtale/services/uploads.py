"""Export files uploaded in the app (the Upload page), loaded as `avtale ingest` loads them,
and a refresh started from there as `avtale refresh` starts one.

``load_uploads`` first writes each upload's bytes to a file of its own under
``$AVTALE_HOME/uploading/``, so nothing is lost whatever happens next; then loads them with
``avtale.pipeline.ingest`` (the command line's code path: each file judged on its own, one
transaction per file, once per content hash) and files them away as the inbox does:
loaded and already-loaded files to ``archive/<day>/``, those that could not be read or
recognised to ``rejected/`` beside a note saying why. While a refresh holds the warehouse
the upload does not wait for it: the files go into the inbox, and the next refresh loads
them. The upload is audited with its actor and what became of each file.

``refresh`` hands the refresh to the folder's warm worker when one runs, else runs it in
this process; it never starts a second one while a refresh is running.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from avtale import inbox
from avtale.dates import today as business_today
from avtale.pipeline import WarehouseBusyError, ingest, refresh_running, warehouse_turn
from avtale.repository.audit import record
from avtale.services.database import Database
from avtale.services.unit_of_work import UPLOAD, Outcome, check, refused, write
from avtale.settings import Paths, private_dir, tighten
from avtale.worker import hand_refresh
from ingestion.kinds import title_of
from ingestion.load import FileResult, LoadReport

FILE_COLUMNS = ["file", "kind", "status", "rows_read", "rows_loaded", "rows_quarantined", "note"]
QUARANTINE_COLUMNS = ["file", "row", "field", "reason"]
# What became of a file, as the page says it.
STATUS = {
    "loaded": "loaded",
    "duplicate": "already loaded",
    "error": "not loaded",
    "waiting": "waiting for the next refresh",
}
# Shown for a file the inbox took because a refresh (or another upload) held the warehouse.
WAITING = (
    "the warehouse is busy (a refresh, or another upload): put in the inbox, the next "
    "refresh loads it"
)


def load_uploads(
    db: Database, actor: str, paths: Paths, uploads: Sequence[tuple[str, bytes]]
) -> Outcome:
    """Load uploaded files (name, bytes) into the warehouse; the outcome's detail holds the
    load report as tables (``files``, ``quarantined``) and the ``batch`` it was audited as."""
    refusal = check(db, actor, UPLOAD)
    if refusal is not None:
        return refusal
    if not uploads:
        return Outcome(errors={"files": "choose one or more export files"})
    batch = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    staged = _stage(paths.uploading / batch, uploads)
    try:
        with warehouse_turn(paths, wait=False):
            report = ingest(paths, staged, follow_symlinks=False)
    except WarehouseBusyError:
        report = LoadReport([FileResult(path, "waiting", message=WAITING) for path in staged])
        for path in staged:
            inbox.move_into(paths.inbox, path)
    else:
        inbox.file_away(report, paths.archive / business_today().isoformat(), paths.rejected)
    _remove_empty([*(path.parent for path in staged), paths.uploading / batch])

    def work(session: Session) -> Outcome:
        record(session, actor, "files.upload", "upload", batch, None, {"files": _audited(report)})
        return Outcome(
            message=summary(report),
            detail={
                "batch": batch,
                "files": files_table(report),
                "quarantined": quarantine_table(report),
            },
        )

    return write(db, actor, UPLOAD, work)


def _stage(folder: Path, uploads: Sequence[tuple[str, bytes]]) -> list[Path]:
    """Each upload's bytes in a file of its own (two uploads may share a name), private to
    the data folder's owner, named as the user's file was."""
    staged = []
    for number, (name, content) in enumerate(uploads, 1):
        place = folder / str(number)
        private_dir(place)
        path = place / _file_name(name)
        path.write_bytes(content)
        tighten(path)
        staged.append(path)
    return staged


def _remove_empty(folders: list[Path]) -> None:
    """The staging folders, once their files have moved; one that could not be moved stays
    where it is (never deleted), and the report says why."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _file_name(name: str) -> str:
    """The upload's name without any folder a browser may send, short enough to store."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\0", "")
    if base in ("", ".", ".."):
        base = "upload"
    suffix = Path(base).suffix if len(Path(base).suffix.encode()) <= 16 else ""
    stem = base[: len(base) - len(suffix)]
    stem = stem.encode()[: inbox.MAX_NAME_BYTES - len(suffix.encode())].decode("utf-8", "ignore")
    return (stem or "upload") + suffix


def summary(report: LoadReport) -> str:
    """One line: files loaded, already loaded, not loaded, waiting; rows in each state."""
    count = {status: sum(f.status == status for f in report.files) for status in STATUS}
    said = [f"{count[status]} {STATUS[status]}" for status in STATUS if count[status]]
    rows = (
        f"rows read {sum(f.rows_read for f in report.files)}, "
        f"loaded {sum(f.rows_loaded for f in report.files)}, "
        f"quarantined {sum(f.rows_quarantined for f in report.files)}"
    )
    return f"{len(report.files)} file(s): {', '.join(said)}; {rows}"


def files_table(report: LoadReport) -> pd.DataFrame:
    """A row per file: its name, kind, what became of it, rows read, loaded, quarantined,
    and why (not read, not recognised, loaded before)."""
    rows = [
        {
            "file": f.name,
            "kind": title_of(f.kind) if f.kind else "",
            "status": STATUS.get(f.status, f.status),
            "rows_read": f.rows_read,
            "rows_loaded": f.rows_loaded,
            "rows_quarantined": f.rows_quarantined,
            "note": _note(f),
        }
        for f in report.files
    ]
    return pd.DataFrame(rows, columns=FILE_COLUMNS)


def _note(f: FileResult) -> str:
    if f.status == "error":
        return f"{f.message} (kept in rejected/ with a note)"
    if f.status == "loaded":
        read = f"load {f.load_id}, read as {f.read_as}"
        blanks = f"; {f.blank_rows} empty rows skipped" if f.blank_rows else ""
        return read + blanks + (f"; {f.message}" if f.message else "")
    return f.message


def quarantine_table(report: LoadReport) -> pd.DataFrame:
    """The quarantined rows of the loaded files: file, row (header = 1), field, reason; the
    first 200 of each file (all are in the published ``quarantine``)."""
    rows = [
        {"file": f.name, "row": row, "field": field, "reason": reason}
        for f in report.loaded
        for row, field, reason in f.problems
    ]
    return pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)


def _audited(report: LoadReport) -> list[dict[str, Any]]:
    return [
        {
            "file": f.name,
            "status": f.status,
            "kind": f.kind,
            "load_id": f.load_id,
            "rows_read": f.rows_read,
            "rows_loaded": f.rows_loaded,
            "rows_quarantined": f.rows_quarantined,
            "message": f.message,
        }
        for f in report.files
    ]


# --- the refresh ------------------------------------------------------------------------

RUNNING = (
    "a refresh is running now: the dashboards show its data when it finishes. Start "
    "another then if it began before your upload"
)


def is_refreshing(paths: Paths) -> bool:
    """Whether a refresh of the data folder is running (`avtale refresh`, the worker's)."""
    return refresh_running(paths)


def refresh(db: Database, actor: str, paths: Paths, say: Callable[[str], None]) -> Outcome:
    """A refresh as `avtale refresh` makes it: handed to the folder's warm worker when one
    runs, else run in this process; its lines go to ``say`` as they come. Refused while
    another refresh runs. The message says whether the dashboards show new data."""
    refusal = check(db, actor, UPLOAD)
    if refusal is not None:
        return refusal
    if refresh_running(paths):
        return refused(RUNNING)
    before = _published(paths)
    done = hand_refresh(paths, say=say)
    if done is None:
        # No worker: this process runs the job (Dagster and dbt load on first use).
        from dagster_project.refresh import refresh_here

        done = refresh_here(paths, say=say, steps=True)
    if not done:
        return refused("the refresh failed: the dashboards still show the data published before")
    if _published(paths) == before:
        return Outcome(message="Nothing new to build: the dashboards already show all loaded data.")
    return Outcome(message="Published: the dashboards show the new data now.")


def _published(paths: Paths) -> tuple[int, int] | None:
    """Which copy is published: a publish replaces the file whole (a new inode)."""
    try:
        status = paths.serving.stat()
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns
