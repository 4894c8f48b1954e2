"""Avtale's Streamlit app: the frame around every page.

Page config, the login form, role-aware navigation and the shared sidebar live here; pages in
app_pages/ hold layout only, read through data.py (published marts) and ops_data.py
(the operational database), and write through forms.py.
"""

from __future__ import annotations

from datetime import datetime

import access
import data
import forms
import notifications_ui
import ops_data
import pandas as pd
import streamlit as st
import ui
from scope import FILTER_KEYS, current_scope
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from avtale.dates import business_zone
from avtale.repository import auth
from avtale.serving import NotPublishedError
from avtale.settings import paths

FILTER_LABELS = {"owner": "Owner", "country": "Country", "currency": "Currency"}

st.set_page_config(page_title="Avtale", layout="wide")

MRR_OVERVIEW = st.Page(
    "app_pages/mrr_overview.py", title="MRR overview", icon=":material/trending_up:", default=True
)
# The analytics pages: each runs inside dashboard_frame(), which draws the shared filters.
DASHBOARDS = [
    MRR_OVERVIEW,
    st.Page("app_pages/kpis.py", title="KPIs", icon=":material/monitoring:"),
    st.Page("app_pages/churn.py", title="Churn", icon=":material/trending_down:"),
    st.Page("app_pages/cohorts.py", title="Cohorts", icon=":material/grid_on:"),
    st.Page("app_pages/sales_team.py", title="Sales team", icon=":material/groups:"),
    st.Page("app_pages/forecast.py", title="Forecast", icon=":material/timeline:"),
    st.Page(
        "app_pages/portfolio.py", title="Portfolio health", icon=":material/health_and_safety:"
    ),
]
# section -> (what the role must be allowed, or a tuple of which any one will do, page); a
# page a role may not use is not in its navigation at all, so it cannot be opened by URL.
PAGES: dict[str, list[tuple[str | tuple[str, ...], st.Page]]] = {
    "Dashboards": [("read", dashboard) for dashboard in DASHBOARDS],
    "Operations": [
        (
            "read",
            st.Page("app_pages/search.py", title="Customers & contracts", icon=":material/search:"),
        ),
        (
            "read",
            st.Page("app_pages/customer.py", title="Customer card", icon=":material/business:"),
        ),
        ("read", st.Page("app_pages/contract.py", title="Contract", icon=":material/description:")),
        ("read", st.Page("app_pages/deadlines.py", title="Deadlines", icon=":material/event:")),
        (
            "read",
            st.Page(
                "app_pages/crm_customer.py", title="CRM customer", icon=":material/cloud_sync:"
            ),
        ),
        (
            "edit_agreements",
            st.Page(
                "app_pages/new_customer.py", title="New customer", icon=":material/add_business:"
            ),
        ),
        (
            "edit_agreements",
            st.Page("app_pages/new_contract.py", title="New contract", icon=":material/note_add:"),
        ),
        (
            "edit_agreements",
            st.Page(
                "app_pages/counterparty_paper.py",
                title="Counterparty paper",
                icon=":material/upload_file:",
            ),
        ),
        (
            "edit_agreements",
            st.Page(
                "app_pages/new_agreement.py", title="New agreement", icon=":material/handshake:"
            ),
        ),
        (
            # Sales ops work the routed tasks; leadership decides on discounts there.
            ("edit_agreements", "approve_discounts"),
            st.Page("app_pages/inbox.py", title="Inbox", icon=":material/inbox:"),
        ),
        (
            "edit_agreements",
            st.Page("app_pages/renewals.py", title="Renewals", icon=":material/autorenew:"),
        ),
        (
            "edit_agreements",
            st.Page("app_pages/bulk.py", title="Bulk operations", icon=":material/dynamic_feed:"),
        ),
        (
            "read",
            st.Page(
                "app_pages/notifications.py",
                title="Notifications",
                icon=":material/notifications:",
            ),
        ),
    ],
    "Admin": [
        ("manage_users", st.Page("app_pages/users.py", title="Users", icon=":material/group:")),
        (
            "manage_settings",
            st.Page(
                "app_pages/templates.py",
                title="Templates & clauses",
                icon=":material/article:",
            ),
        ),
    ],
}


