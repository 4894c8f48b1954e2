"""Templates & clauses (admin only): the versioned document templates and the clause
library (SPEC D1, D2). A change is always a new version; a template naming a field the
documents do not have is refused with its line, one too large or too slow or long to
render with the limit it broke, and nothing is saved."""

from __future__ import annotations

import math
from functools import partial

import pandas as pd
import streamlit as st

from admin import template_reads
from avtale.services import templates as library
from avtale.services.templates import TEMPLATE_PURPOSES
from common import access, database, ui
from docgen.template_limits import CHECK_SECONDS, MAX_OUTPUT_CHARS, MAX_TEMPLATE_BYTES

LANGUAGES = ["nb", "da", "sv", "de", "nl", "en"]
NEW = "__new__"

user = access.user()
url, version = database.current()
db = database.database()

st.title("Templates & clauses")
templates = template_reads.template_list(url, version)
latest = templates.drop_duplicates("key")

st.subheader("Templates")
ui.dataframe(
    ui.local_times(latest, "created_at"),
    key="tpl_table",
    hide_index=True,
    column_order=["key", "version_no", "name", "purpose", "format", "created_by", "created_at"],
    column_config={
        "key": "Key",
        "version_no": "Version",
        "name": "Name",
        "purpose": "Purpose",
        "format": "Format",
        "created_by": "By",
        "created_at": "When",
    },
)
st.caption("Field names for templates are listed in docs/documents.md.")

pick_col, version_col, download_col = st.columns([2, 1, 2], vertical_alignment="bottom")
key = pick_col.selectbox("Template", latest.key.tolist(), index=None, key="tpl_pick")
if key is not None:
    versions = templates[templates.key == key]
    chosen = version_col.selectbox("Version", versions.version_no.tolist(), key="tpl_version")
    row = versions[versions.version_no == chosen].iloc[0]
    suffix = ".html" if row.format == "html" else ".docx"
    download_col.download_button(
        f"Download {key} v{chosen}",
        data=partial(template_reads.template_body, url, int(row.id)),
        file_name=f"{key}-v{chosen}{suffix}",
        key="tpl_download",
        icon=":material/download:",
        on_click="ignore",
    )

with st.expander(
    "Upload a template", icon=":material/upload_file:", expanded=ui.pending("tpl_upload")
):
    form = "tpl_upload"
    st.caption(
        "An existing key gets a new version; a new key starts at version 1. "
        f"At most {MAX_TEMPLATE_BYTES['html'] / 1e6:g} MB for HTML, "
        f"{MAX_TEMPLATE_BYTES['docx'] / 1e6:g} MB for Word; the sample document must render "
        f"within {CHECK_SECONDS} s and to at most {MAX_OUTPUT_CHARS / 1e6:g} MB."
    )
    with st.form(form):
        left, right = st.columns(2)
        new_key = left.text_input("Key *", key=ui.key(form, "key"))
        with left:
            ui.field_error(form, "key")
        name = right.text_input("Name *", key=ui.key(form, "name"))
        with right:
            ui.field_error(form, "name")
        purpose = left.selectbox("Purpose *", TEMPLATE_PURPOSES, key=ui.key(form, "purpose"))
        with left:
            ui.field_error(form, "purpose")
        note = right.text_input("What changed", key=ui.key(form, "note"))
        upload = st.file_uploader(
            "HTML (for PDF) or Word (.docx) template",
            type=["html", "htm", "docx"],
            key=ui.key(form, "file"),
            max_upload_size=math.ceil(max(MAX_TEMPLATE_BYTES.values()) / 2**20),
        )
        ui.field_error(form, "file", "format", "body")
        ui.submit(
            form,
            "Upload",
            lambda: library.save_template(
                db,
                user.username,
                new_key,
                {"name": name, "purpose": purpose, "note": note},
                upload=None if upload is None else (upload.name, upload.getvalue()),
            ),
        )
    ui.result(form)

