"""Avtale's Streamlit app: the frame around every page.

Page config, the login form, role-aware navigation and the shared sidebar live here. The
pages sit in a package per task (``dashboards``, ``operations``, ``agreements``,
``admin``), each page in its ``pages/`` folder and holding layout only; ``common`` holds
what every task shares. Modules named ``*_reads`` only read (the published marts, or the
operational database, cached); ``*_actions`` and ``*_forms`` draw the buttons and forms
that write, always through ``avtale.services``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from avtale.services import users
from avtale.services.database import DatabaseUnavailableError
from avtale.services.unit_of_work import FORM
from avtale.serving import NotPublishedError
from avtale.settings import SettingsError, load_settings, paths
from avtale.signing.tokens import secret_key
from common import access, account_reads, database, fmt, links, marts_reads, ui
from common.scope import FILTER_KEYS, current_scope
from operations import notification_bell

FILTER_LABELS = {"owner": "Owner", "country": "Country", "currency": "Currency"}

st.set_page_config(page_title="Avtale", layout="wide")

MRR_OVERVIEW = st.Page(
    links.MRR_OVERVIEW, title="MRR overview", icon=":material/trending_up:", default=True
)
# The forecast is computed for the whole portfolio, so the filters are not drawn on it.
FORECAST = st.Page(links.FORECAST, title="Forecast", icon=":material/timeline:")
# The analytics pages: each runs inside dashboard_frame(), which draws the shared filters.
DASHBOARDS = [
    MRR_OVERVIEW,
    st.Page(links.KPIS, title="KPIs", icon=":material/monitoring:"),
    st.Page(links.CHURN, title="Churn", icon=":material/trending_down:"),
    st.Page(links.COHORTS, title="Cohorts", icon=":material/grid_on:"),
    st.Page(links.SALES_TEAM, title="Sales team", icon=":material/groups:"),
    FORECAST,
    st.Page(links.PORTFOLIO, title="Portfolio health", icon=":material/health_and_safety:"),
]
# section -> (what the role must be allowed, or a tuple of which any one will do, page); a
# page a role may not use is not in its navigation, and its address says why (``refusal``).
PAGES: dict[str, list[tuple[str | tuple[str, ...], st.Page]]] = {
    "Dashboards": [("read", dashboard) for dashboard in DASHBOARDS],
    "Operations": [
        ("read", st.Page(links.SEARCH, title="Customers & contracts", icon=":material/search:")),
        ("read", st.Page(links.CUSTOMER, title="Customer card", icon=":material/business:")),
        ("read", st.Page(links.CONTRACT, title="Contract", icon=":material/description:")),
        ("read", st.Page(links.DEADLINES, title="Deadlines", icon=":material/event:")),
        ("read", st.Page(links.CRM_CUSTOMER, title="CRM customer", icon=":material/cloud_sync:")),
        (
            "edit_agreements",
            st.Page(links.NEW_CUSTOMER, title="New customer", icon=":material/add_business:"),
        ),
        (
            "edit_agreements",
            st.Page(links.NEW_CONTRACT, title="New contract", icon=":material/note_add:"),
        ),
        (
            "edit_agreements",
            st.Page(
                links.COUNTERPARTY_PAPER,
                title="Counterparty paper",
                icon=":material/upload_file:",
            ),
        ),
        (
            "edit_agreements",
            st.Page(links.NEW_AGREEMENT, title="New agreement", icon=":material/handshake:"),
        ),
        (
            # Sales ops work the routed tasks; leadership decides on discounts there.
            ("edit_agreements", "approve_discounts"),
            st.Page(links.INBOX, title="Inbox", icon=":material/inbox:"),
        ),
        ("edit_agreements", st.Page(links.RENEWALS, title="Renewals", icon=":material/autorenew:")),
        ("read", st.Page(links.INVOICES, title="Invoices", icon=":material/receipt_long:")),
        (
            "edit_agreements",
            st.Page(links.BULK, title="Bulk operations", icon=":material/dynamic_feed:"),
        ),
        ("upload_files", st.Page(links.UPLOAD, title="Upload", icon=":material/upload:")),
        (
            "read",
            st.Page(links.NOTIFICATIONS, title="Notifications", icon=":material/notifications:"),
        ),
    ],
    "Admin": [
        ("manage_users", st.Page(links.USERS, title="Users", icon=":material/group:")),
        (
            "manage_settings",
            st.Page(links.TEMPLATES, title="Templates & clauses", icon=":material/article:"),
        ),
        (
            "manage_settings",
            st.Page(links.CATALOGUE, title="Catalogue", icon=":material/sell:"),
        ),
    ],
}


def may_open(role: str, needs: str | tuple[str, ...]) -> bool:
    """Whether ``role`` has the permission a page needs (any one of several)."""
    return any(
        users.can(role, action) for action in ((needs,) if isinstance(needs, str) else needs)
    )


def pages_for(role: str) -> dict[str, list[st.Page]]:
    """The role's navigation: each page it may use once, in its section; the others hidden,
    so a bookmarked or pasted address says why instead of "page not found"."""
    shown = {
        section: [
            page if may_open(role, needs) else refusal(page, needs, role) for needs, page in pages
        ]
        for section, pages in PAGES.items()
    }
    visible = {
        section: pages
        for section, pages in shown.items()
        if any(page.visibility == "visible" for page in pages)
    }
    # A section none of whose pages the role may use still answers at their addresses.
    hidden = [page for section, pages in shown.items() if section not in visible for page in pages]
    return visible | ({"": hidden} if hidden else {})


def refusal(page: st.Page, needs: str | tuple[str, ...], role: str) -> st.Page:
    """A hidden stand-in at ``page``'s address that says which roles may open it."""
    title = page.title
    roles = [access.ROLE_NAMES[other] for other in users.ROLES if may_open(other, needs)]

    def refused() -> None:
        st.title(title)
        st.warning(
            f"Your role ({access.ROLE_NAMES.get(role, role)}) may not open {title}: it is for "
            f"{', '.join(roles)}. An admin can change your role under Admin → Users.",
            icon=":material/lock:",
        )

    refused.__name__ = f"refused_{page.url_path}"
    return st.Page(refused, title=title, url_path=page.url_path, visibility="hidden")


