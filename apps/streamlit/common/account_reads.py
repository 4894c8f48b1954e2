"""The accounts the login form and ``access`` read: whether anyone can log in yet, and one
user's role and state."""

from __future__ import annotations

import streamlit as st

from avtale.services import users
from avtale.services.database import Version
from avtale.services.users import Account
from common.database import TTL, database, opened


@st.cache_data(ttl=TTL)
def has_users(url: str, version: Version) -> bool:
    return users.has_users(opened(url))


def account(username: str) -> Account | None:
    """The user's role and whether they are active. Not cached: who may do what must not
    hang on every change going through the audit log (a fix made straight in the database
    counts too), and one lookup by a unique name is cheap."""
    return users.account(database(), username)
