"""The Users page's reads: everyone who can log in, and who is locked out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from avtale.services import users
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def user_list(url: str, version: Version) -> pd.DataFrame:
    return users.users(opened(url))


@st.cache_data(ttl=TTL)
def locked_users(url: str, version: Version) -> list[str]:
    """Users locked by failed logins (a lock is audited, so it changes the version)."""
    return users.locked_users(opened(url))
