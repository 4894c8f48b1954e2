"""Step 3 of New agreement, the line items (SPEC C1, C3): products from the catalogue at
the proposal's price list and currency, and each line as the discount rules priced it, with
the reasons a discount needs approval; the form saves through ``avtale.services.agreements``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from avtale.services import agreements
from avtale.services.agreements import ProposalView
from avtale.services.database import Database
from common import contract_inputs, fmt, ui
from common.form_values import records

# What a renegotiation edits unless "Edit all terms" is on (seed 004: price and licences).
RENEGOTIATED = ("quantity", "unit_price", "discount_percent")
LINE_COLUMNS = {"line_no": "Int64", "product_code": "object"} | {
    name: dtype for name, dtype in contract_inputs.LINE_COLUMNS.items() if name != "line_no"
}
PRICED_COLUMNS: ui.ColumnConfigs = {
    "line": "Line",
    "product": "Product",
    "quantity": "Quantity",
    "unit_price": st.column_config.NumberColumn("Unit price", format="%,.2f"),
    "automatic_percent": st.column_config.NumberColumn("Automatic %", format="%g"),
    "why": "Why",
    "manual_percent": st.column_config.NumberColumn("Manual %", format="%g"),
    "discount_percent": st.column_config.NumberColumn("Applied %", format="%g"),
    "proposed_percent": st.column_config.NumberColumn(
        "Proposed %", format="%g", help="What the rules give a renegotiated line now"
    ),
    "mrr": st.column_config.NumberColumn("MRR", format="%,.2f"),
}


def lines_frame(lines: pd.DataFrame) -> pd.DataFrame:
    frame = lines[list(LINE_COLUMNS)].copy()
    for column in ("quantity", "unit_price", "discount_percent"):
        frame[column] = frame[column].map(lambda v: None if v is None else float(v)).astype(float)
    for column in contract_inputs.DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column])
    return frame.astype(LINE_COLUMNS).reset_index(drop=True)


def step(
    db: Database,
    actor: str,
    view: ProposalView,
    catalogue: dict[str, dict[str, Any]],
    edit_all: bool,
) -> None:
    form, head = "flow_lines", view.header
    number, currency = head["number"], head["currency"]
    ui.prefill(form, (number, head["revision"]), {}, {"lines": lines_frame(view.lines)})
    names = {code: f"{code} · {fmt.product_name(item)}" for code, item in catalogue.items()}
    config = contract_inputs.LINE_CONFIG | {
        "product_code": st.column_config.SelectboxColumn(
            "Catalogue product", options=list(names), format_func=ui.named(names)
        ),
        "product": st.column_config.TextColumn("Product", help="Empty: the catalogue name"),
        # No bounds here, as in LINE_CONFIG: the editor would turn -500 into 500.
        "unit_price": st.column_config.NumberColumn(
            "Unit price",
            format="%.2f",
            help=f"Empty: the {head['price_list']} list price in {currency}",
        ),
        "discount_percent": st.column_config.NumberColumn("Manual discount %"),
    }
    locked = head["kind"] == "renegotiation" and not edit_all
    with st.form(form):
        st.caption(
            f"Prices from the **{ui.md(head['price_list'])}** price list in {currency}; "
            "type a price to override it. The rules add volume and term discounts."
        )
        edited = st.data_editor(
            ui.table(form, "lines"),
            key=ui.key(form, "lines"),
            num_rows="fixed" if locked else "dynamic",
            hide_index=True,
            column_config=fmt.editor_config(config),
            column_order=list(LINE_COLUMNS)[1:],
            disabled=[c for c in LINE_COLUMNS if c not in RENEGOTIATED] if locked else ["line_no"],
        )
        ui.row_errors(form, "lines")
        ui.field_error(form, "lines", "proposal")
        ui.submit(
            form,
            "Save and price",
            lambda: agreements.save_lines(db, actor, number, records(edited)),
        )
    ui.result(form)
    if view.approval_reasons:
        st.warning(
            "Needs approval before it is sent:\n\n"
            + "\n".join(f"- {ui.md(reason)}" for reason in view.approval_reasons),
            icon=":material/gpp_maybe:",
        )
    if not view.priced.empty:
        st.markdown("**As priced by the discount rules**")
        ui.dataframe(
            view.priced,
            key="flow_priced",
            hide_index=True,
            column_config=PRICED_COLUMNS,
        )
        st.caption(f"MRR {fmt.money(head['mrr'], currency)}")
        proposed_changes(db, actor, view)
    with st.expander("Catalogue", icon=":material/inventory_2:"):
        ui.dataframe(
            pd.DataFrame(
                [
                    {
                        "code": code,
                        "name": fmt.product_name(item),
                        "billing": contract_inputs.PERIODS.get(item["billing_period"]),
                        "list_price": item["prices"].get((head["price_list"], currency)),
                    }
                    for code, item in catalogue.items()
                ],
                columns=["code", "name", "billing", "list_price"],
            ),
            key="flow_catalogue",
            hide_index=True,
            column_config={"list_price": st.column_config.NumberColumn(f"Price {currency}")},
        )


def proposed_changes(db: Database, actor: str, view: ProposalView) -> None:
    """A renegotiated line keeps the discount its contract agreed; where the rules give its
    new quantity another one, say so and let the user take it (seed 004: never silently)."""
    proposed = view.priced[view.priced.proposed_percent.notna()]
    if proposed.empty:
        return
    st.info(
        "The discount rules give some renegotiated lines another discount at their new "
        "quantity. The agreed discount stays until you accept:\n\n"
        + "\n".join(
            f"- Line {row.line} ({ui.md(row.product)}): {row.discount_percent:g} % agreed, "
            f"{row.proposed_percent:g} % proposed"
            for row in proposed.itertuples()
        ),
        icon=":material/percent:",
    )
    ui.action_button(
        "flow_accept_discounts",
        "Accept proposed discounts",
        lambda: agreements.accept_proposed_discounts(db, actor, view.header["number"]),
    )
