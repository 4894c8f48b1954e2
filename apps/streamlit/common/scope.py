"""What the sidebar selects, read the same way by the frame and by every page.

Pages run inside the frame's script run but cannot import it, so both sides
agree on the widget keys here and read the filters back from session state.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from avtale.serving import serving_version
from avtale.settings import paths

# customers column -> sidebar multiselect key
FILTER_KEYS = {
    "owner": "filter_owner",
    "country": "filter_country",
    "currency": "filter_currency",
}


@dataclass(frozen=True)
class Scope:
    """The serving copy to read and the customers to count (empty tuple = all)."""

    serving: str
    version: int
    owners: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    @property
    def filters(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        return self.owners, self.countries, self.currencies

    @property
    def is_filtered(self) -> bool:
        return any(self.filters)

    def describe(self) -> str:
        parts = [", ".join(values) for values in self.filters if values]
        return " · ".join(parts) if parts else "All customers"


def current_scope() -> Scope:
    serving = paths().serving

    def picked(column: str) -> tuple[str, ...]:
        # Sorted, so the same choice in another order hits the same cache entry.
        return tuple(sorted(st.session_state.get(FILTER_KEYS[column]) or ()))

    return Scope(
        serving=str(serving),
        version=serving_version(serving),
        owners=picked("owner"),
        countries=picked("country"),
        currencies=picked("currency"),
    )
