"""The Renewals queue's reads (SPEC A3), cached like every ``*_reads`` of the operational
database (``common.database``)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from avtale.services import renewals
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def queue(url: str, version: Version, today: date) -> pd.DataFrame:
    return renewals.queue(opened(url), today)


@st.cache_data(ttl=TTL)
def recent_auto_renewals(url: str, version: Version, today: date) -> pd.DataFrame:
    return renewals.recent_auto_renewals(opened(url), today)
