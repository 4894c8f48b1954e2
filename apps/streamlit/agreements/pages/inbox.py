"""Inbox: the tasks the routing rules opened after a signature, per team, with what changed
(SPEC C4), and the discounts waiting for approval (SPEC C3)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from agreements import agreement_reads
from avtale.services import agreements, users
from avtale.settings import paths
from common import access, database, fmt, links, ui

user = access.user()
can_edit = users.can(user.role, "edit_agreements")
can_approve = users.can(user.role, "approve_discounts")
url, version = database.current()
db = database.database()

tasks = agreement_reads.open_tasks(url, version) if can_edit else None
approvals = agreement_reads.pending_approvals(url, version)
waiting = (len(tasks) if tasks is not None else 0) + (len(approvals) if can_approve else 0)
st.title(f"Inbox ({waiting})")
if not waiting:
    st.caption("Nothing waiting.")

if approvals:
    st.subheader(f"Discounts to approve ({len(approvals)})")
    if not can_approve:
        st.caption("Sales leadership and admins decide on these.")
for approval in approvals:
    identity = approval.id
    with st.container(border=True):
        st.markdown("**" + ui.md(f"{approval.proposal} · {approval.customer}") + "**")
        st.caption(f"Asked by {approval.requested_by}, {fmt.moment(approval.requested_at)}")
        if can_edit:
            st.page_link(
                links.NEW_AGREEMENT,
                label=f"Open {approval.proposal}",
                icon=":material/edit_document:",
                query_params={"proposal": approval.proposal, "step": "3"},
            )
        st.markdown("\n".join(f"- {ui.md(reason)}" for reason in approval.reasons))
        if not approval.current:
            st.warning("The proposal changed after this was asked: it has to be asked again.")
        ui.dataframe(
            approval.priced,
            key=f"approval_{identity}_lines",
            hide_index=True,
            column_order=["line", "product", "quantity", "unit_price", "automatic_percent"]
            + ["manual_percent", "discount_percent", "mrr"],
            column_config={
                "automatic_percent": "Automatic %",
                "manual_percent": "Manual %",
                "discount_percent": "Applied %",
                "mrr": st.column_config.NumberColumn(f"MRR {approval.currency}", format="%,.2f"),
            },
        )
        if not can_approve:
            continue
        approve_col, reject_col = st.columns(2)
        for column, form, approve, text in (
            (approve_col, f"approve_{identity}", True, "Approve"),
            (reject_col, f"reject_{identity}", False, "Reject"),
        ):
            with column, st.form(form):
                note = st.text_input(
                    "Note" if approve else "Why rejected *", key=ui.key(form, "note")
                )
                ui.field_error(form, "note")
                ui.submit(
                    form,
                    text,
                    partial(
                        agreements.decide_approval,
                        db,
                        user.username,
                        paths(),
                        identity,
                        approve,
                        note,
                    ),
                    then=ui.flashed,
                )
                ui.result(form)

if tasks is None:
    st.stop()
for team, name in agreement_reads.TEAMS.items():
    mine = tasks[tasks.team == team]
    st.subheader(f"{name} ({len(mine)})")
    if mine.empty:
        st.caption("No open tasks.")
    for task in mine.itertuples():
        with st.container(border=True):
            st.markdown("**" + ui.md(task.title) + "**")
            kind = "Notice" if task.action == "notify" else "Task"
            st.caption(f"{kind} · rule {task.rule} · {fmt.moment(task.created_at)}")
            st.page_link(
                links.CONTRACT,
                label=f"{task.contract} · {task.customer}",
                icon=":material/description:",
                query_params={"contract": task.contract},
            )
            if task.changes:
                ui.facts(task.changes, columns=3)
            form = f"task_{task.id}"
            with st.form(form):
                note = st.text_input("Note", key=ui.key(form, "note"))
                ui.field_error(form, "note")
                ui.submit(
                    form,
                    "Mark done",
                    partial(agreements.complete_task, db, user.username, task.id, note),
                    then=ui.flashed,
                )
                ui.result(form)
