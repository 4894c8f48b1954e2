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
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from avtale.repository import auth
from avtale.repository.db import make_engine, migrate, session_scope
from avtale.repository.models import User
from avtale.settings import STREAMLIT_SERVER, Paths
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
    with serving_app(home, tmp_path_factory) as url:
        yield url


@contextmanager
def serving_app(home: Paths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app of the data folder ``home`` served as `avtale app` serves it (login routes
    and all) on a free port, its address while the block runs."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "AVTALE_DATABASE_URL"}
    env["AVTALE_HOME"] = str(home.home)
    command = [sys.executable, "-m", "streamlit", "run", str(STREAMLIT_SERVER)]
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


def test_a_login_outlives_a_reload_and_a_log_out_ends_it(app_url: str) -> None:
    """The session cookie is HttpOnly; a reload, a new tab with a pasted link and its
    filters keep the login; a log-out in one tab ends it in the other."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            context.set_default_timeout(WAIT_MS)
            page = context.new_page()
            page.goto(app_url)
            page.get_by_role("textbox", name="Username").fill(USERNAME)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_selector("h1:has-text('MRR overview')")
            cookie = wait_for_cookie(context)
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert page.evaluate("document.cookie").find(cookie["name"]) == -1

            page.reload()
            page.wait_for_selector("h1:has-text('MRR overview')")
            assert page.get_by_role("button", name="Log in").count() == 0

            # A page this role (leadership) may not use says why, and shows nothing of it.
            page.goto(f"{app_url}/new_customer")
            page.get_by_text("may not open New customer").wait_for()
            assert (
                "it is for Sales ops, Admin" in page.locator("[data-testid=stAlert]").inner_text()
            )
            assert page.get_by_role("button", name="Create customer").count() == 0
            assert page.get_by_role("link", name="New customer").count() == 0  # not in the menu

            # A pasted link in a new tab: logged in, with the address's filter picked.
            other = context.new_page()
            other.goto(f"{app_url}/?country=NO")
            other.wait_for_selector("h1:has-text('MRR overview')")
            picked = other.locator("[data-testid=stSidebar] [data-tag]")
            picked.and_(other.locator("[aria-label=NO]")).wait_for()
            assert picked.count() == 1
            page.get_by_role("button", name="Log out").click()
            page.wait_for_selector("h1:has-text('Log in to Avtale')")
            other.reload()
            other.wait_for_selector("h1:has-text('Log in to Avtale')")
        finally:
            browser.close()


def wait_for_cookie(context: Any) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        found = [c for c in context.cookies() if c["name"] == "avtale_staff_session"]
        if found:
            return dict(found[0])
        time.sleep(0.1)
    pytest.fail("the session cookie was never set")


def test_the_session_routes_refuse_posts_from_other_sites(app_url: str) -> None:
    for path in ("/_avtale/session", "/_avtale/logout"):
        for origin in (None, "http://evil.example"):
            request = urllib.request.Request(f"{app_url}{path}", data=b"x", method="POST")
            if origin:
                request.add_header("Origin", origin)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=5)
            assert refused.value.code == 403
    # From the app's own origin, a made-up ticket sets no cookie.
    request = urllib.request.Request(f"{app_url}/_avtale/session", data=b"x", method="POST")
    request.add_header("Origin", app_url)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403 and "set-cookie" not in refused.value.headers
