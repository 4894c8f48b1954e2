"""Contracts as the contract page reads them: the picker, the current version with its
history, and two versions side by side (SPEC R2-R4)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from avtale.services import contracts
from avtale.services.contracts import ContractView
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def contract_choices(url: str, version: Version) -> dict[str, str]:
    return contracts.contract_choices(opened(url))


@st.cache_data(ttl=TTL)
def contract_view(url: str, version: Version, number: str) -> ContractView | None:
    return contracts.contract_view(opened(url), number)


@st.cache_data(ttl=TTL)
def comparison(url: str, version: Version, number: str, old: int, new: int) -> pd.DataFrame:
    return contracts.comparison(opened(url), number, old, new)
