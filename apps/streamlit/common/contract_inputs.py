"""The contract fields as widgets, shared by New contract, Counterparty paper and Revise.

One definition of the inputs, so every way a contract is entered asks the same
questions (SPEC R2, R5) and reports errors the same way.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from avtale.services.contracts import TERM_NAMES, currencies
from avtale.vocabulary import APP_BILLING_PERIODS as BILLING_PERIODS
from avtale.vocabulary import PRICE_ADJUSTMENT_RULES
from common import fmt, ui

# Far enough either way for contracts signed long ago and terms running for decades.
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)
RULES = {"none": "None", "cpi": "Consumer price index", "fixed_pct": "Fixed percentage"}
PERIODS = ui.PERIODS
# A choice added to the schema must get a label here before the app starts.
assert set(RULES) == set(PRICE_ADJUSTMENT_RULES) and set(PERIODS) == set(BILLING_PERIODS)


DEFAULTS: dict[str, Any] = {"currency": "NOK", "auto_renew": False, "price_adjustment_rule": "none"}

# Typed even when empty, so the editor offers a date picker and a number field from the
# first row on, and hands back timestamps and numbers rather than text.
LINE_COLUMNS = {
    "line_no": "Int64",
    "product": "object",
    "quantity": "float64",
    "unit_price": "float64",
    "discount_percent": "float64",
    "discount_end_date": "datetime64[ns]",
    "billing_period": "object",
    "billing_interval_months": "Int64",
    "start_date": "datetime64[ns]",
    "end_date": "datetime64[ns]",
}
DATE_COLUMNS = [name for name, dtype in LINE_COLUMNS.items() if dtype.startswith("datetime")]
# No min_value or max_value on amounts: the editor would quietly drop a typed minus sign
# (-500 becomes 500) or cut 150 % to 100 %. The repository refuses them with the reason.
LINE_CONFIG = {
    "line_no": st.column_config.NumberColumn("Line", disabled=True),
    "product": st.column_config.TextColumn("Product", required=True),
    "quantity": st.column_config.NumberColumn("Quantity", default=1.0),
    "unit_price": st.column_config.NumberColumn("Unit price", format="%.2f"),
    "discount_percent": st.column_config.NumberColumn("Discount %"),
    "discount_end_date": st.column_config.DateColumn(
        "Discount ends", help="The discount applies up to and including this day"
    ),
    "billing_period": st.column_config.SelectboxColumn(
        "Billing", options=list(PERIODS), format_func=ui.named(PERIODS), default="monthly"
    ),
    "billing_interval_months": st.column_config.NumberColumn(
        "Every N months", min_value=1, step=1, help="Only for billing every N months"
    ),
    "start_date": st.column_config.DateColumn("Starts", help="Empty: the contract's start"),
    "end_date": st.column_config.DateColumn("Ends", help="Empty: runs with the contract"),
}

# Installed assets as the customer card, the CRM customer and the contract page list them.
ASSET_CONFIG: dict[str, Any] = {
    "serial_number": "Serial number",
    "model": "Model",
    "location": "Location",
    "contract": "Contract",
    "install_date": st.column_config.DateColumn("Installed"),
    "source": "From",
}


def empty_lines() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in LINE_COLUMNS.items()})


def lines_frame(lines: pd.DataFrame) -> pd.DataFrame:
    """Current lines as the editor takes them: plain floats for amounts (the editor has
    no decimal type; Decimal(str(float)) gives the typed value back)."""
    frame = lines[list(LINE_COLUMNS)].copy()
    for column in ("quantity", "unit_price", "discount_percent"):
        frame[column] = frame[column].map(lambda v: None if v is None else float(v)).astype(float)
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column])
    return frame.astype(LINE_COLUMNS).reset_index(drop=True)


def custom_frame(terms: dict[str, Any] | None) -> pd.DataFrame:
    items = list((terms or {}).items())
    return pd.DataFrame(
        {
            "name": pd.Series([n for n, _ in items], dtype="object"),
            "value": pd.Series([None if v is None else str(v) for _, v in items], dtype="object"),
        }
    )


def prefill_values(terms: dict[str, Any]) -> dict[str, Any]:
    """A version's terms as the widgets hold them (floats for number inputs)."""
    values = {name: terms.get(name) for name in TERM_NAMES}
    if isinstance(values["price_adjustment_pct"], Decimal):
        values["price_adjustment_pct"] = float(values["price_adjustment_pct"])
    values["auto_renew"] = bool(values["auto_renew"])
    return values


