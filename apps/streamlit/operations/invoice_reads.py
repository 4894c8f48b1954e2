"""The invoice register's reads (SPEC B1, B2): the documents with their status today and
the payments no invoice took, cached like every ``*_reads`` of the operational database."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from avtale.services import invoices
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def register(
    url: str, version: Version, today: date, contract_number: str | None = None
) -> pd.DataFrame:
    """The register (or one contract's part of it), newest first; status as of ``today``."""
    return invoices.invoices_table(opened(url), today, contract_number=contract_number)


@st.cache_data(ttl=TTL)
def payment_queue(url: str, version: Version) -> pd.DataFrame:
    return invoices.payment_queue(opened(url))
