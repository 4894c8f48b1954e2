"""Notifications: the user's reminders of contract deadlines and their escalations, newest
first and unread ones marked (SPEC A2). Acknowledging a reminder says the deadline is in
hand: it stops the escalation to the manager and marks the notification read."""

from __future__ import annotations

from functools import partial

import streamlit as st

from avtale.services import notifications
from common import access, database, fmt, ui
from operations import notification_reads

user = access.user()
url, version = database.current()
db = database.database()
items = notification_reads.notification_list(url, version, user.username)
unread = sum(item.unread for item in items)

st.title(f"Notifications ({unread} unread)" if unread else "Notifications")
if unread:
    ui.action_button(
        "notifications_all",
        "Mark all read",
        lambda: notifications.mark_all_read(db, user.username),
        then=ui.flashed,
    )
if not items:
    st.caption("Nothing yet. Reminders of the deadlines of your contracts come here and by e-mail.")

for item in items:
    identity = item.id
    with st.container(border=True, key=f"notification_{identity}"):
        if item.unread:
            st.badge("Unread", color="blue", icon=":material/fiber_new:")
        title = ui.md(item.title)
        st.markdown(f"**{title}**" if item.unread else title)
        told = [fmt.moment(item.created_at)]
        if item.kind == "escalation":
            told.append("escalation")
        if item.status == "acknowledged":
            told.append(
                f"acknowledged by {item.acknowledged_by}, {fmt.moment(item.acknowledged_at)}"
            )
        st.caption(" · ".join(told))
        with st.expander("Details", expanded=item.unread):
            st.text(item.body)
        link = notification_reads.page_of(item.link)
        if link:
            page, params = link
            st.page_link(page, label="Open", icon=":material/open_in_new:", query_params=params)
        if item.status == "sent":
            ui.action_button(
                f"notification_{identity}_acknowledge",
                "Acknowledge",
                partial(notifications.acknowledge, db, user.username, item.reminder_id),
                then=ui.flashed,
            )
        elif item.unread:
            ui.action_button(
                f"notification_{identity}_read",
                "Mark read",
                partial(notifications.mark_read, db, user.username, identity),
                then=ui.flashed,
            )
