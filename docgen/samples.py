"""A document context with every documented field filled: templates are validated by
rendering against it, and tests start from it. Treat it as read-only (deep-copy to change).
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

_LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">'
    '<circle cx="20" cy="20" r="19" fill="#1d4ed8"/>'
    '<path d="M7 26 Q14 10 20 22 T33 14" fill="none" stroke="#a7f3d0" stroke-width="3"/>'
    "</svg>"
)
SAMPLE_LOGO = "data:image/svg+xml;base64," + base64.b64encode(_LOGO_SVG.encode()).decode()

SAMPLE_CONTEXT: dict[str, Any] = {
    "document": {
        "number": "OF-000123",
        "title": "Avtale om Assist Plus",
        "purpose": "agreement",
        "language": "nb",
        "date": date(2026, 1, 15),
        "version": 1,
        "status": "draft",
    },
    "seller": {
        "name": "Nordlys Programvare AS",
        "org_number": "NO 999 888 777 MVA",
        "address": "Storgata 1, 0155 Oslo, Norge",
        "email": "salg@nordlys.example",
        "phone": "+47 22 00 00 00",
        "logo": SAMPLE_LOGO,
    },
    "customer": {
        "name": "Fjordkraft Logistikk AS",
        "customer_number": "K-10442",
        "org_number": "NO 912 345 678",
        "country": "NO",
        "address": "Havnegata 12, 5003 Bergen",
    },
    "contract": {
        "number": "AVT-2026-0042",
        "title": "Assist Plus for kundeservice",
        "owner": "Kari Nordmann",
        "start_date": date(2026, 2, 1),
        "end_date": date(2029, 1, 31),
        "term_months": 36,
        "lock_in_months": 12,
        "notice_months": 3,
        "auto_renew": True,
        "renewal_term_months": 12,
        "payment_terms_days": 30,
        "currency": "NOK",
        "sla": "Premium: svar innen fire arbeidstimer",
        "price_adjustment_rule": "Konsumprisindeksen (KPI), årlig per 1. januar",
        "price_adjustment_pct": Decimal("3.5"),
        "signing_deadline": date(2026, 1, 31),
        "previous_number": "AVT-2023-0007",
        "effective_date": date(2025, 4, 1),
    },
    "lines": [
        {
            "product": "ASSIST-PLUS",
            "description": "Assist Plus-lisens, per bruker",
            "quantity": Decimal("25"),
            "unit_price": Decimal("249.00"),
            "discount_percent": Decimal("10"),
            "discount_end_date": date(2026, 12, 31),
            "billing_period": "monthly",
            "billing_interval_months": 1,
            "period_amount": Decimal("5602.50"),
            "mrr": Decimal("5602.50"),
            "recurring": True,
        },
        {
            "product": "DIGITAL-ONBOARDING",
            "description": "Digital oppstart og opplæring",
            "quantity": Decimal("1"),
            "unit_price": Decimal("4900.00"),
            "discount_percent": Decimal("20"),
            "discount_end_date": date(2026, 1, 31),
            "billing_period": "one_off",
            "billing_interval_months": 0,
            "period_amount": Decimal("3920.00"),
            "mrr": Decimal("0.00"),
            "recurring": False,
        },
    ],
    "totals": {
        "mrr": Decimal("5602.50"),
        "arr": Decimal("67230.00"),
        "one_off": Decimal("3920.00"),
        "currency": "NOK",
    },
    "changes": [
        {"label": "Antall brukere", "old": "20", "new": "25"},
        {"label": "Tjenestenivå", "old": "Standard", "new": "Premium"},
    ],
    "clauses": [
        {
            "key": "confidentiality",
            "version": 2,
            "title": "Konfidensialitet",
            "body": "Partene skal behandle informasjon om den andre parten konfidensielt.\n\n"
            "Plikten gjelder også etter at avtalen er opphørt.",
        }
    ],
    "free_text": "Kunden får tilgang til testmiljø fra signering.",
    "signatories": {
        "seller": {"name": "Kari Nordmann", "title": "Salgssjef"},
        "customer": {"name": "Ola Hansen", "title": "Daglig leder"},
    },
    "invoice": {
        "number": "F-2026-0101",
        "issue_date": date(2026, 2, 1),
        "due_date": date(2026, 3, 3),
        "period_start": date(2026, 2, 1),
        "period_end": date(2026, 2, 28),
        "net": Decimal("9522.50"),
        "vat_rate": Decimal("25"),
        "vat_category": "S",
        "vat_note": "",
        "vat": Decimal("2380.63"),
        "gross": Decimal("11903.13"),
        "kind": "invoice",
        # Filled so templates are checked with it; only a credit note has it.
        "corrects": "F-2026-0042",
        "payment_reference": "0001016",
        "payment_reference_kind": "KID",
        "account": "12345678903",
        "account_scheme": "domestic",
        "bic": "DNBANOKK",
        "vat_breakdown": [
            {
                "category": "S",
                "rate": Decimal("25"),
                "base": Decimal("9522.50"),
                "vat": Decimal("2380.63"),
            }
        ],
    },
}
