"""The bell in the sidebar: the unread notifications, one click from the page that lists
them (SPEC A2). The frame calls ``bell(user)`` in its sidebar on every run."""

from __future__ import annotations

import access
import notify_data
import ops_data
import streamlit as st

PAGE = "app_pages/notifications.py"


def bell(user: access.SignedIn) -> None:
    url, version = ops_data.current()
    unread = notify_data.unread_count(url, version, user.username)
    st.sidebar.page_link(
        PAGE,
        label=f"Notifications ({unread} unread)" if unread else "Notifications",
        icon=":material/notifications_active:" if unread else ":material/notifications:",
    )
