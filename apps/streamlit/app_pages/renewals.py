"""Renewals: the contracts that do not renew by themselves, due within 60 days or overdue,
each renewed, renegotiated or let expire with one click (SPEC A3); below, what the daily
job renewed in the last 30 days."""

from __future__ import annotations

import access
import ops_data
import renewal_ops
import streamlit as st
import ui
from forms import Outcome

from avtale.dates import today as oslo_today

user = access.user()
url, version = ops_data.current()
engine = ops_data.engine()
today = oslo_today()

due = renewal_ops.queue(url, version, today)
st.title(f"Renewals ({len(due)})")
ui.show_flash()
st.caption(
    f"Contracts without automatic renewal whose term ends within {renewal_ops.HORIZON_DAYS} "
    "days or has ended, soonest first."
)
if due.empty:
    st.caption("Nothing to decide.")


def open_proposal(outcome: Outcome) -> None:
    ui.flash(outcome.message)
    st.switch_page("app_pages/new_agreement.py", query_params={"proposal": outcome.target})


for row in due.itertuples(index=False):
    number, term_end = str(row.contract), row.term_end
    overdue = term_end < today
    with st.container(border=True):
        st.markdown("**" + ui.md(f"{number} · {row.customer}") + "**")
        st.caption(
            ("Ended " if overdue else "Ends ")
            + term_end.isoformat()
            + f" · MRR {ui.money(row.mrr, row.currency)}"
            + (f" · renews for {row.renewal_term_months} months" if row.renewal_term_months else "")
        )
        renew_col, renegotiate_col, expire_col = st.columns(3)
        with renew_col:
            ui.action_button(
                f"renew_{number}",
                "Renew",
                lambda number=number, term_end=term_end: renewal_ops.renew(
                    engine, user.username, number, term_end, today
                ),
                then=ui.flashed,
            )
        with renegotiate_col:
            ui.action_button(
                f"renegotiate_{number}",
                "Renegotiate",
                lambda number=number, term_end=term_end: renewal_ops.renegotiate(
                    engine, user.username, number, term_end, today
                ),
                then=open_proposal,
            )
        with expire_col, st.popover("Let expire"):
            form = f"expire_{number}"
            with st.form(form):
                note = st.text_input("Why not renewed *", key=ui.key(form, "note"))
                ui.field_error(form, "note")
                ui.submit(
                    form,
                    "Let expire",
                    lambda number=number, term_end=term_end, note=note: renewal_ops.let_expire(
                        engine, user.username, number, term_end, note, today
                    ),
                    then=ui.flashed,
                )
                ui.result(form)

st.subheader("Renewed automatically")
recent = renewal_ops.recent_auto_renewals(url, version, today)
if recent.empty:
    st.caption(f"No automatic renewals in the last {renewal_ops.RECENT_DAYS} days.")
else:
    st.dataframe(
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
