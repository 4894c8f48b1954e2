"""The Upload page in a real browser: `streamlit run` on an empty data folder, Debian's
chromium choosing two files in the uploader as a user does (AppTest hands the script its
files without the upload over HTTP that a browser makes), and the load report on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from avtale.services import users
from avtale.services.database import close_database, database_at
from avtale.services.unit_of_work import System
from avtale.settings import Paths
from tests.test_browser import CHROMIUM, FLAGS, WAIT_MS, require_chromium, serving_app

pytestmark = pytest.mark.slow

USERNAME, PASSWORD = "anna", "fjord-analytics-2025"
CUSTOMERS = "customer_id,name,country\nB-1,Nettleser AS,NO\nB-2,,NO\n"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Paths]]:
    require_chromium()
    home = Paths(tmp_path_factory.mktemp("upload-browser") / "home").ensure()
    database = database_at(f"sqlite:///{home.home / 'avtale.db'}")
    assert users.create_user(database, System("test"), USERNAME, PASSWORD, "analyst").ok
    close_database(database)
    with serving_app(home, tmp_path_factory) as url:
        yield url, home


def test_files_chosen_in_chromium_load_with_their_report(
    app: tuple[str, Paths], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    url, home = app
    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8")
    colours = tmp_path / "colours.csv"
    colours.write_text("colour,flavour\nblue,salty\n", encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"{url}/upload")
            page.get_by_role("textbox", name="Username").fill(USERNAME)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_selector("h1:has-text('Upload')")

            page.locator("input[type=file]").set_input_files([customers, colours])
            page.wait_for_selector("text=colours.csv")  # both sent before the click
            page.get_by_role("button", name="Load files").click()
            page.wait_for_selector("text=2 file(s): 1 loaded, 1 not loaded")
            page.wait_for_selector("text=colours.csv was not loaded")
            page.screenshot(path=tmp_path / "upload.png", full_page=True)
        finally:
            browser.close()
    (archived,) = home.archive.rglob("customers.csv")
    assert archived.read_text(encoding="utf-8") == CUSTOMERS
    assert (home.rejected / "colours.csv").exists()
