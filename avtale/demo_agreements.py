"""A few agreements in the operational database for the demo, so the guided flow, the
renegotiation and the inbox can be tried at once: four customers (Norway, Sweden, Denmark,
Germany) with a signer, billing details and a signed licence contract each, and one open
proposal. Organisation numbers are fictional with valid check digits (Peppol checks them).

Only an operational database without customers gets them; running the demo again adds
nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from avtale.dates import add_months
from avtale.dates import today as business_today
from avtale.repository import agreements
from avtale.repository.models import Customer, CustomerBilling
from avtale.repository.service import add_contact, create_contract, create_customer

ACTOR = "demo"

# name, org number, country, currency, signer, title, licences, unit price, months ago
CUSTOMERS = [
    ("Nordlys Regnskap AS", "912 345 688", "NO", "NOK", "Åse Berg", "Daglig leder", 40, 149, 20),
    ("Mälardalen Revision AB", "556677-8899", "SE", "SEK", "Karin Lind", "VD", 60, 139, 14),
    ("Øresund Logistik ApS", "DK 31 24 56 72", "DK", "DKK", "Søren Kjær", "CFO", 120, 99, 30),
    ("Rheinblick Treuhand GmbH", "HRB 12345", "DE", "EUR", "Jürgen Weiß", "CEO", 15, 13, 8),
]


# country -> street, postcode, city of the demo customers' invoice addresses
ADDRESSES = {
    "NO": ("Storgata 1", "0155", "Oslo"),
    "SE": ("Drottninggatan 12", "111 51", "Stockholm"),
    "DK": ("Havnegade 7", "1058", "København K"),
    "DE": ("Rheinallee 3", "55118", "Mainz"),
}


def billing_details(customer: Customer) -> CustomerBilling:
    """Where a demo customer is invoiced: an address and an e-mail under example.com (a
    domain that receives no mail), so the daily job's e-mails have somewhere to go."""
    street, postcode, city = ADDRESSES[customer.country or "NO"]
    return CustomerBilling(
        customer_id=customer.id,
        street=street,
        postcode=postcode,
        city=city,
        email=f"invoices@{mailbox(customer.name)}.example.com",
    )


def mailbox(name: str) -> str:
    """A demo company's or person's first name as an e-mail part, in plain ASCII."""
    return name.split()[0].lower().translate(str.maketrans("åäæöøéü", "aaaooeu"))


def seed_agreements(session: Session, owner: str, today: date | None = None) -> int:
    """The demo customers and contracts; the number of customers added (0 if any exist)."""
    today = today or business_today()
    if session.scalar(select(func.count(Customer.id))):
        return 0
    first = None
    for name, org, country, currency, signer, title, licences, price, months in CUSTOMERS:
        customer = create_customer(
            session, ACTOR, {"name": name, "org_number": org, "country": country, "owner": owner}
        )
        # With an e-mail address, so a demo proposal can be sent for signature.
        email = f"{mailbox(signer)}@{mailbox(name)}.example.com"
        contact = {"name": signer, "title": title, "email": email, "may_sign": True}
        add_contact(session, ACTOR, customer, contact)
        session.add(billing_details(customer))
        start = add_months(today.replace(day=1), -months)
        create_contract(
            session,
            ACTOR,
            customer,
            {
                "title": f"{name} Assist",
                "signed_date": start - timedelta(days=10),
                "start_date": start,
                "term_months": 36,
                "notice_months": 3,
                "auto_renew": True,
                "currency": currency,
                "price_adjustment_rule": "cpi",
                "payment_terms_days": 30,
            },
            [
                {
                    "product": "Assist licence",
                    "quantity": licences,
                    "unit_price": price,
                    "billing_period": "monthly",
                }
            ],
        )
        first = first or customer
    assert first is not None
    agreements.start_proposal(session, owner, first, today=today)
    return len(CUSTOMERS)
