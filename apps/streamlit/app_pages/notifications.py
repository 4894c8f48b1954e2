"""Notifications: the user's reminders of contract deadlines and their escalations, newest
first and unread ones marked (SPEC A2). Acknowledging a reminder says the deadline is in
hand: it stops the escalation to the manager and marks the notification read."""

from __future__ import annotations

import access
import notify_data
import ops_data
import streamlit as st
import ui

user = access.user()
url, version = ops_data.current()
engine = ops_data.engine()
items = notify_data.notifications(url, version, user.username)
unread = sum(item["unread"] for item in items)

st.title(f"Notifications ({unread} unread)" if unread else "Notifications")
if unread:
    ui.action_button(
        "notifications_all",
        "Mark all read",
        lambda: notify_data.mark_all_read(engine, user.username),
        then=ui.flashed,
    )
if not items:
    st.caption("Nothing yet. Reminders of the deadlines of your contracts come here and by e-mail.")

for item in items:
    identity = item["id"]
    with st.container(border=True, key=f"notification_{identity}"):
        if item["unread"]:
            st.badge("Unread", color="blue", icon=":material/fiber_new:")
        title = ui.md(item["title"])
        st.markdown(f"**{title}**" if item["unread"] else title)
        told = [ui.when(item["created_at"])]
        if item["kind"] == "escalation":
            told.append("escalation")
        if item["status"] == "acknowledged":
            told.append(
                f"acknowledged by {item['acknowledged_by']}, {ui.when(item['acknowledged_at'])}"
            )
        st.caption(" · ".join(told))
        with st.expander("Details", expanded=item["unread"]):
            st.text(item["body"])
        if item["link"]:
            page, params = item["link"]
            st.page_link(page, label="Open", icon=":material/open_in_new:", query_params=params)
        if item["status"] == "sent":
            ui.action_button(
                f"notification_{identity}_acknowledge",
                "Acknowledge",
                lambda reminder=item["reminder_id"]: notify_data.acknowledge(
                    engine, user.username, reminder
                ),
                then=ui.flashed,
            )
        elif item["unread"]:
            ui.action_button(
                f"notification_{identity}_read",
                "Mark read",
                lambda notification=identity: notify_data.mark_read(
                    engine, user.username, notification
                ),
                then=ui.flashed,
            )
