"""Signing by link on a proposal (SPEC S1-S3): send it to every party, see who has opened,
signed or declined, resend or withdraw a party's link, and finish a sealing that did not
complete; each writes through ``avtale.services.signing`` and ``sealing``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from avtale.services import sealing, signing
from avtale.services.database import Database
from avtale.settings import Settings, load_settings
from common import ui

STATUS_ICONS = {
    "waiting": "⏳ waiting",
    "signed": "✅ signed",
    "declined": "⛔ declined",
    "withdrawn": "✖ withdrawn",
    "replaced": "↻ replaced by a later version",
}


@st.cache_resource(ttl=60, show_spinner=False)
def _settings() -> Settings:
    return load_settings()


def send(db: Database, actor: str, number: str) -> None:
    """The Send button of a ready proposal, with the way parties identify."""
    settings = _settings()
    problems = signing.party_problems(db, settings, number)
    if problems:
        st.markdown("**Not ready to send:**\n" + "\n".join(f"- {ui.md(p)}" for p in problems))
        st.button("Send for signature", key="flow_send_submit", disabled=True)
        return
    methods = signing.methods(settings)
    method = signing.EMAIL_CODE
    if len(methods) > 1:
        method = st.selectbox(
            "Signatories identify with",
            list(methods),
            format_func=methods.__getitem__,
            key="flow_send_method",
        )
    st.caption(
        "Every contact who may sign and the seller's signatory get a personal link by e-mail "
        "(and SMS where a mobile number is given)."
    )
    ui.action_button(
        "flow_send",
        "Send for signature",
        lambda: signing.send_for_signature(db, actor, settings, number, method),
        then=ui.flashed,
    )


def parties(db: Database, actor: str, number: str, status: str) -> None:
    """Who has been asked to sign, and what they did; resend or withdraw a link."""
    table = signing.signatories(db, number)
    if table.empty:
        return
    st.markdown("**Signatories**")
    ui.dataframe(
        table.assign(status=table.status.map(lambda s: STATUS_ICONS.get(s, s))),
        key="flow_signatories",
        hide_index=True,
        column_order=[
            "party",
            "side",
            "email",
            "status",
            "opened",
            "signed",
            "declined",
            "reason",
            "link expires",
            "revision",
        ],
        column_config={
            "opened": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "signed": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "declined": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "link expires": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
    )
    if status != "sent":
        return
    waiting = table[table.status == "waiting"]
    if not waiting.empty:
        _links(db, actor, waiting)
    elif (table.status == "signed").any():
        st.warning(
            "Every party has signed, but sealing the document did not finish.",
            icon=":material/sync_problem:",
        )
        ui.action_button(
            "flow_seal",
            "Seal and finish",
            lambda: sealing.finish_signing(db, _settings(), number),
            then=ui.flashed,
        )


def _links(db: Database, actor: str, waiting: pd.DataFrame) -> None:
    names = dict(zip(waiting.id, waiting.party, strict=True))
    chosen = st.selectbox(
        "Party", list(names), format_func=names.__getitem__, key="flow_link_party"
    )
    left, right = st.columns(2)
    with left:
        ui.action_button(
            "flow_resend",
            "Resend link",
            lambda: signing.resend(db, actor, _settings(), int(chosen)),
            then=ui.flashed,
        )
    with right:
        ui.action_button(
            "flow_revoke",
            "Withdraw link",
            lambda: signing.revoke(db, actor, int(chosen)),
            then=ui.flashed,
        )
