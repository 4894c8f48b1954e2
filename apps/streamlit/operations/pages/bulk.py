"""Bulk operations (SPEC A4): co-terminate contracts to one end date, update prices by a
percentage or to a price list, index prices; always previewed before anything changes,
applied in one transaction, and undone by a reverse operation."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from avtale.dates import today as business_today
from avtale.services import bulk
from avtale.services.unit_of_work import Outcome
from common import access, database, fmt, ui
from common.scope import current_scope
from operations import bulk_reads

PREVIEW = "bulk_preview"
SELECT_BY = {"contracts": "Contracts", "assets": "By installed asset"}


def filtered(frame: pd.DataFrame, *filters: tuple[str, str, str]) -> tuple[pd.DataFrame, bool]:
    """``frame`` narrowed by a multiselect per (label, column, key), side by side, each
    offering the column's non-empty values; and whether any was used."""
    narrowed = False
    for column, (label, name, key) in zip(st.columns(len(filters)), filters, strict=True):
        chosen = column.multiselect(
            label, sorted(v for v in frame[name].unique() if v), key=key, placeholder="All"
        )
        if chosen:
            frame, narrowed = frame[frame[name].isin(chosen)], True
    return frame, narrowed


user = access.user()
url, version = database.current()
db = database.database()

st.title("Bulk operations")
# ?kind=co_terminate&contracts=CT-000012 (the CRM page's "Co-terminate"): start from them.
if "contracts" in st.query_params and "bulk_contracts" not in st.session_state:
    st.session_state["bulk_contracts"] = st.query_params.get_all("contracts")
    st.session_state["bulk_kind"] = st.query_params.get("kind", "co_terminate")
kind = st.segmented_control(
    "Operation",
    list(bulk.OPERATIONS),
    format_func=lambda key: bulk.OPERATIONS[key],
    key="bulk_kind",
    default="price_update",
)
kind = kind or "price_update"

numbers: list[str] = []
serials: list[str] = []
by_assets = kind == "co_terminate" and (
    st.segmented_control(
        "Select",
        ["contracts", "assets"],
        format_func=lambda key: SELECT_BY[key],
        key="bulk_select_by",
        default="contracts",
    )
    == "assets"
)
if by_assets:
    scope = current_scope()
    assets = bulk_reads.covered_assets(scope.serving, scope.version)
    shown, narrowed = filtered(
        assets, ("Model", "model", "bulk_models"), ("Location", "location", "bulk_locations")
    )
    labels = {
        row.serial_number: f"{row.serial_number} · {row.model or '?'} · {row.customer}"
        for row in shown.itertuples()
    }
    serials = st.multiselect(
        "Serial numbers",
        list(labels),
        format_func=lambda serial: labels[serial],
        key="bulk_serials",
        placeholder="All the assets of the models and locations chosen",
    )
    if not serials and narrowed:
        serials = sorted(labels)
    contracts_hit = shown[shown.serial_number.isin(serials)].contract_id.nunique()
    st.caption(
        f"{len(serials)} assets chosen, covered by {contracts_hit} contracts. Contracts from "
        "CRM and accounting exports are taken over into Avtale when the preview is applied."
    )
elif kind != "indexation":
    contracts = bulk_reads.active_contracts(url, version)
    shown, _ = filtered(
        contracts, ("Customer", "customer", "bulk_customers"), ("Owner", "owner", "bulk_owners")
    )
    labels = {
        row.contract_number: f"{row.contract_number} · {row.customer} · {row.currency}"
        for row in shown.itertuples()
    }
    numbers = st.multiselect(
        "Contracts",
        list(labels),
        format_func=lambda number: labels[number],
        key="bulk_contracts",
        placeholder="Choose the contracts",
    )
    st.caption(f"{len(shown)} active contracts match the filter.")
else:
    st.caption(
        "Indexation picks the contracts itself: every active contract whose price adjustment "
        "rule is CPI (by the percentage below) or a fixed percentage (by its own), due on or "
        "before the date."
    )

params: dict[str, Any] = {}
if kind == "co_terminate":
    params["end_date"] = st.date_input("New end date", key="bulk_end_date", value=None)
    st.caption("Aligns end dates only: auto-renewal stays as each contract has it.")
