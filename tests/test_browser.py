"""The app in a real browser: `streamlit run` on the published demo portfolio, Debian's
chromium driven by the playwright package (STACK.md: never `playwright install`).

AppTest checks what the pages put on screen; only a browser shows that Plotly actually
draws them, and that the PNG and CSV downloads come out as files.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from avtale.repository import auth
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import User
from avtale.settings import STREAMLIT_APP
from tests.demo_home import demo_home

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USERNAME, PASSWORD = "browser", "fjord-analytics-2025"
WAIT_MS = 30_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("AVTALE_REQUIRE_BROWSER"):
        pytest.fail(f"{CHROMIUM} is missing and AVTALE_REQUIRE_BROWSER is set")
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium); set AVTALE_REQUIRE_BROWSER=1 to fail"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def add_user(database: str) -> None:
    """A leadership user in the data folder's operational database, as `avtale user add`."""
    migrate(database)
    engine = make_engine(database)
    try:
        with session_scope(engine) as session:
            if session.query(User).filter_by(username=USERNAME).first() is None:
                auth.create_user(session, "test", USERNAME, PASSWORD, "leadership")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_chromium()
    home = demo_home(tmp_path_factory)
    add_user(f"sqlite:///{home.home / 'avtale.db'}")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "AVTALE_DATABASE_URL"}
    env["AVTALE_HOME"] = str(home.home)
    command = [sys.executable, "-m", "streamlit", "run", str(STREAMLIT_APP)]
    command += ["--server.headless", "true", "--server.address", "127.0.0.1"]
    command += ["--server.port", str(port), "--browser.gatherUsageStats", "false"]
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    url = f"http://127.0.0.1:{port}"
    with serving(command, env, f"{url}/_stcore/health", log):
        yield url


@contextmanager
def serving(command: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[None]:
    """``command`` running as a server until the block ends, once ``health`` answers. In
    its own process group, so the end of the test stops it and anything it started."""
    with log.open("w") as output:
        server = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(health, timeout=2):
                        break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"{command[2:4]} did not start; see {log}")
                    time.sleep(0.2)
            yield
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def test_dashboards_draw_their_charts_in_chromium(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every run a fresh, temporary user-data dir.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(WAIT_MS)
            page.goto(app_url)
            page.get_by_role("textbox", name="Username").fill(USERNAME)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            # MRR overview, the default page: the MRR line and the movement bars.
            page.wait_for_selector("h1:has-text('MRR overview')")
            page.wait_for_selector(".js-plotly-plot .main-svg .scatterlayer path.js-line")
            page.wait_for_selector(".js-plotly-plot .barlayer .point path")
            assert page.locator(".js-plotly-plot").count() >= 2
            assert page.locator(".js-plotly-plot .barlayer .point").count() > 0
            page.screenshot(path=tmp_path / "mrr-overview.png")

            # Cohorts, reached through the navigation so the session (and login) stays.
            page.get_by_role("link", name="Cohorts", exact=True).click()
            page.wait_for_selector("h1:has-text('Cohorts')")
            # Streamlit draws the two heatmaps one after the other: wait for both.
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .heatmaplayer image').length >= 2"
            )
            heatmaps = page.locator(".js-plotly-plot:has(.heatmaplayer)")
            assert heatmaps.count() == 2
            cells = heatmaps.first.locator(".heatmaplayer text")
            assert cells.count() > 10
            assert cells.first.text_content().endswith("%")
            page.screenshot(path=tmp_path / "cohorts.png")

            # Plotly's camera button saves a PNG; the button under the chart its CSV.
            heatmaps.first.hover()
            with page.expect_download() as saved:
                heatmaps.first.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
            png = saved.value
            assert png.suggested_filename == "cohort-logo-retention-quarter.png"
            assert Path(png.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            with page.expect_download() as saved:
                page.get_by_role("button", name="Download CSV").first.click()
            csv = saved.value
            assert csv.suggested_filename == "cohort-logo-retention-quarter.csv"
            header = Path(csv.path()).read_text(encoding="utf-8").splitlines()[0]
            assert header.startswith("cohort,months_since_start,")
        finally:
            browser.close()
    assert (tmp_path / "cohorts.png").stat().st_size > 10_000
