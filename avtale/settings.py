"""Where Avtale keeps its data: everything lives under ``$AVTALE_HOME``."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
STREAMLIT_APP = PROJECT_ROOT / "apps" / "streamlit" / "streamlit_app.py"

REPORTING_CURRENCY = "NOK"

# The data folder holds contracts, customers and password hashes: only its owner may read it.
# The folders are made 0700 (and tightened when found looser); that alone shuts everyone
# else out, whatever the files inside say. The files Avtale writes itself are also made
# 0600 where they are written (SQLite database, documents, outbox, DuckDB files, inbox
# archive), so a file copied or moved out keeps its privacy. The `avtale` command sets the
# umask below for its run, which covers what libraries write there (SQLite -wal and -shm,
# DuckDB .wal, dbt artifacts, Dagster's run storage) and is inherited by the app and Dagster
# it starts. The Streamlit frame and the Dagster definitions do not set it: test runners and
# tools import them, and a process-wide umask changed on import would leak into those.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def private_dir(folder: Path) -> Path:
    """``folder`` made (with missing parents) or tightened to be its owner's alone."""
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return tighten(folder, PRIVATE_DIR)


def tighten(path: Path, mode: int = PRIVATE_FILE) -> Path:
    """``path`` without the permissions ``mode`` leaves out; nothing if it is not there.

    A symbolic link is left alone: its own mode means nothing, and the file it points to
    (a link dropped into the inbox, say) is not Avtale's to change.
    """
    try:
        status = path.lstat()
    except FileNotFoundError:
        return path
    current = stat.S_IMODE(status.st_mode)
    if not stat.S_ISLNK(status.st_mode) and current & ~mode:
        path.chmod(current & mode)
    return path


@dataclass(frozen=True)
class Paths:
    """The files and folders of one Avtale data folder."""

    home: Path

    @property
    def warehouse(self) -> Path:
        """Build database: written by ingestion and dbt only."""
        return self.home / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        """Published copy of the marts: read by the app and ``avtale sql``."""
        return self.home / "serving.duckdb"

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        """Inbox files move here once loaded."""
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        """Inbox files that could not be read, each beside a note saying why."""
        return self.home / "rejected"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def ensure(self) -> Paths:
        """The folders made, or tightened, to be the owner's alone (see PRIVATE_DIR)."""
        for folder in (self.home, self.inbox, self.archive, self.dagster_home):
            private_dir(folder)
        return self


def paths() -> Paths:
    """The data folder named by ``$AVTALE_HOME`` (default ``./.avtale``)."""
    return Paths(Path(os.environ.get("AVTALE_HOME", ".avtale")).resolve())
