"""An Odoo 17 export, end to end: ingest, refresh, published marts, right to the cent.

The sample export (tests/data/odoo/labels) computed by hand, SPEC IX M1-M4, at the
planning rates DKK 1.55 and EUR 11.6:

- S00001, Bølgen Regnskap AS, monthly, in progress from 15 January 2025:
  10 x 99.90 + 1 x 400.00 x (1 - 12.5 %) = 999.00 + 350.00 = 1 349.00 NOK.
- S00002, Ærø Logistik ApS, yearly, churned, 1 February to 30 April 2025:
  12 x 1 234.50 x 0.9 / 12 = 1 111.05 DKK = 1 722.1275 NOK (1 722.13 shown).
- S00003, Müller Straßenbau GmbH, 3 Months (quarterly), paused from 1 March 2025:
  3 x 300 / 3 = 300 EUR = 3 480.00 NOK (a paused subscription is still MRR).
- S00004, a quotation, and S00005, an upsell (its lines are in the order it upsells
  in Odoo), are no MRR.
- S00006, Fjord Kro AS, monthly, churned from 1 January 2025 with no end date: the log
  closes it on 20 March, so it ends 19 March and is gone from March: 2 x 250 = 500 NOK
  in January and February.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from avtale.cli import refresh
from avtale.dates import today
from avtale.pipeline import ingest
from avtale.serving import connect_serving
from avtale.settings import Paths

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).parent / "data" / "odoo" / "labels"
FOREVER = date(9999, 12, 1)
# customer -> (first month, month after the last, MRR in NOK)
EXPECTED = {
    "odoo:Bølgen Regnskap AS": (date(2025, 1, 1), FOREVER, 1349.00),
    "odoo:Ærø Logistik ApS": (date(2025, 2, 1), date(2025, 5, 1), 1111.05 * 1.55),
    "odoo:Müller Straßenbau GmbH": (date(2025, 3, 1), FOREVER, 3480.00),
    "odoo:Fjord Kro AS": (date(2025, 1, 1), date(2025, 3, 1), 500.00),
}


def months_through(last: date) -> list[date]:
    out, month = [], date(2025, 1, 1)
    while month <= last:
        out.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def expected_mrr(customer: str, month: date) -> float:
    first, after, mrr = EXPECTED[customer]
    return mrr if first <= month < after else 0.0


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Paths:
    folder = tmp_path_factory.mktemp("odoo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AVTALE_HOME", str(folder))
        patch.delenv("AVTALE_DATABASE_URL", raising=False)
        home = Paths(folder).ensure()
        report = ingest(home, [SAMPLES])
        assert report.ok and sum(f.rows_quarantined for f in report.files) == 0, report.format()
        assert refresh(home)
        yield home


def rows(home: Paths, sql: str) -> list[tuple]:
    with connect_serving(home.serving) as con:
        return con.execute(sql).fetchall()


def test_customer_months_are_right_to_the_cent(built: Paths) -> None:
    current = today().replace(day=1)
    got = {
        (customer, month): mrr
        for customer, month, mrr in rows(
            built,
            "SELECT customer_id, month, mrr FROM customer_months "
            f"WHERE customer_id LIKE 'odoo:%' AND month <= DATE '{current}'",
        )
    }
    expected = {
        (customer, month): expected_mrr(customer, month)
        for customer, (first, _, _) in EXPECTED.items()
        for month in months_through(current)
        if month >= first
    }
    assert set(got) == set(expected)
    wrong = {
        key: (got[key], value)
        for key, value in expected.items()
        if round(got[key], 2) != round(value, 2) or abs(got[key] - value) > 1e-9
    }
    assert wrong == {}


def test_movements_and_contracts_follow_the_subscriptions(built: Paths) -> None:
    movements = rows(
        built,
        "SELECT customer_id, month, movement, round(amount, 2) FROM mrr_movements "
        "WHERE customer_id LIKE 'odoo:%' ORDER BY month, customer_id",
    )
    assert movements == [
        ("odoo:Bølgen Regnskap AS", date(2025, 1, 1), "new", 1349.00),
        ("odoo:Fjord Kro AS", date(2025, 1, 1), "new", 500.00),
        ("odoo:Ærø Logistik ApS", date(2025, 2, 1), "new", 1722.13),
        ("odoo:Fjord Kro AS", date(2025, 3, 1), "churn", -500.00),
        ("odoo:Müller Straßenbau GmbH", date(2025, 3, 1), "new", 3480.00),
        ("odoo:Ærø Logistik ApS", date(2025, 5, 1), "churn", -1722.13),
    ]
    contracts = rows(
        built,
        "SELECT source_id, source_system, customer_id, status, end_date, termination_reason "
        "FROM contracts WHERE source_system = 'odoo' ORDER BY source_id",
    )
    assert contracts == [
        ("S00001", "odoo", "odoo:Bølgen Regnskap AS", "active", None, None),
        (
            "S00002",
            "odoo",
            "odoo:Ærø Logistik ApS",
            "terminated",
            date(2025, 4, 30),
            "Too expensive",
        ),
        ("S00003", "odoo", "odoo:Müller Straßenbau GmbH", "active", None, None),
        (
            "S00006",
            "odoo",
            "odoo:Fjord Kro AS",
            "terminated",
            date(2025, 3, 19),
            "Moved to a competitor",
        ),
    ]
    customers = rows(
        built, "SELECT source_id, owner FROM customers WHERE source_system = 'odoo' ORDER BY 1"
    )
    assert ("Göteborgs Måleri AB", "Kari Nordmann") in customers and len(customers) == 5


def test_odoo_and_avtale_agree_on_every_month(built: Paths) -> None:
    reconciliation = rows(
        built,
        "SELECT subscription_id, count(*), bool_and(is_reconciled), min(month), max(month) "
        "FROM odoo_mrr_reconciliation GROUP BY 1 ORDER BY 1",
    )
    current = today().replace(day=1)
    assert reconciliation == [
        ("S00001", len(months_through(current)), True, date(2025, 1, 1), current),
        ("S00002", 3, True, date(2025, 2, 1), date(2025, 4, 1)),
        ("S00003", len(months_through(current)) - 2, True, date(2025, 3, 1), current),
        ("S00006", 2, True, date(2025, 1, 1), date(2025, 2, 1)),
    ]
