"""The versioned templates and the clause library (SPEC D1, D2), for the Templates page and
the agreement flow's choice of template."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from avtale.services import templates
from avtale.services.database import Version
from common.database import TTL, opened


@st.cache_data(ttl=TTL)
def template_list(url: str, version: Version) -> pd.DataFrame:
    return templates.templates(opened(url))


def template_body(url: str, template_id: int) -> bytes:
    """A template version's file, read when asked for (a download, the HTML editor)."""
    return templates.template_body(opened(url), template_id)


@st.cache_data(ttl=TTL)
def clause_library(url: str, version: Version) -> pd.DataFrame:
    return templates.clause_library(opened(url))
