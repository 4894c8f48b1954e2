"""The demo's operational data: one user per role with a fresh random password, the
built-in library, and on an empty database a few agreements to try the flow on; then
their invoices, some paid and some overdue, so the billing pages are full."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.billing.sample_statements import Transfer, camt053
from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.demo_agreements import ACTOR, CUSTOMERS, seed_agreements
from avtale.repository import auth, library
from avtale.repository.models import User
from avtale.services import invoices
from avtale.services.database import Database
from avtale.services.invoices import run_invoices
from avtale.services.unit_of_work import MANAGE_USERS, Outcome, System, write
from avtale.settings import Paths

DEMO = System(ACTOR)


@dataclass(frozen=True)
class DemoSeed:
    agreements: int  # demo customers added, each with a contract
    # username -> (role, password) of the users made now; existing ones keep theirs.
    users: dict[str, tuple[str, str]]


def seed(db: Database, users: Mapping[str, str], owner: str) -> DemoSeed:
    """The users (username -> role) that do not exist yet, the built-in library and the demo
    agreements (owned by ``owner``), in one transaction."""

    def work(session: Session) -> Outcome:
        library.install_defaults(session)
        added = seed_agreements(session, owner=owner)
        created: dict[str, tuple[str, str]] = {}
        for username, role in users.items():
            if session.scalar(select(User.id).where(User.username == username)) is None:
                password = secrets.token_urlsafe(12)
                auth.create_user(session, ACTOR, username, password, role)
                created[username] = (role, password)
        return Outcome(detail={"seed": DemoSeed(added, created)})

    outcome = write(db, DEMO, MANAGE_USERS, work)
    if not outcome.ok:  # a built-in user or role the rules refuse: a bug, not user input
        raise RuntimeError(f"demo data refused: {outcome.errors}")
    seeded: DemoSeed = outcome.detail["seed"]
    return seeded


# --- the register: invoices issued, some paid, some overdue, e-invoices written ----------

# Months back to the first demo run; every month since gets its own run on its first day.
BILLED_MONTHS = 3
# country -> what its demo customer pays: every invoice, all but the newest, or nothing
PAYS = {"NO": "all", "SE": "all_but_newest", "DK": "nothing", "DE": "all"}


@dataclass(frozen=True)
class BillingDemo:
    invoices: list[str]
    payments: list[str]  # the import's report
    einvoices: int


def bill(db: Database, paths: Paths, today: date | None = None) -> BillingDemo | None:
    """On a register without invoices: a monthly invoice run on the first of each of the
    last ``BILLED_MONTHS`` months and today, a bank statement that pays what ``PAYS``
    says (and one payment nobody can place, for the queue), and the e-invoices into the
    outgoing folder, marked sent. None when the register has invoices already."""
    today = today or business_today()
    if not invoices.invoices_table(db, today).empty:
        return None
    first = add_months(today.replace(day=1), -BILLED_MONTHS)
    days = [add_months(first, months) for months in range(BILLED_MONTHS)] + [today]
    issued = []
    for day in days:
        issued += run_invoices(db, paths, day, today=day, actor=DEMO).invoices
    statement = camt053(
        *_payments(db, invoices.invoices_table(db, today), today),
        statement_id=f"{today:%Y%m%d}-DEMO",
        created=datetime.combine(today, time(22, 15)),
    )
    report = invoices.import_payments(db, DEMO, "demo-statement.xml", statement)
    export = invoices.export_ubl(db, invoices.outgoing_dir(paths))
    numbers = [path.stem for path in export.written]
    invoices.mark_sent(db, DEMO, numbers, "peppol")
    return BillingDemo(issued, report.lines(), len(numbers))


def _payments(db: Database, register: pd.DataFrame, today: date) -> list[Transfer]:
    """A transfer quoting the KID of every invoice its customer pays (ten days after it
    was issued), and one from a stranger."""
    due = register[register.kind == "invoice"].sort_values("issue_date")
    references = invoices.payment_references(db, list(due.number))
    transfers = []
    for customer, theirs in due.groupby("customer", sort=True):
        country = next(row[2] for row in CUSTOMERS if row[0] == customer)
        paid = {"all": theirs, "all_but_newest": theirs.iloc[:-1]}.get(PAYS[country])
        for row in (paid if paid is not None else theirs.iloc[:0]).itertuples():
            transfers.append(
                Transfer(
                    amount=f"{row.total:.2f}",
                    bank_reference=f"DEMO-{row.number}",
                    kid=references[row.number],
                    payer=customer,
                    currency=row.currency,
                    booked=min(row.issue_date + timedelta(days=10), today),
                )
            )
    transfers.append(
        Transfer(
            "1250.00", "DEMO-UNKNOWN", message="Lisens", payer="Ukjent Innbetaler AS", booked=today
        )  # fmt: skip
    )
    return transfers
