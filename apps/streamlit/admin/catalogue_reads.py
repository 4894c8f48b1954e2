"""The product catalogue with its prices (SPEC C1, A4), and what an uploaded catalogue file
would change, for the Catalogue page; cached by the database's version, so an import (or
any write) misses the cache."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from avtale.services import catalogue
from avtale.services.database import Version
from avtale.services.unit_of_work import Outcome
from common.database import TTL, opened

PRODUCT_FIELDS = ["code", "name", "billing_period", "billing_interval_months", "licence", "active"]


@st.cache_data(ttl=TTL)
def price_table(url: str, version: Version) -> pd.DataFrame:
    """One row per product, its fields and a column per price list and currency
    (``standard NOK``), empty where the product has no price there."""
    long = catalogue.products(opened(url))
    rows: dict[str, dict[str, object]] = {}
    for item in long.itertuples(index=False):
        row = rows.setdefault(item.code, {name: getattr(item, name) for name in PRODUCT_FIELDS})
        if item.price_list is not None:
            row[f"{item.price_list} {item.currency}"] = item.unit_price
    prices = sorted({name for row in rows.values() for name in row} - set(PRODUCT_FIELDS))
    return pd.DataFrame(list(rows.values()), columns=[*PRODUCT_FIELDS, *prices])


@st.cache_data(ttl=TTL, show_spinner="Reading the file ...")
def preview(url: str, version: Version, actor: str, name: str, data: bytes) -> Outcome:
    """What importing the file would change, or every problem in it (nothing written)."""
    return catalogue.import_catalogue(opened(url), actor, name, data, dry_run=True)
