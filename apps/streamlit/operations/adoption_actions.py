"""What sales ops do with a CRM or accounting contract (issue 14, item 1): take it over,
or renegotiate it at once; both through ``avtale.services.adoption``. Once taken over, the
app's copy is worked on like any app contract (renew, terminate, co-terminate, re-price)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from avtale.services import adoption
from avtale.services.database import Database
from common import links, ui


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
    take_over, renegotiate = st.columns(2)
    with take_over:
        ui.action_button(
            f"adopt_{contract_id}",
            "Take over in Avtale",
            lambda: adoption.adopt(db, actor, Path(serving), contract_id),
            then=ui.open_written(links.CONTRACT, "contract"),
        )
    with renegotiate:
        ui.action_button(
            f"adopt_renegotiate_{contract_id}",
            "Renegotiate",
            lambda: adoption.renegotiate(db, actor, Path(serving), contract_id),
            # Line items first: a renegotiation is about prices and licences (seed 004).
            then=ui.open_written(links.NEW_AGREEMENT, "proposal", step="3"),
        )
