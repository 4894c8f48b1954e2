"""The reads of the guided agreement flow and the inbox (SPEC C), cached like every
``*_reads`` of the operational database (``common.database``): keyed by the database URL
and its version, so any write misses the cache."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from avtale.services import agreements
from avtale.services.agreements import PendingApproval, ProposalView
from avtale.services.database import Version
from common.database import TTL, opened

# The teams the routing rules send tasks to, in the order the inbox lists them.
TEAMS = {
    "invoicing": "Invoicing",
    "customer_success": "Customer success",
    "sales_registration": "Sales registration",
}


# --- proposals ----------------------------------------------------------------------


@st.cache_data(ttl=TTL)
def proposal_view(url: str, version: Version, number: str) -> ProposalView | None:
    return agreements.proposal_view(opened(url), number)


@st.cache_data(ttl=TTL)
def open_proposals(url: str, version: Version) -> pd.DataFrame:
    return agreements.open_proposals(opened(url))


@st.cache_data(ttl=TTL)
def open_renegotiation(url: str, version: Version, contract_number: str) -> str | None:
    return agreements.open_renegotiation(opened(url), contract_number)


@st.cache_data(ttl=TTL)
def catalogue(url: str, version: Version) -> dict[str, dict[str, Any]]:
    return agreements.catalogue(opened(url))


@st.cache_data(ttl=TTL)
def price_lists(url: str, version: Version) -> list[str]:
    return agreements.price_lists(opened(url))


# --- inbox --------------------------------------------------------------------------


@st.cache_data(ttl=TTL)
def open_tasks(url: str, version: Version) -> pd.DataFrame:
    return agreements.open_tasks(opened(url))


@st.cache_data(ttl=TTL)
def pending_approvals(url: str, version: Version) -> list[PendingApproval]:
    return agreements.pending_approvals(opened(url))
