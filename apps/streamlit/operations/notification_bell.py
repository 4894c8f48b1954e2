"""The bell in the sidebar: the unread notifications, one click from the page that lists
them (SPEC A2). The frame calls ``bell(user)`` in its sidebar on every run."""

from __future__ import annotations

import streamlit as st

from common import database, links
from common.access import SignedIn
from operations import notification_reads


def bell(user: SignedIn) -> None:
    url, version = database.current()
    unread = notification_reads.unread_count(url, version, user.username)
    st.sidebar.page_link(
        links.NOTIFICATIONS,
        label=f"Notifications ({unread} unread)" if unread else "Notifications",
        icon=":material/notifications_active:" if unread else ":material/notifications:",
    )
