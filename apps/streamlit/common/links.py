"""Where each page lives, as ``st.Page``, ``st.switch_page`` and ``st.page_link`` take it:
a path relative to streamlit_app.py. A page's address in the browser is its file's stem
(``/customer?customer=K-1001``), so a file keeps its name wherever it moves."""

from __future__ import annotations

from pathlib import PurePosixPath

MRR_OVERVIEW = "dashboards/pages/mrr_overview.py"
KPIS = "dashboards/pages/kpis.py"
CHURN = "dashboards/pages/churn.py"
COHORTS = "dashboards/pages/cohorts.py"
SALES_TEAM = "dashboards/pages/sales_team.py"
FORECAST = "dashboards/pages/forecast.py"
PORTFOLIO = "dashboards/pages/portfolio.py"

SEARCH = "operations/pages/search.py"
CUSTOMER = "operations/pages/customer.py"
CONTRACT = "operations/pages/contract.py"
DEADLINES = "operations/pages/deadlines.py"
CRM_CUSTOMER = "operations/pages/crm_customer.py"
NEW_CUSTOMER = "operations/pages/new_customer.py"
RENEWALS = "operations/pages/renewals.py"
BULK = "operations/pages/bulk.py"
NOTIFICATIONS = "operations/pages/notifications.py"
INVOICES = "operations/pages/invoices.py"
UPLOAD = "operations/pages/upload.py"

NEW_CONTRACT = "agreements/pages/new_contract.py"
COUNTERPARTY_PAPER = "agreements/pages/counterparty_paper.py"
NEW_AGREEMENT = "agreements/pages/new_agreement.py"
INBOX = "agreements/pages/inbox.py"

USERS = "admin/pages/users.py"
TEMPLATES = "admin/pages/templates.py"
CATALOGUE = "admin/pages/catalogue.py"


def address(page: str) -> str:
    """The page's address in the browser: its file's stem."""
    return PurePosixPath(page).stem