def may_open(role: str, needs: str | tuple[str, ...]) -> bool:
    """Whether ``role`` has the permission a page needs (any one of several)."""
    return any(auth.can(role, action) for action in ((needs,) if isinstance(needs, str) else needs))


def pages_for(role: str) -> dict[str, list[st.Page]]:
    allowed = {
        section: [page for needs, page in pages if may_open(role, needs)]
        for section, pages in PAGES.items()
    }
    return {section: pages for section, pages in allowed.items() if pages}


def render_login() -> None:
    st.title("Log in to Avtale")
    url, version = ops_data.current()
    if not ops_data.has_users(url, version):
        st.info(
            "No users yet. Create the first administrator on the server:\n\n"
            "`avtale user add NAME --role admin`\n\n"
            "then log in here; the administrator adds everyone else under Admin → Users.",
            icon=":material/person_add:",
        )
    with st.form("login"):
        username = st.text_input("Username", key="login_username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="login_password", autocomplete="current-password"
        )
        if st.form_submit_button("Log in", type="primary", key="login_submit"):
            outcome = forms.log_in(ops_data.engine(), username, password, access.client())
            if outcome.ok:
                # The password must not linger in the session once it has done its job.
                st.session_state.pop("login_password", None)
                access.log_in(outcome.detail["username"])
                st.rerun()
            st.error(outcome.errors[forms.FORM].capitalize() + ".", icon=":material/error:")


def render_user(user: access.SignedIn) -> None:
    with st.sidebar:
        st.markdown(f"**{user.username}** · {user.role_name}")
        notifications_ui.bell(user)
        st.button("Log out", key="logout", on_click=access.log_out, icon=":material/logout:")


def render_filters(options: pd.DataFrame, published: datetime | None) -> None:
    with st.sidebar:
        st.subheader("Filters")
        for column, label in FILTER_LABELS.items():
            key = FILTER_KEYS[column]
            choices = sorted(options[column].dropna().unique().tolist())
            # A new publish can drop a value someone had picked; keep only known ones.
            picked = st.session_state.get(key) or []
            if any(value not in choices for value in picked):
                st.session_state[key] = [value for value in picked if value in choices]
            st.multiselect(label, choices, key=key, placeholder="All")
        if published is not None:
            st.caption(f"Data published {published.astimezone(business_zone()):%d %b %Y %H:%M %Z}")


def dashboard_frame() -> None:
    """The filters the dashboards share; stops with a hint when nothing is published."""
    scope = current_scope()
    try:
        filter_options = data.filter_options(scope.serving, scope.version)
        published = data.published_at(scope.serving, scope.version)
    except NotPublishedError:
        st.info(
            "No data is published yet. Run `avtale refresh` to build the marts from the "
            "files in the inbox, or `avtale demo` to try Avtale on a demo portfolio.\n\n"
            f"Data folder: `{paths().home}`",
            icon=":material/info:",
        )
        st.stop()
    render_filters(filter_options, published)


try:
    ops_data.current()  # opens the database, and brings its schema up to date on first use
    user = access.current_user()
except SQLAlchemyError as problem:
    # A PostgreSQL server that is down or a URL with a typo: say which, not a traceback.
    shown_url = make_url(ops_data.database()).render_as_string(hide_password=True)
    st.error(
        f"Cannot open the operational database `{shown_url}`: {problem.__class__.__name__}. "
        "Check `AVTALE_DATABASE_URL` and that the server is running.",
        icon=":material/error:",
    )
    st.stop()
if user is None:
    # Every page's address is known but none runs: a bookmarked link to a customer card
    # waits behind the login form instead of "page not found", and opens once logged in.
    st.navigation([page for pages in PAGES.values() for _, page in pages], position="hidden")
    render_login()
    st.stop()

page = st.navigation(pages_for(user.role))
render_user(user)
ui.show_flash()
if any(page is dashboard for dashboard in DASHBOARDS):
    dashboard_frame()
page.run()
