"""The words of the domain, defined once: billing periods and the months each covers, price
adjustment rules, deadline types, MRR movement types and user roles.

A leaf module (it imports nothing of the project), so the repository, the rules, the
document renderer, ingestion and the app can all import it without pulling in each other.
The dbt project says the same in its ``accepted_values`` tests and its ``billing_months``
and ``line_mrr`` macros; ``tests/test_vocabulary.py`` keeps the two equal.
"""

from __future__ import annotations

from fractions import Fraction

# Every billing period a source may carry, as the marts' accepted values list them.
BILLING_PERIODS = (
    "one_off",
    "weekly",
    "biweekly",
    "monthly",
    "quarterly",
    "half_yearly",
    "yearly",
    "two_yearly",
    "three_yearly",
    "four_yearly",
    "five_yearly",
    "every_n_months",
)
ONE_OFF = "one_off"
EVERY_N_MONTHS = "every_n_months"

# The periods a contract saved in the app may use (the operational database's CHECK
# constraint): the others only arrive in CRM and generic exports, and offering them in the
# app needs a migration and a label in every document language first.
APP_BILLING_PERIODS = tuple(
    period for period in BILLING_PERIODS if period not in ("biweekly", "four_yearly", "five_yearly")
)

# Months one billing period covers (SPEC IX M1), exact: a week is 12/52 of a month, so a
# weekly amount is worth amount x 52 / 12 a month, with no rounded 12/52 in between.
# One-off lines are not recurring (no entry); every_n_months covers its own interval.
PERIOD_MONTHS: dict[str, Fraction] = {
    "weekly": Fraction(12, 52),
    "biweekly": Fraction(24, 52),
    "monthly": Fraction(1),
    "quarterly": Fraction(3),
    "half_yearly": Fraction(6),
    "yearly": Fraction(12),
    "two_yearly": Fraction(24),
    "three_yearly": Fraction(36),
    "four_yearly": Fraction(48),
    "five_yearly": Fraction(60),
}

PRICE_ADJUSTMENT_RULES = ("none", "cpi", "fixed_pct")

# The deadline types of the published mart `contract_deadlines`.
DEADLINE_TYPES = (
    "expiry",
    "notice",
    "renegotiation_window",
    "lock_in_end",
    "price_adjustment",
    "discount_end",
    "next_renewal",
)

# The kinds of MRR movement in `mrr_movements` and `product_mrr_movements`.
MOVEMENT_TYPES = ("new", "expansion", "contraction", "churn", "reactivation")

ROLES = ("leadership", "analyst", "sales_ops", "admin")

# Fields as a reader names them where the plain rule (underscores to spaces, first letter
# capital: "unit_price" -> "Unit price") reads wrong.
FIELD_LABELS = {
    "customer_number": "Customer number",
    "org_number": "Org number",
    "email": "E-mail",
    "may_sign": "May sign",
    "sla": "SLA",
    "term_months": "Term (months)",
    "lock_in_months": "Lock-in (months)",
    "notice_months": "Notice (months)",
    "auto_renew": "Renews automatically",
    "renewal_term_months": "Renewal term (months)",
    "price_adjustment_pct": "Price adjustment %",
    "payment_terms_days": "Payment terms (days)",
    "discount_percent": "Discount %",
    "billing_interval_months": "Every N months",
    "terminated_date": "Last day",
    "line_no": "Line",
}


def field_label(field: str) -> str:
    """A field's name as a reader says it: "unit_price" -> "Unit price"."""
    return FIELD_LABELS.get(field) or field.replace("_", " ").capitalize()


# The locales a user reads the app in (numbers, dates, product names); the first is the
# default, the business's own: Norwegian (NOK, Europe/Oslo).
USER_LOCALES = ("nb", "da", "sv", "en")
DEFAULT_LOCALE = USER_LOCALES[0]


def period_months(billing_period: str, interval_months: int | None = None) -> Fraction | None:
    """Months one billing period covers; None for a one-off line (not recurring revenue)
    and for a period that is not one (``every_n_months`` without its interval included).

    An unknown period raises ValueError, so a typo never values a line at 0.
    """
    if billing_period == EVERY_N_MONTHS:
        return Fraction(interval_months) if interval_months else None
    if billing_period == ONE_OFF:
        return None
    try:
        return PERIOD_MONTHS[billing_period]
    except KeyError:
        raise ValueError(
            f"unknown billing period {billing_period!r}; use one of: {', '.join(BILLING_PERIODS)}"
        ) from None
