"""No code reaches the reader (issue 14, item 6): every page of the app, opened on the demo
portfolio with the app's own customers, contracts, invoices and a bulk operation undone,
shows billing periods, ids, operations and fields as words, and values in the user's
locale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from avtale.cli import refresh
from avtale.demo_data import write_demo_data
from avtale.pipeline import ingest
from avtale.services import bulk, demo, users
from avtale.services.database import close_database, open_database
from avtale.services.unit_of_work import System
from avtale.settings import STREAMLIT_APP, Paths
from tests.app_ops_fixtures import PASSWORD, as_user, open_page

pytestmark = pytest.mark.slow

# What must never be shown: a billing period's, an operation's or a field's code, a
# marts id with its source prefix, and a day or an amount in the warehouse's own form
# (``2027-02-11``, ``DKK 332640.00``) instead of the reader's (``11. feb. 2027``).
LEAKED = re.compile(
    r"\bone_off\b|\bundo_of\b|\bunit_price\b|\b(?:app|hubspot|generic|odoo):\S"
    r"|(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])|\b[A-Z]{3} \d+\.\d{2}\b"
)
APP_DIR = Path(STREAMLIT_APP).parent
# The template editor shows clause keys and conditions as an admin writes them: the
# codes are what is edited there.
EDITORS = {"admin/pages/templates.py"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    root = tmp_path_factory.mktemp("locale-demo")
    home = Paths(root / "home")
    write_demo_data(root / "exports", companies=60, seed=7)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AVTALE_HOME", str(home.home))
        env.setenv("DAGSTER_HOME", str(home.dagster_home))
        env.delenv("AVTALE_DATABASE_URL", raising=False)
        home.ensure()
        assert ingest(home, [root / "exports"]).ok
        db = open_database(home)
        try:
            assert users.create_user(db, System("setup"), "ada", PASSWORD, "admin").ok
            demo.seed(db, {"sally": "sales_ops"}, owner="sally")
            demo.bill(db, home)
            # A price update undone: the history says "Undo of operation #1".
            made = bulk.preview(
                db,
                "price_update",
                ["CT-000001"],
                percent="5",
                effective_date=demo.business_today(),
            )
            assert bulk.apply(db, "ada", made).ok  # type: ignore[arg-type]
            assert bulk.undo(db, "ada", 1).ok
        finally:
            close_database(db)
        assert refresh(home), "the demo refresh failed"
    return home


@pytest.fixture
def app(home: Paths, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    monkeypatch.delenv("AVTALE_DATABASE_URL", raising=False)
    return home


def shown_texts(at: AppTest) -> list[str]:
    """Everything a reader sees on the page: text, tiles, the choices of pickers, and the
    tables' headers and cells as displayed (visible columns only)."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "text", "info"):
        texts += [str(element.value) for element in at.get(kind)]
    for kind in ("warning", "success", "error", "expander"):
        texts += [str(getattr(element, "value", None) or element.label) for element in at.get(kind)]
    texts += [f"{m.label} {m.value} {m.delta or ''}" for m in at.metric]
    for kind in ("selectbox", "multiselect", "radio"):
        for element in at.get(kind):
            texts += [element.label, *map(str, element.options)]
    for table in at.dataframe:
        texts += table_texts(table)
    return texts


def table_texts(table: Any) -> list[str]:
    import json

    config = json.loads(table.proto.columns or "{}")
    frame = table.value
    styled = table.proto.arrow_data.styler.display_values
    if styled:
        frame = pa.ipc.open_stream(styled).read_all().to_pandas()
    order = list(table.proto.column_order) or list(frame.columns)
    # An editable table has no Styler: a column with its own display format shows its
    # values in that format (a date column as the locale's pickers do), not as stored.
    editable = table.proto.editing_mode != table.proto.EditingMode.READ_ONLY
    texts = []
    for column in order:
        entry = config.get(f"name:{column}") or config.get(str(column)) or {}
        if column not in frame.columns or entry.get("hidden"):
            continue
        texts.append(str(entry.get("label") or column))
        if editable and (entry.get("type_config") or {}).get("format"):
            continue
        texts += [str(value) for value in frame[column].head(50)]
    return texts


def pages() -> list[tuple[str, dict[str, str]]]:
    every = sorted(
        str(path.relative_to(APP_DIR))
        for path in APP_DIR.glob("*/pages/*.py")
        if path.name != "__init__.py"
    )
    return [(page, {}) for page in every if page not in EDITORS]


def test_no_page_shows_a_code(app: Paths) -> None:
    with duckdb.connect(str(app.serving), read_only=True) as con:
        (crm_customer,) = con.execute(
            "select customer_id from customers where source_system = 'hubspot' "
            "order by customer_id limit 1"
        ).fetchone()
    visits = pages() + [
        ("operations/pages/customer.py", {"customer": "CU-000001"}),
        ("operations/pages/contract.py", {"contract": "CT-000001"}),
        ("operations/pages/crm_customer.py", {"crm_customer": crm_customer}),
    ]
    at = as_user("ada")
    leaks = []
    seen = []
    for page, params in visits:
        open_page(at, page, **params)
        texts = shown_texts(at)
        seen += texts
        leaks += [(page, text[:200]) for text in texts if LEAKED.search(text)]
    assert leaks == [], "\n".join(map(str, leaks))
    # The scan saw what it is about: the app's contracts, CRM ones, the undo, periods.
    everything = "\n".join(seen)
    assert "CT-000001" in everything and "HubSpot " in everything
    assert "Undo of operation #1" in everything
    assert "One-off" in everything or "Monthly" in everything
    # and the warehouse's sentences, their days in the reader's form (nb "31. jan. 2027"):
    # the Deadlines list's and the health signals' details.
    nb_day = r"\d{1,2}\. [a-zø]+\.? \d{4}"
    assert re.search(
        rf"Last day to give notice \(\d+-month notice period\); the term ends {nb_day}", everything
    )


def test_a_norwegian_and_an_english_reader_see_the_same_invoice_their_way(app: Paths) -> None:
    """Amounts, days and months in the reader's locale: ada (nb) reads ``1 250,50 kr`` and
    ``3. des. 2026``; set to English, ``NOK1,250.50`` and ``3 Dec 2026``."""
    from avtale.services import invoices

    db = open_database(app)
    try:
        register = invoices.invoices_table(db)
    finally:
        close_database(db)
    first = register.iloc[-1]
    number, total, currency = str(first.number), float(first.total), str(first.currency)

    def card(locale: str) -> AppTest:
        db = open_database(app)
        try:
            assert users.set_contact_details(db, System("t"), "ada", {"locale": locale}).ok
        finally:
            close_database(db)
        return open_page(as_user("ada"), "operations/pages/invoices.py", invoice=number)

    from docgen.locale import Formatter

    norwegian = "\n".join(shown_texts(card("nb")))
    nb = Formatter("nb")
    assert nb.money(total, currency) in norwegian  # e.g. 1 250,50 kr, NBSP and all
    assert "status as of " + nb.date(demo.business_today(), "medium") in norwegian
    english = "\n".join(shown_texts(card("en")))
    en = Formatter("en")
    assert en.money(total, currency) in english  # NOK1,250.50
    assert "status as of " + en.date(demo.business_today(), "medium") in english
    assert nb.money(total, currency) not in english
