"""The search box and the filter on contract terms of Customers & contracts (SPEC R1, R3),
on the agreements entered in Avtale."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from avtale.services import search
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def search_hits(url: str, version: Version, text: str) -> pd.DataFrame:
    return search.search(opened(url), text)


@st.cache_data(ttl=TTL)
def portfolio(
    url: str,
    version: Version,
    auto_renew: bool | None,
    min_notice_months: int | None,
    ends_before: date | None,
    status: str | None,
) -> pd.DataFrame:
    return search.portfolio(opened(url), auto_renew, min_notice_months, ends_before, status)