def _date(form: str, field: str, text: str, help: str | None = None) -> date | None:
    value = st.date_input(
        text,
        value=None,
        min_value=EARLIEST,
        max_value=LATEST,
        key=ui.key(form, field),
        help=help,
        format=fmt.date_input_format(),
    )
    ui.field_error(form, field)
    return value  # type: ignore[return-value]


def _months(form: str, field: str, text: str, minimum: int = 0) -> int | None:
    value = st.number_input(text, min_value=minimum, step=1, value=None, key=ui.key(form, field))
    ui.field_error(form, field)
    return None if value is None else int(value)


def _text(form: str, field: str, text: str) -> str:
    value = st.text_input(text, key=ui.key(form, field))
    ui.field_error(form, field)
    return value


def terms(form: str) -> dict[str, Any]:
    """Every term of SPEC R2 as a widget; the values by field name."""
    values: dict[str, Any] = {}
    left, middle, right = st.columns(3)
    with left:
        values["title"] = _text(form, "title", "Title")
        values["owner"] = _text(form, "owner", "Owner (account manager)")
        values["signed_date"] = _date(form, "signed_date", "Signed")
        values["start_date"] = _date(form, "start_date", "Start *")
        values["term_months"] = _months(form, "term_months", "Term (months)", 1)
        values["end_date"] = _date(form, "end_date", "End", "Empty: start + term")
    with middle:
        values["lock_in_months"] = _months(form, "lock_in_months", "Lock-in (months)")
        values["notice_months"] = _months(form, "notice_months", "Notice (months)")
        values["auto_renew"] = st.checkbox("Renews automatically", key=ui.key(form, "auto_renew"))
        ui.field_error(form, "auto_renew")
        values["renewal_term_months"] = _months(
            form, "renewal_term_months", "Renewal term (months)", 1
        )
        values["payment_terms_days"] = _months(form, "payment_terms_days", "Payment terms (days)")
        # The currencies with a planning rate; another may be typed (and is refused with
        # the reason), and one a contract already has stays on the list.
        held = st.session_state.get(ui.key(form, "currency"))
        offered = currencies()
        offered += [held] if held and held not in offered else []
        values["currency"] = st.selectbox(
            "Currency *", offered, key=ui.key(form, "currency"), accept_new_options=True
        )
        ui.field_error(form, "currency")
    with right:
        values["price_adjustment_rule"] = st.selectbox(
            "Price adjustment",
            list(RULES),
            format_func=ui.named(RULES),
            key=ui.key(form, "price_adjustment_rule"),
        )
        ui.field_error(form, "price_adjustment_rule")
        values["price_adjustment_pct"] = st.number_input(
            "Price adjustment %", value=None, step=0.1, key=ui.key(form, "price_adjustment_pct")
        )
        ui.field_error(form, "price_adjustment_pct")
        values["next_price_adjustment_date"] = _date(
            form, "next_price_adjustment_date", "Next price adjustment"
        )
        values["sla"] = st.text_area("SLA", key=ui.key(form, "sla"), height=68)
        ui.field_error(form, "sla")
    return values


def custom_terms(form: str) -> pd.DataFrame:
    st.markdown("**Custom terms**")
    st.caption("Any other term as a name and a value, so it can be searched and compared.")
    edited = st.data_editor(
        ui.table(form, "custom_terms"),
        key=ui.key(form, "custom_terms"),
        num_rows="dynamic",
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Name"),
            "value": st.column_config.TextColumn("Value"),
        },
    )
    ui.field_error(form, "custom_terms")
    return edited


def lines(form: str, numbered: bool = False) -> pd.DataFrame:
    """The line items; ``numbered`` shows which current line each row continues."""
    st.markdown("**Lines**")
    columns = list(LINE_COLUMNS) if numbered else list(LINE_COLUMNS)[1:]
    edited = st.data_editor(
        ui.table(form, "lines"),
        key=ui.key(form, "lines"),
        num_rows="dynamic",
        hide_index=True,
        column_config=fmt.editor_config(LINE_CONFIG),
        column_order=columns,
    )
    ui.row_errors(form, "lines")
    return edited


def new_contract_tables() -> dict[str, pd.DataFrame]:
    return {"lines": empty_lines(), "custom_terms": custom_frame(None)}
