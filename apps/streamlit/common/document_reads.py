"""Stored documents as the contract page and the agreement flow show them: what each
generated document is, its bytes for a download, and a preview of its first page."""

from __future__ import annotations

from importlib.util import find_spec

import streamlit as st

from avtale.services import documents
from avtale.services.database import Version
from avtale.settings import paths
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def document_notes(url: str, version: Version, contract_number: str) -> dict[int, str]:
    return documents.document_notes(opened(url), contract_number)


def document_bytes(stored_path: str) -> bytes:
    """The stored file, read when the user asks to download it (not on every page run)."""
    return documents.document_bytes(paths(), stored_path)


@st.cache_data(ttl=TTL, max_entries=20)
def first_page_png(stored_path: str) -> bytes | None:
    """Keyed by path: stored files are content-addressed, so a path's content never changes."""
    return documents.first_page_png(paths(), stored_path)


def pdf_viewer() -> bool:
    """Whether ``st.pdf`` can show a PDF (it needs the streamlit-pdf component)."""
    return hasattr(st, "pdf") and find_spec("streamlit_pdf") is not None
