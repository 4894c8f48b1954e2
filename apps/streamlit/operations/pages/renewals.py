"""Renewals: the contracts that do not renew by themselves, due within 60 days or overdue,
each renewed, renegotiated or let expire with one click (SPEC A3); below, what the daily
job renewed in the last 30 days."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from avtale.dates import today as oslo_today
from avtale.services import renewals
from common import access, database, fmt, links, ui
from operations import contract_actions, renewal_reads

user = access.user()
url, version = database.current()
db = database.database()
today = oslo_today()

due = renewal_reads.queue(url, version, today)
st.title(f"Renewals ({len(due)})")
ui.show_flash()
st.caption(
    f"Contracts without automatic renewal whose term ends within {renewals.horizon_days()} "
    "days or has ended, soonest first."
)
if due.empty:
    st.caption("Nothing to decide.")


for row in due.itertuples(index=False):
    number, term_end = str(row.contract), row.term_end
    overdue = term_end < today
    with st.container(border=True):
        st.markdown("**" + ui.md(f"{number} · {row.customer}") + "**")
        st.caption(
            ("Ended " if overdue else "Ends ")
            + term_end.isoformat()
            + f" · MRR {fmt.money(row.mrr, row.currency)}"
            + (f" · renews for {row.renewal_term_months} months" if row.renewal_term_months else "")
        )
        renew_col, renegotiate_col, expire_col = st.columns(3)
        with renew_col:
            contract_actions.renew_button(
                f"renew_{number}",
                None if pd.isna(row.renewal_term_months) else int(row.renewal_term_months),
                partial(renewals.renew, db, user.username, number, term_end, today),
            )
        with renegotiate_col:
            ui.action_button(
                f"renegotiate_{number}",
                "Renegotiate",
                partial(renewals.renegotiate, db, user.username, number, term_end, today),
                then=ui.open_written(links.NEW_AGREEMENT, "proposal"),
            )
        with expire_col, st.popover("Let expire"):
            form = f"expire_{number}"
            with st.form(form):
                note = st.text_input("Why not renewed *", key=ui.key(form, "note"))
                ui.field_error(form, "note")
                ui.submit(
                    form,
                    "Let expire",
                    partial(renewals.let_expire, db, user.username, number, term_end, note, today),
                    then=ui.flashed,
                )
                ui.result(form)

st.subheader("Renewed automatically")
recent = renewal_reads.recent_auto_renewals(url, version, today)
if recent.empty:
    st.caption(f"No automatic renewals in the last {renewals.RECENT_DAYS} days.")
else:
    ui.dataframe(
        ui.local_times(recent, "decided_at"),
        key="recent_renewals",
        hide_index=True,
        column_config={
            "contract": "Contract",
            "customer": "Customer",
            "term_end": st.column_config.DateColumn("Term ended"),
            "renewed_to": st.column_config.DateColumn("Renewed until"),
            "decided_at": st.column_config.DatetimeColumn("Renewed at"),
        },
    )
