"""The reads of the in-app notifications (SPEC A2), cached like every ``*_reads`` of the
operational database (``common.database``): a new notification or a "read" is audited, so
it misses the cache."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import streamlit as st

from avtale.services import notifications
from avtale.services.database import Version
from avtale.services.notifications import NotificationItem
from common import links
from common.database import TTL, opened

# The pages a notification may link to (``<page>?<query>``, as avtale.notify.texts makes).
LINKED_PAGES = {
    links.address(page): page
    for page in (
        links.CONTRACT,
        links.CRM_CUSTOMER,
        links.CUSTOMER,
        links.INBOX,  # a discount approval asked for
        links.NEW_AGREEMENT,  # the proposal whose approval was decided
    )
}


def page_of(link: str | None) -> tuple[str, dict[str, str]] | None:
    """A stored link as the page file and query parameters ``st.page_link`` takes."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.path not in LINKED_PAGES:
        return None
    return LINKED_PAGES[parts.path], dict(parse_qsl(parts.query))


@st.cache_data(ttl=TTL)
def unread_count(url: str, version: Version, username: str) -> int:
    return notifications.unread_count(opened(url), username)


@st.cache_data(ttl=TTL)
def notification_list(url: str, version: Version, username: str) -> list[NotificationItem]:
    """The user's notifications, newest first, each with its reminder's state."""
    return notifications.notifications(opened(url), username)
