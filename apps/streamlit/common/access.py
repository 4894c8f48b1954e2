"""Who is logged in, and what their role lets them see and do (SPEC X2).

The session keeps only the username. Every run reads the user back from the database,
so a deactivation or a role change by an admin takes effect on the user's next click,
not at their next login.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import streamlit as st

from avtale.services import users
from common import account_reads

USER_KEY = "user"
CLIENT_KEY = "login_client"
ROLE_NAMES = {
    "leadership": "Leadership",
    "analyst": "Analyst",
    "sales_ops": "Sales ops",
    "admin": "Admin",
}


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


def current_user() -> SignedIn | None:
    """The logged-in, still active user, or None (and logged out if no longer active)."""
    username = st.session_state.get(USER_KEY)
    if not username:
        return None
    account = account_reads.account(username)
    if account is None or not account.active:
        log_out()
        return None
    return SignedIn(account.username, account.role)


def user() -> SignedIn:
    """The user of this run, for pages (the frame lets no one in without one)."""
    signed_in = current_user()
    if signed_in is None:
        st.stop()
    return signed_in


def may(action: str) -> bool:
    signed_in = current_user()
    return signed_in is not None and users.can(signed_in.role, action)


def client() -> str:
    """Who is trying to log in, for the throttle (``users.log_in``): the address of the
    connection, or an id of this browser session where Streamlit gives none (localhost).

    Behind a reverse proxy every client has the proxy's address and shares its counter;
    the per-name counter, which decides the lock, does not depend on it.
    """
    address = st.context.ip_address
    if address:
        return f"ip:{address}"
    if CLIENT_KEY not in st.session_state:
        st.session_state[CLIENT_KEY] = secrets.token_hex(8)
    return f"session:{st.session_state[CLIENT_KEY]}"


def log_in(username: str) -> None:
    st.session_state[USER_KEY] = username


def log_out() -> None:
    # Forget everything the session held, so the next user on this browser starts clean.
    for name in list(st.session_state):
        del st.session_state[name]