else:
    params["effective_date"] = st.date_input(
        "Effective from", key="bulk_effective_date", value=business_today()
    )
    if kind == "price_update":
        how = st.radio(
            "New prices", ["By a percentage", "From a price list"], key="bulk_how", horizontal=True
        )
        if how == "By a percentage":
            params["percent"] = st.text_input("Change in %", key="bulk_percent", value="")
        else:
            lists = bulk_reads.price_lists(url, version)
            params["price_list"] = st.selectbox("Price list", lists, key="bulk_price_list")
    else:
        params["percent"] = st.text_input("CPI change in %", key="bulk_cpi", value="")

request = (
    kind,
    tuple(numbers),
    tuple(serials),
    by_assets,
    tuple(sorted((k, str(v)) for k, v in params.items())),
)
if st.button("Preview", key="bulk_preview_submit", type="primary"):
    if by_assets:
        made = bulk.preview_by_assets(
            db, Path(current_scope().serving), serials, params.get("end_date")
        )
    else:
        made = bulk.preview(
            db,
            kind,
            numbers,
            end_date=params.get("end_date"),
            percent=params.get("percent"),
            price_list=params.get("price_list"),
            effective_date=params.get("effective_date"),
        )
    st.session_state[PREVIEW] = (request, made)

stored = st.session_state.get(PREVIEW)
if stored is not None and stored[0] == request:
    made = stored[1]
    if isinstance(made, Outcome):
        for field, message in made.errors.items():
            st.error(f"{ui.label(field)}: {ui.md(message)}", icon=":material/error:")
    else:
        st.subheader("Preview")
        for problem in made.problems:
            st.warning(ui.md(problem), icon=":material/warning:")
        if made.adopt_first:
            st.info(ui.md(bulk.taking_over(made)), icon=":material/move_down:")
        if not made.rows:
            st.info("No contract would change.", icon=":material/info:")
        else:
            ui.dataframe(
                bulk.preview_table(made),
                key="bulk_preview_table",
                hide_index=True,
                column_config={
                    "contract_number": "Contract",
                    "customer": "Customer",
                    "line_no": "Line",
                    "product": "Product",
                    "currency": "Currency",
                    "old_price": st.column_config.NumberColumn("Old price", format="%.2f"),
                    "new_price": st.column_config.NumberColumn("New price", format="%.2f"),
                    "old_end": "Old end",
                    "new_end": "New end",
                    "old_mrr": st.column_config.NumberColumn("Old MRR", format="%.2f"),
                    "new_mrr": st.column_config.NumberColumn("New MRR", format="%.2f"),
                    "mrr_change": st.column_config.NumberColumn("MRR change", format="%+.2f"),
                    "note": "Note",
                },
            )
            count = made.contract_count + len(made.adopt_first)
            st.metric("Contracts", count)
            for currency, (old, new, change) in made.totals_by_currency().items():
                a, b, c = st.columns(3)
                a.metric(f"MRR before ({currency})", fmt.money(float(old), currency))
                b.metric(f"MRR after ({currency})", fmt.money(float(new), currency))
                c.metric(f"MRR change ({currency})", fmt.change(float(change), currency))

            def applied(outcome: Outcome) -> None:
                st.session_state.pop(PREVIEW, None)
                ui.flash(outcome.message)

            ui.action_button(
                "bulk_apply",
                f"Apply to {count} contracts",
                partial(bulk.apply, db, user.username, made),
                then=applied,
            )
ui.result("bulk_apply")

st.subheader("Recent operations")
operations = bulk_reads.recent(url, version)
if not operations:
    st.caption("None yet.")
for item in operations:
    identity = item.id
    with st.container(border=True, key=f"bulk_operation_{identity}"):
        what = ui.bulk_params(item.params)
        mrr = ", ".join(
            fmt.change(float(change), currency) for currency, change in item.mrr_change.items()
        )
        st.markdown(
            f"**#{identity} {item.label.capitalize()}** · {item.contract_count} contracts · "
            f"MRR {mrr or '±0'}" + (f" · {ui.md(what)}" if what else "")
        )
        st.caption(f"{item.applied_by}, {fmt.moment(item.applied_at)}")
        if item.undone_by_id:
            st.caption(f"Undone by #{item.undone_by_id}")
        elif item.kind != "undo":
            skip = st.checkbox(
                "Leave contracts changed since as they are",
                key=f"bulk_undo_{identity}_skip",
                help="Without this, undo is refused when any contract changed since.",
            )
            ui.action_button(
                f"bulk_undo_{identity}",
                "Undo",
                partial(bulk.undo, db, user.username, identity, skip_changed=skip),
                then=ui.flashed,
            )
