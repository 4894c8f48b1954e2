"""Customers as the pickers and the customer card read them (SPEC R1)."""

from __future__ import annotations

import streamlit as st

from avtale.services import customers
from avtale.services.customers import CustomerCard
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def customer_choices(url: str, version: Version, active_only: bool = False) -> dict[str, str]:
    return customers.customer_choices(opened(url), active_only)


@st.cache_data(ttl=TTL)
def customer_card(url: str, version: Version, number: str) -> CustomerCard | None:
    return customers.customer_card(opened(url), number)
