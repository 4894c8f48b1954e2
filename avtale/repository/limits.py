"""Sane bounds on what a contract or proposal may say (issue 10): unit prices, quantities,
term, lock-in and notice within ``limits.yaml`` (``avtale.settings.Limits``: the data
folder's own, else ``config/limits.yaml``); a signed date neither in the future
nor, for a new contract, after its start; and only currencies with a planning rate, so
every contract can be converted to the reporting currency and published.

Each problem is added to the caller's ``errors`` under its field, beside the ones
``validation.clean`` found, so a form shows them all at once.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from avtale.rules.loading import config_file
from avtale.serving import connect_serving, serving_version
from avtale.settings import DBT_PROJECT_DIR, Limits, Paths, load_limits, paths

FX_SEED = DBT_PROJECT_DIR / "seeds" / "fx_rates_default.csv"
CENT = Decimal("0.01")


@lru_cache(maxsize=4)
def _limits(path: Path, modified: int, size: int) -> Limits:
    return load_limits(path)


def current_limits(home: Paths | None = None) -> Limits:
    """The bounds in force: the data folder's limits.yaml, else the default (read again
    when the file changes)."""
    path = config_file((home or paths()).home, "limits.yaml")
    stat = path.stat()
    return _limits(path, stat.st_mtime_ns, stat.st_size)


# --- planning rates ---------------------------------------------------------------------


def _seed_rates() -> dict[str, Decimal]:
    with FX_SEED.open(encoding="utf-8") as seed:
        return {row["currency"]: Decimal(row["rate"]) for row in csv.DictReader(seed)}


@lru_cache(maxsize=4)
def _published_rates(serving: Path, version: int) -> dict[str, Decimal]:
    if not version:
        return {}
    try:
        with connect_serving(serving) as con:
            found = con.execute(
                "select currency, any_value(fx_rate) from contract_lines "
                "where fx_rate is not null group by currency"
            ).fetchall()
    except duckdb.Error:
        return {}  # a copy without the mart (not built yet): the built-in rates only
    return {currency: Decimal(str(rate)) for currency, rate in found}


def planning_rates(home: Paths | None = None) -> dict[str, Decimal]:
    """Currency -> units of the reporting currency per unit: the built-in rates (the dbt
    seed ``fx_rates_default``) and, where a serving copy is published, the rates its
    contract lines were converted at (loaded FX files replace and add currencies)."""
    serving = (home or paths()).serving
    return _seed_rates() | _published_rates(serving, serving_version(serving))


# --- the checks -------------------------------------------------------------------------


def check_contract(
    terms: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    errors: dict[str, str],
    *,
    today: date,
    new: bool,
    currency: str | None = None,
    home: Paths | None = None,
) -> None:
    """Add to ``errors`` what in the parsed ``terms`` and ``lines`` (in the order the user
    gave them, keyed ``lines[i].field``) is beyond a bound. ``new``: a first version,
    whose signed date must not be after its start (a revision is signed later).
    ``currency``: the prices' currency when ``terms`` does not give one."""
    limits = current_limits(home)
    rates = planning_rates(home)
    if terms.get("currency") and terms["currency"] not in rates:
        errors.setdefault(
            "currency",
            f"{terms['currency']} has no planning rate: use one of "
            f"{', '.join(sorted(rates))}, or load an FX rates file with it first",
        )
    currency = terms.get("currency") or currency
    for field, most in (
        ("term_months", limits.max_term_months),
        ("renewal_term_months", limits.max_term_months),
        ("lock_in_months", limits.max_lock_in_months),
        ("notice_months", limits.max_notice_months),
    ):
        value = terms.get(field)
        if value is not None and value > most:
            errors.setdefault(field, f"must be at most {most} months")
    _check_signed(terms, errors, today=today, new=new)
    most_price = most_unit_price(currency, limits, rates)
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]."
        price, quantity = line.get("unit_price"), line.get("quantity")
        if most_price is not None and price is not None and price > most_price:
            errors.setdefault(
                prefix + "unit_price", f"must be at most {most_price:,.2f} {currency} per unit"
            )
        if quantity is not None and quantity > limits.max_quantity:
            errors.setdefault(prefix + "quantity", f"must be at most {limits.max_quantity:,}")


def most_unit_price(
    currency: str | None, limits: Limits, rates: Mapping[str, Decimal]
) -> Decimal | None:
    """The highest sane unit price in ``currency``: ``max_unit_price`` (in the reporting
    currency) at the currency's planning rate; None for a currency without one."""
    rate = rates.get(currency or "")
    return (limits.max_unit_price / rate).quantize(CENT, ROUND_DOWN) if rate else None


def _check_signed(
    terms: Mapping[str, Any], errors: dict[str, str], *, today: date, new: bool
) -> None:
    signed, start = terms.get("signed_date"), terms.get("start_date")
    if signed is None:
        return
    if signed > today:
        errors.setdefault("signed_date", "cannot be in the future")
    elif new and start is not None and signed > start:
        errors.setdefault(
            "signed_date", f"must be on or before the start date ({start.isoformat()})"
        )
