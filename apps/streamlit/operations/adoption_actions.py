"""What sales ops do with a CRM or accounting contract (issue 14, item 1): take it over,
or act on it at once as on an app contract: renegotiate, re-price (the contract page's
revise form), co-terminate (the bulk page, the contract chosen), renew, terminate with
reason. Each takes the contract over first, through ``avtale.services.adoption``; renewing
and terminating do so in the same transaction."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from avtale.services import adoption
from avtale.services.database import Database
from common import links, ui
from operations import contract_actions


def contract(
    db: Database, actor: str, serving: str, row: dict[str, Any], app_number: str | None
) -> None:
    """The app contract that took ``row`` over, or the buttons that take it over."""
    contract_id = row["contract_id"]
    if app_number:
        st.page_link(
            links.CONTRACT,
            label=f"Kept in Avtale as {app_number} since it was taken over",
            icon=":material/description:",
            query_params={"contract": app_number},
        )
        return
    if row["status"] in ("ended", "terminated"):
        return
    source = Path(serving)
    # key, label, the write (each adopts first), and the page that opens on the result.
    actions = [
        (
            "adopt",
            "Take over in Avtale",
            adoption.adopt,
            ui.open_written(links.CONTRACT, "contract"),
        ),
        # Line items first: a renegotiation is about prices and licences (seed 004).
        (
            "adopt_renegotiate",
            "Renegotiate",
            adoption.renegotiate,
            ui.open_written(links.NEW_AGREEMENT, "proposal", step="3"),
        ),
        # Re-pricing is a new version: the contract page's revise form, opened.
        (
            "adopt_reprice",
            "Re-price",
            adoption.adopt,
            ui.open_written(links.CONTRACT, "contract", act="revise"),
        ),
        (
            "adopt_coterminate",
            "Co-terminate",
            adoption.adopt,
            ui.open_written(links.BULK, "contracts", kind="co_terminate"),
        ),
    ]
    *columns, renew = st.columns(len(actions) + 1)
    for column, (key, label, write, then) in zip(columns, actions, strict=True):
        with column:
            ui.action_button(
                f"{key}_{contract_id}",
                label,
                partial(write, db, actor, source, contract_id),
                then=then,
            )
    # What the Renewals page offers an app contract: one with an end that does not renew
    # by itself.
    with renew:
        if pd.isna(row.get("end_date")) or row.get("auto_renew"):
            st.button(
                "Renew",
                key=f"adopt_renew_{contract_id}_off",
                disabled=True,
                help=(
                    "Renews by itself" if row.get("auto_renew") else "Has no end date to renew from"
                ),
            )
        else:
            renewal_term = row["renewal_term_months"]
            contract_actions.renew_button(
                f"adopt_renew_{contract_id}",
                None if pd.isna(renewal_term) else int(renewal_term),
                lambda months: adoption.renew(db, actor, source, contract_id, months),
            )
    contract_actions.termination_form(
        f"adopt_terminate_{contract_id}",
        lambda last_day, reason, circumstances: adoption.terminate(
            db, actor, source, contract_id, last_day, reason, circumstances
        ),
    )
