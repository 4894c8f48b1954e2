"""Customers, contracts and bank statements for the invoice register's tests.

Organisation numbers are fictional with valid check digits (Peppol checks them). Contracts
are made through the repository, as the app makes them; bank statements are written by
``avtale.billing.sample_statements`` (camt.053.001.02, as a Norwegian bank sends them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from avtale.billing.sample_statements import Transfer as Transfer
from avtale.billing.sample_statements import camt053 as camt053
from avtale.repository.models import Contract, ContractVersion, Customer, CustomerBilling
from avtale.repository.service import create_contract, create_customer

ACTOR = "ingrid"

# name, org number, country
NORWAY = ("Fjordkraft Kunde AS", "987 654 325", "NO")
SWEDEN = ("Mälardalen Kund AB", "556677-8899", "SE")
DENMARK = ("Øresund Kunde ApS", "DK 13748136", "DK")
USA = ("Boston Customer Inc.", "04-1234567", "US")


def customer(session: Session, who: tuple[str, str, str], **billing: Any) -> Customer:
    name, org, country = who
    made = create_customer(session, ACTOR, {"name": name, "org_number": org, "country": country})
    if billing:
        session.add(CustomerBilling(customer_id=made.id, **billing))
        session.flush()
    return made


def contract(
    session: Session, buyer: Customer, lines: list[dict[str, Any]], **terms: Any
) -> Contract:
    values = {"start_date": date(2026, 1, 1), "currency": "NOK", "payment_terms_days": 14}
    version: ContractVersion = create_contract(session, ACTOR, buyer, values | terms, lines)
    return version.contract


def monthly(quantity: int = 10, price: str = "100", **more: Any) -> dict[str, Any]:
    return {"product": "Assist licence", "quantity": quantity, "unit_price": price,
            "billing_period": "monthly"} | more  # fmt: skip


def setup_fee(price: str = "5000", **more: Any) -> dict[str, Any]:
    return {"product": "Onboarding", "quantity": 1, "unit_price": price,
            "billing_period": "one_off"} | more  # fmt: skip
