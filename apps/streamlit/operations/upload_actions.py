"""The Upload page's actions, through ``avtale.services.uploads``: load export files as
`avtale ingest` does and show the load report, and start a refresh as `avtale refresh`
does, its lines shown as they come."""

from __future__ import annotations

import streamlit as st

from avtale.services import uploads
from avtale.services.database import Database
from avtale.services.unit_of_work import FORM, Outcome
from avtale.settings import paths
from common import ui

UPLOAD = "upload"
REFRESH = "upload_refresh"
# The last load's outcome stays shown while the user refreshes; a new load replaces it.
REPORT = "upload__report"
# Counts the loads, so the uploader starts empty after each (its files are filed away).
ROUND = "upload__round"

FILE_COLUMNS: ui.ColumnConfigs = {
    "file": "File",
    "kind": "Kind",
    "status": "Status",
    "rows_read": st.column_config.NumberColumn("Rows read"),
    "rows_loaded": st.column_config.NumberColumn("Loaded"),
    "rows_quarantined": st.column_config.NumberColumn("Quarantined"),
    "note": "Note",
}
QUARANTINE_COLUMNS: ui.ColumnConfigs = {
    "file": "File",
    "row": st.column_config.NumberColumn("Row"),
    "field": "Field",
    "reason": "Reason",
}


def upload(db: Database, actor: str) -> None:
    """The files to load, and the button that loads them."""
    turn = st.session_state.get(ROUND, 0)
    with st.form(UPLOAD):
        files = st.file_uploader(
            "Export files *",
            accept_multiple_files=True,
            key=f"{UPLOAD}_files_{turn}",
            help="HubSpot exports (companies, deals, line items), the generic CSV format "
            "(customers, contracts, contract lines) and planning FX rates; CSV, TSV or TXT, "
            "in any encoding and delimiter `avtale ingest` reads.",
        )
        if st.form_submit_button("Load files", key=ui.submit_key(UPLOAD), type="primary"):
            made = uploads.load_uploads(
                db, actor, paths(), [(f.name, f.getvalue()) for f in files or []]
            )
            st.session_state[REPORT] = made
            if made.ok:
                st.session_state[ROUND] = turn + 1
                st.rerun()


def report() -> None:
    """The last load: what became of each file, and every quarantined row with its reason."""
    made: Outcome | None = st.session_state.get(REPORT)
    if made is None:
        return
    if not made.ok:
        for field, message in made.errors.items():
            text = message if field == FORM else f"{ui.label(field)}: {message}"
            st.error(sentence(text), icon=":material/error:")
        return
    st.subheader("Load report")
    st.success(ui.md(made.message), icon=":material/check_circle:")
    files = made.detail["files"]
    for row in files.itertuples():
        if row.status == uploads.STATUS["error"]:
            st.warning(
                f"{ui.md(row.file)} was not loaded: {ui.md(row.note)}", icon=":material/block:"
            )
        elif row.status == uploads.STATUS["duplicate"]:
            st.info(f"{ui.md(row.file)}: {ui.md(row.note)}", icon=":material/content_copy:")
        elif row.status == uploads.STATUS["waiting"]:
            st.info(f"{ui.md(row.file)}: {ui.md(row.note)}", icon=":material/hourglass_top:")
    st.dataframe(
        files,
        key="upload_files_table",
        hide_index=True,
        column_order=list(FILE_COLUMNS),
        column_config=FILE_COLUMNS,
    )
    quarantined = made.detail["quarantined"]
    if quarantined.empty:
        return
    st.markdown("**Quarantined rows** (row numbers as a spreadsheet shows them: header = 1)")
    st.dataframe(
        quarantined,
        key="upload_quarantine_table",
        hide_index=True,
        column_order=list(QUARANTINE_COLUMNS),
        column_config=QUARANTINE_COLUMNS,
    )
    st.caption("The first 200 of each file; all are in the published `quarantine` table.")


def refresh(db: Database, actor: str) -> None:
    """Start a refresh, unless one is running; its lines in a status box as they come."""
    if uploads.is_refreshing(paths()):
        st.info(sentence(uploads.RUNNING), icon=":material/sync:")
        st.button("Check again", key=f"{REFRESH}_check", icon=":material/refresh:")
        return
    if not st.button("Refresh the dashboards", key=ui.submit_key(REFRESH), icon=":material/sync:"):
        return
    with st.status(
        "Refreshing: loading the inbox, building the marts, publishing…", expanded=True
    ) as box:
        made = uploads.refresh(db, actor, paths(), say=lambda line: box.write(ui.md(line)))
        box.update(
            label="Refresh done" if made.ok else "Refresh not done",
            state="complete" if made.ok else "error",
        )
    if made.ok:
        st.success(ui.md(made.message), icon=":material/check_circle:")
    else:
        for message in made.errors.values():
            st.error(sentence(message), icon=":material/error:")


def sentence(message: str) -> str:
    """A service's message ("a refresh is running ...") as a sentence, safe as markdown."""
    text = message[:1].upper() + message[1:]
    return ui.md(text if text.endswith((".", "!", "?")) else text + ".")
