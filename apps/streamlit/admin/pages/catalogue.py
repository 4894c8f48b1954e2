"""Catalogue (admin only): the products the guided flow offers and bulk price updates read,
with their prices per price list and currency; and an import of products and prices from a
CSV exported by accounting or a CRM (docs/formats.md, SPEC I1). The file is previewed
first: what it would change, or every bad row; it is applied whole or not at all."""

from __future__ import annotations

import streamlit as st

from admin import catalogue_reads
from avtale.services import catalogue
from common import access, database, ui

user = access.user()
url, version = database.current()
db = database.database()

st.title("Catalogue")
table = catalogue_reads.price_table(url, version)
st.caption(
    f"{len(table)} products. Prices are per unit and billing period, net of VAT; the "
    "guided flow offers the active ones at the proposal's price list and currency."
)
st.dataframe(
    table.assign(billing_period=table.billing_period.map(ui.period_name)),
    key="cat_table",
    hide_index=True,
    column_config={
        "code": "Code",
        "name": "Name",
        "billing_period": "Billing",
        "billing_interval_months": st.column_config.NumberColumn("Every N months"),
        "licence": st.column_config.CheckboxColumn("Licence"),
        "active": st.column_config.CheckboxColumn("Active"),
    },
)

form = "cat_import"
with st.expander("Import products and prices", icon=":material/upload_file:", expanded=True):
    st.caption(
        "One row per product and price: its code and product fields, then a price list, "
        "currency and price; the columns are named in docs/formats.md (Products and price "
        "lists). Products are matched by code and prices by price list "
        "and currency; products not in the file stay as they are and nothing is deleted. A "
        "file with any bad row changes nothing: fix the rows named and upload it again."
    )
    upload = st.file_uploader(
        "Catalogue file (CSV)",
        type=["csv", "tsv", "txt"],
        key=ui.key(form, "file"),
        max_upload_size=ui.upload_limit_mb(),
    )
    if upload is not None:
        name, data = upload.name, upload.getvalue()
        preview = catalogue_reads.preview(url, version, user.username, name, data)
        if not preview.ok:
            st.error(
                f"{len(preview.errors)} problems in {name}: nothing is imported until the "
                "file is fixed.",
                icon=":material/error:",
            )
            st.dataframe(
                catalogue.problems(preview.errors),
                key="cat_problems",
                hide_index=True,
                column_config={"where": "Where", "problem": "Problem"},
            )
        else:
            report = preview.detail["report"]
            st.info(ui.md(preview.message), icon=":material/preview:")
            for note in report.notes():
                st.caption(ui.md(note[:1].upper() + note[1:] + "."))
            if report.changed:
                st.dataframe(
                    catalogue.changes(report),
                    key="cat_changes",
                    hide_index=True,
                    column_config={
                        "code": "Code",
                        "what": "Change",
                        "item": "Of",
                        "before": "Before",
                        "after": "After",
                    },
                )
                ui.action_button(
                    form,
                    f"Import {len(report.changes)} changes",
                    lambda: catalogue.import_catalogue(db, user.username, name, data),
                )
    ui.result(form)
