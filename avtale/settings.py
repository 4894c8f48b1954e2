"""Where Avtale keeps its data: everything lives under ``$AVTALE_HOME``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
STREAMLIT_APP = PROJECT_ROOT / "apps" / "streamlit" / "streamlit_app.py"

REPORTING_CURRENCY = "NOK"


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
        for folder in (self.home, self.inbox, self.archive, self.dagster_home):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def paths() -> Paths:
    """The data folder named by ``$AVTALE_HOME`` (default ``./.avtale``)."""
    return Paths(Path(os.environ.get("AVTALE_HOME", ".avtale")).resolve())