html = latest[latest.format == "html"]
with st.expander("Edit an HTML template", icon=":material/code:", expanded=ui.pending("tpl_edit")):
    form = "tpl_edit"
    edit_key = st.selectbox("Template", html.key.tolist(), index=None, key="tpl_editing")
    if edit_key is not None:
        current = html[html.key == edit_key].iloc[0]
        body = template_reads.template_body(url, int(current.id)).decode("utf-8", "replace")
        ui.prefill(form, int(current.id), {"body": body, "note": ""})
        with st.form(form):
            text = st.text_area(
                f"{edit_key} version {current.version_no}", key=ui.key(form, "body"), height=400
            )
            ui.field_error(form, "body")
            note = st.text_input("What changed", key=ui.key(form, "note"))
            ui.field_error(form, "key", "name", "purpose", "format")
            ui.submit(
                form,
                "Save new version",
                lambda: library.save_template(
                    db,
                    user.username,
                    edit_key,
                    {"name": current["name"], "purpose": current.purpose, "note": note},
                    text=text,
                ),
            )
    ui.result(form)

st.subheader("Clause library")
clauses = template_reads.clause_library(url, version)
ui.dataframe(
    clauses,
    key="clause_table",
    hide_index=True,
    column_order=["key", "language", "version_no", "title", "sort_order", "active", "conditions"],
    column_config={
        "key": "Key",
        "language": "Language",
        "version_no": "Version",
        "title": "Title",
        "sort_order": "Order",
        "active": st.column_config.CheckboxColumn("Active"),
        "conditions": "Conditions",
    },
)

with st.expander(
    "Edit or add a clause", icon=":material/edit_note:", expanded=ui.pending("clause_edit")
):
    form = "clause_edit"
    options = {NEW: "New clause"} | {
        f"{row.key}|{row.language}": f"{row.key} · {row.language} (v{row.version_no})"
        for row in clauses.itertuples()
    }
    picked = st.selectbox("Clause", list(options), format_func=ui.named(options), key="clause_pick")
    if picked == NEW:
        values = {"key": "", "language": "en", "title": "", "body": "", "sort_order": 100}
        values |= {"active": True, "conditions": ""}
    else:
        clause_key, language = picked.split("|")
        row = clauses[(clauses.key == clause_key) & (clauses.language == language)].iloc[0]
        values = {name: row[name] for name in ("key", "language", "title", "body", "conditions")}
        values |= {"sort_order": int(row.sort_order), "active": bool(row.active)}
    ui.prefill(form, (picked, tuple(pd.Series(values).astype(str))), values)
    with st.form(form):
        left, middle, right = st.columns(3)
        clause_key = left.text_input("Key *", key=ui.key(form, "key"), disabled=picked != NEW)
        with left:
            ui.field_error(form, "key")
        language = middle.selectbox(
            "Language *", LANGUAGES, key=ui.key(form, "language"), disabled=picked != NEW
        )
        with middle:
            ui.field_error(form, "language")
        order = right.number_input("Order *", min_value=0, step=10, key=ui.key(form, "sort_order"))
        with right:
            ui.field_error(form, "sort_order")
        title = st.text_input("Title *", key=ui.key(form, "title"))
        ui.field_error(form, "title")
        body = st.text_area("Text *", key=ui.key(form, "body"), height=160)
        ui.field_error(form, "body")
        conditions = st.text_area(
            "Conditions (YAML)",
            key=ui.key(form, "conditions"),
            help="When the clause is proposed, e.g. `proposal: [renegotiation]`; empty: always",
        )
        ui.field_error(form, "conditions")
        active = st.checkbox("Active", key=ui.key(form, "active"))
        ui.submit(
            form,
            "Save clause",
            lambda: library.save_clause(
                db,
                user.username,
                clause_key,
                language,
                {"title": title, "body": body, "sort_order": order, "active": active},
                conditions,
            ),
        )
    ui.result(form)