def render_login() -> None:
    access.forget_cookie()
    st.title("Log in to Avtale")
    url, version = database.current()
    if not account_reads.has_users(url, version):
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
            outcome = users.log_in(
                database.database(), username, password, access.client(), secret_key(paths())
            )
            if outcome.ok:
                # The password must not linger in the session once it has done its job.
                st.session_state.pop("login_password", None)
                detail = outcome.detail
                access.log_in(detail["username"], detail["session"], detail["ticket"])
                st.rerun()
            st.error(outcome.errors[FORM].capitalize() + ".", icon=":material/error:")


def render_user(user: access.SignedIn) -> None:
    with st.sidebar:
        st.markdown(f"**{user.username}** · {user.role_name}")
        access.keep_session()
        notification_bell.bell(user)
        st.button("Log out", key="logout", on_click=access.log_out, icon=":material/logout:")


def render_filters(options: pd.DataFrame, published: datetime | None) -> None:
    with st.sidebar:
        st.subheader("Filters")
        for column, label in FILTER_LABELS.items():
            key = FILTER_KEYS[column]
            choices = sorted(options[column].dropna().unique().tolist())
            if key not in st.session_state:  # a reload or a pasted link: the address's filters
                st.session_state[key] = st.query_params.get_all(column)
            # A new publish can drop a value someone had picked; keep only known ones.
            picked = st.session_state.get(key) or []
            if any(value not in choices for value in picked):
                st.session_state[key] = [value for value in picked if value in choices]
            st.multiselect(label, choices, key=key, placeholder="All")
            # The filters live in the address too, so a reload or a shared link keeps them.
            if st.session_state[key]:
                st.query_params[column] = st.session_state[key]
            else:
                st.query_params.pop(column, None)
        if published is not None:
            st.caption(f"Data published {fmt.moment(published)}")


def dashboard_frame(with_filters: bool = True) -> None:
    """The filters the dashboards share (not on a page computed for the whole portfolio);
    stops with a hint when nothing is published."""
    scope = current_scope()
    try:
        filter_options = marts_reads.filter_options(scope.serving, scope.version)
        published = marts_reads.published_at(scope.serving, scope.version)
    except NotPublishedError:
        st.info(
            "No data is published yet. Run `avtale refresh` to build the marts from the "
            "files in the inbox, or `avtale demo` to try Avtale on a demo portfolio.\n\n"
            f"Data folder: `{paths().home}`",
            icon=":material/info:",
        )
        st.stop()
    if with_filters:
        render_filters(filter_options, published)


try:
    load_settings()  # a setting that cannot be used is named here, not on the first invoice
except SettingsError as problem:
    st.error(
        "The settings cannot be used:\n\n" + "\n".join(f"- {line}" for line in problem.problems),
        icon=":material/error:",
    )
    st.stop()
try:
    database.current()  # opens the database, and brings its schema up to date on first use
except DatabaseUnavailableError as problem:
    # A PostgreSQL server that is down or a URL with a typo: say which, not a traceback.
    st.error(str(problem), icon=":material/error:")
    st.stop()
user = access.current_user()
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
    # The forecast is computed for the whole portfolio: no filters that would not apply.
    dashboard_frame(with_filters=page is not FORECAST)
page.run()
