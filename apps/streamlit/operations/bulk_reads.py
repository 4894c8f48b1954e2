"""The Bulk operations page's reads (SPEC A4), cached like every ``*_reads`` of the
operational database (``common.database``), and the installed assets to select contracts
by, from the published marts. A preview is not among them: it reads what is there at that
moment, never a cached copy (``avtale.services.bulk.preview``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from avtale.services import bulk
from avtale.services.bulk import OperationSummary
from avtale.services.database import Version
from common.database import TTL, opened
from common.marts_reads import TTL as MARTS_TTL


@st.cache_data(ttl=TTL)
def active_contracts(url: str, version: Version) -> pd.DataFrame:
    return bulk.active_contracts(opened(url))


@st.cache_data(ttl=TTL)
def price_lists(url: str, version: Version) -> list[str]:
    return bulk.price_lists(opened(url))


@st.cache_data(ttl=TTL)
def recent(url: str, version: Version) -> list[OperationSummary]:
    return bulk.recent(opened(url))


@st.cache_data(ttl=MARTS_TTL)
def covered_assets(serving: str, version: int) -> pd.DataFrame:
    """Installed assets covered by a running contract, with the contract's id and source."""
    return bulk.covered_assets(Path(serving))
