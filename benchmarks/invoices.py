"""Invoices per second: ``avtale invoice run`` over a data folder of app contracts.

    python benchmarks/invoices.py [--contracts 10000] [--database URL]

Makes a fresh data folder (SQLite, or the empty PostgreSQL database ``--database`` names)
with that many customers, each with one active contract: 70 % monthly, 15 % quarterly and
15 % yearly licence lines, every third with a one-off set-up line, starting on a day of the
last twelve months, in Norway, Sweden and Denmark. Rows go in with bulk inserts (the forms'
validation and audit would take longer than the run measured). Then it times the first run
(one invoice per contract, with the periods since its start) and a second one, which must
issue nothing, and prints both; then reconciles what the run billed for recurring lines
with the contracted MRR × the months billed, per currency (the contracts have no changes,
so the two differ only by the rounding of each line to øre).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402  (after the path above, so it runs from a checkout)

from avtale.repository.db import session_scope  # noqa: E402
from avtale.repository.models import (  # noqa: E402
    Contract,
    ContractLine,
    ContractVersion,
    Customer,
    Invoice,
    InvoiceLine,
)
from avtale.services.database import Database, close_database, database_at  # noqa: E402
from avtale.services.invoices import run_invoices  # noqa: E402
from avtale.settings import Paths  # noqa: E402
from avtale.valuation import line_mrr  # noqa: E402
from avtale.vocabulary import period_months  # noqa: E402

TODAY = date(2026, 12, 1)
COUNTRIES = (("NO", "NOK"), ("SE", "SEK"), ("DK", "DKK"))
PERIODS = ("monthly",) * 14 + ("quarterly",) * 3 + ("yearly",) * 3


def norwegian_number(rng: random.Random) -> str:
    """A fictional organisation number with a valid MOD11 check digit."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        digits[0] = rng.randint(8, 9)
        remainder = sum(w * d for w, d in zip((3, 2, 7, 6, 5, 4, 3, 2), digits, strict=True)) % 11
        if remainder != 1:
            return "".join(map(str, digits)) + str((11 - remainder) % 11)


def swedish_number(rng: random.Random) -> str:
    digits = "55" + "".join(str(rng.randint(0, 9)) for _ in range(7))
    total = 0
    for index, char in enumerate(digits):
        doubled = int(char) * (2 if index % 2 == 0 else 1)
        total += doubled - 9 if doubled > 9 else doubled
    return digits + str(-total % 10)


def danish_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
        weighted = sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2), digits, strict=True))
        check = -weighted % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def portfolio(n: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    makers = {"NO": norwegian_number, "SE": swedish_number, "DK": danish_number}
    rows: dict[str, list[dict[str, Any]]] = {
        "customers": [],
        "contracts": [],
        "versions": [],
        "lines": [],
    }
    line_id = 0
    for i in range(1, n + 1):
        country, currency = COUNTRIES[i % len(COUNTRIES)]
        start = TODAY - timedelta(days=rng.randint(0, 364))
        rows["customers"].append(
            {"id": i, "customer_number": f"CU-{i:06d}", "name": f"Kunde {i} AS",
             "org_number": makers[country](rng), "country": country, "status": "active"}
        )  # fmt: skip
        rows["contracts"].append(
            {"id": i, "contract_number": f"CT-{i:06d}", "customer_id": i, "status": "active",
             "origin": "app"}
        )  # fmt: skip
        rows["versions"].append(
            {"id": i, "contract_id": i, "version_no": 1, "effective_date": start,
             "reason": "New contract", "author": "bench", "start_date": start, "term_months": 36,
             "end_date": start + timedelta(days=3 * 365), "auto_renew": True,
             "renewal_term_months": 12, "price_adjustment_rule": "none",
             "payment_terms_days": 30, "currency": currency, "custom_terms": {}}
        )  # fmt: skip
        line_id += 1
        rows["lines"].append(
            {"id": line_id, "version_id": i, "line_no": 1, "product": "Assist licence",
             "quantity": Decimal(rng.randint(1, 200)),
             "unit_price": Decimal(rng.choice((99, 149, 199, 349))),
             "discount_percent": Decimal(rng.choice((0, 0, 0, 10))),
             "billing_period": rng.choice(PERIODS), "start_date": start}
        )  # fmt: skip
        if i % 3 == 0:
            line_id += 1
            rows["lines"].append(
                {"id": line_id, "version_id": i, "line_no": 2, "product": "Onboarding",
                 "quantity": Decimal(1), "unit_price": Decimal(15000),
                 "discount_percent": Decimal(0), "billing_period": "one_off", "start_date": start}
            )  # fmt: skip
    return rows


def fill(db: Database, n: int) -> None:
    rows = portfolio(n)
    with db.engine.begin() as connection:
        for model, key in (
            (Customer, "customers"),
            (Contract, "contracts"),
            (ContractVersion, "versions"),
            (ContractLine, "lines"),
        ):
            connection.execute(insert(model), rows[key])


def reconcile(db: Database) -> dict[str, tuple[Decimal, Decimal]]:
    """Per currency: billed recurring net, and contracted MRR x months of the periods billed.
    (The portfolio's version and contract ids are equal: one version per contract.)"""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    with session_scope(db.engine, readonly=True) as session:
        rows = session.execute(
            select(Invoice.currency, InvoiceLine.net_amount, ContractLine)
            .join(Invoice, InvoiceLine.invoice_id == Invoice.id)
            .join(
                ContractLine,
                (ContractLine.version_id == Invoice.contract_id)
                & (ContractLine.line_no == InvoiceLine.contract_line_no),
            )
            .where(InvoiceLine.billing_period != "one_off")
        )
        for currency, net, line in rows:
            months = period_months(line.billing_period, line.billing_interval_months)
            assert months is not None  # a recurring line
            contracted = line_mrr(line) * months.numerator / months.denominator
            billed, owed = totals.get(currency, (Decimal(0), Decimal(0)))
            totals[currency] = (billed + net, owed + contracted)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--database", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="avtale-invoices-") as folder:
        home = Paths(Path(folder)).ensure()
        os.environ["AVTALE_HOME"] = str(home.home)
        url = args.database or f"sqlite:///{home.home / 'avtale.db'}"
        db = database_at(url)
        started = time.perf_counter()
        fill(db, args.contracts)
        print(f"{args.contracts} contracts inserted in {time.perf_counter() - started:.1f} s")
        for label in ("first run", "second run"):
            started = time.perf_counter()
            report = run_invoices(db, home, TODAY, today=TODAY)
            elapsed = time.perf_counter() - started
            issued = len(report.invoices) + len(report.credit_notes)
            print(
                f"{label}: {issued} documents in {elapsed:.1f} s = {issued / elapsed:.0f} "
                f"invoices/s ({report.contracts / elapsed:.0f} contracts/s checked); "
                f"{len(report.failed)} not invoiced"
            )
        for currency, (billed, contracted) in sorted(reconcile(db).items()):
            print(
                f"{currency}: billed recurring {billed:,.2f}, contracted MRR x months "
                f"{contracted:,.2f}, difference {billed - contracted:,.4f}"
            )
        close_database(db)


if __name__ == "__main__":
    main()
