"""Upload: export files loaded as `avtale ingest` loads them, with the load report and the
quarantined rows, and a refresh that brings them to the dashboards."""

from __future__ import annotations

import streamlit as st

from common import access, database
from operations import upload_actions

user = access.user()
db = database.database()

st.title("Upload")
st.caption(
    "Each file is judged on its own and loaded once (a file with the same content is "
    "skipped). Loaded files are kept in the archive; a file that cannot be read or "
    "recognised is kept in `rejected/` with a note saying why. Rows that cannot be used "
    "are quarantined with their row, field and reason."
)
upload_actions.upload(db, user.username)
upload_actions.report()

st.subheader("Refresh")
st.caption(
    "Loaded files reach the dashboards with the next refresh: it builds the marts and "
    "publishes them, as `avtale refresh` does."
)
upload_actions.refresh(db, user.username)
