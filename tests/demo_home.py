"""A data folder with the demo portfolio ingested, built and published, for the tests that
look at the app on real marts (tests/test_app_analytics.py, tests/test_browser.py).

Building takes half a minute (most of it dbt), so it happens once per test session: the
first module to ask builds it under pytest's session temp folder, later ones reuse it.
"""

from __future__ import annotations

import pytest

from avtale.cli import refresh
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.settings import Paths

COMPANIES = 400
SEED = 7


def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    """The published demo data folder of this test session (built on first use)."""
    root = tmp_path_factory.getbasetemp() / "analytics-demo"
    home = Paths(root / "home")
    if (root / "built").exists():
        return home
    exports = root / "exports"
    write_demo_data(exports, companies=COMPANIES, seed=SEED)
    with pytest.MonkeyPatch.context() as env:
        # refresh() points these at the folder for good; the context puts them back.
        env.setenv("AVTALE_HOME", str(home.home))
        env.setenv("DAGSTER_HOME", str(home.dagster_home))
        env.delenv("AVTALE_DATABASE_URL", raising=False)
        home.ensure()
        report = ingest(home, [exports])
        assert [f.path.name for f in report.files if f.status == "error"] == []
        assert refresh(home), "the demo refresh failed"
    (root / "built").touch()
    return home
