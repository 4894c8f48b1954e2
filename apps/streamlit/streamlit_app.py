"""Avtale's Streamlit app: the frame around every page.

Page config, navigation and the shared sidebar live here; pages in app_pages/
hold layout only and get their data from data.py.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import data
import pandas as pd
import streamlit as st
from scope import FILTER_KEYS, current_scope

from avtale.serving import NotPublishedError
from avtale.settings import paths

# The users are Nordic; show times as they read them, whatever the server's zone.
LOCAL_TIME = ZoneInfo("Europe/Oslo")

FILTER_LABELS = {"owner": "Owner", "country": "Country", "currency": "Currency"}

# One key per navigation section. Operations (forms) and Admin pages join as
# further keys, e.g. "Operations": [st.Page("app_pages/renewals.py", ...)].
PAGES = {
    "Dashboards": [
        st.Page(
            "app_pages/mrr_overview.py",
            title="MRR overview",
            icon=":material/trending_up:",
            default=True,
        ),
    ],
}


def render_sidebar(options: pd.DataFrame, published: datetime | None) -> None:
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
            st.caption(f"Data published {published.astimezone(LOCAL_TIME):%d %b %Y %H:%M %Z}")


st.set_page_config(page_title="Avtale", layout="wide")
page = st.navigation(PAGES)

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

render_sidebar(filter_options, published)
page.run()
