"""Who is logged in, and what their role lets them see and do (SPEC X2).

The session keeps only the username and the id of its login session. Every run reads the
user back from the database, so a deactivation or a role change by an admin takes effect
on the user's next click, not at their next login; and every run checks the login session
is still live, so a log-out in one tab logs out every tab.

A login outlives a reload, a new tab and a pasted link: the page hands the login's
one-time ticket to the server, which sets an HttpOnly cookie (``server.py``); a new
browser session reads the cookie and resumes the login while the database says it lives.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import streamlit as st

from avtale.services import users
from avtale.settings import paths
from avtale.signing.tokens import secret_key
from common import account_reads, database, fmt

USER_KEY = "user"
SESSION_KEY = "login_session"
TICKET_KEY = "login_ticket"
CLEAR_COOKIE_KEY = "login_clear_cookie"
CLIENT_KEY = "login_client"
# The cookie server.py sets; its name is also in server.py, which Streamlit pages cannot import.
COOKIE = "avtale_staff_session"
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
    locale: str = fmt.DEFAULT_LOCALE

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


def current_user() -> SignedIn | None:
    """The logged-in, still active user, or None (and logged out if no longer active)."""
    username = st.session_state.get(USER_KEY) or _resume()
    if not username:
        return None
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is not None and not users.session_is_live(database.database(), session_id):
        log_out()
        return None
    account = account_reads.account(username)
    if account is None or not account.active:
        log_out()
        return None
    # Every value this run shows is formatted in the user's locale (``common.fmt``).
    st.session_state[fmt.LOCALE_KEY] = account.locale
    return SignedIn(account.username, account.role, account.locale)


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


def _resume() -> str | None:
    """The user of the login this browser's cookie carries, when it is still live."""
    token = st.context.cookies.get(COOKIE)
    if not token:
        return None
    found = users.resume_session(database.database(), token, secret_key(paths()))
    if found is None:
        return None
    st.session_state[USER_KEY] = found.username
    st.session_state[SESSION_KEY] = found.id
    return found.username


def log_in(username: str, session_id: int, ticket: str) -> None:
    st.session_state[USER_KEY] = username
    st.session_state[SESSION_KEY] = session_id
    st.session_state[TICKET_KEY] = ticket


def keep_session() -> None:
    """After a login, have the browser exchange the ticket for the session cookie (once)."""
    ticket = st.session_state.pop(TICKET_KEY, None)
    if ticket:
        _post("/_avtale/session", ticket)


def forget_cookie() -> None:
    """After a log-out, have the browser drop the cookie (the server already ended it)."""
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        _post("/_avtale/logout", "")


def _post(path: str, body: str) -> None:
    # json.dumps quotes the value for the script; a ticket is URL-safe base64 anyway.
    script = (
        f"<script>fetch({json.dumps(path)}, {{method: 'POST', body: {json.dumps(body)}, "
        "credentials: 'same-origin', cache: 'no-store'})</script>"
    )
    st.html(script, unsafe_allow_javascript=True)


def log_out() -> None:
    """End the login session everywhere, then forget everything this session held, so the
    next user on this browser starts clean."""
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is not None:
        users.log_out(database.database(), session_id)
    for name in list(st.session_state):
        del st.session_state[name]
    # The cookie may still be sent until the browser drops it; it no longer logs anyone in.
    st.session_state[CLEAR_COOKIE_KEY] = True
