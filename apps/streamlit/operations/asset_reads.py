"""Installed assets (SPEC R2) as the customer card, the CRM customer page and the contract
page show them: the asset registers' rows from the published mart ``installed_assets``,
and the assets added by hand on an app contract from the operational database (the card's
and the contract view's ``assets``). An asset added by hand is also in the mart after the
next refresh; it is shown from the operational database only, so it appears once and at
once."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from avtale.serving import NotPublishedError, connect_serving
from common.marts_reads import TTL

COLUMNS = ["serial_number", "model", "location", "contract", "install_date", "source"]
HAND_ADDED = "Added on the contract"

# The contract covering it today (an adopted contract's app copy), app contracts by number.
ASSETS = """
select
    serial_number,
    model,
    location,
    case
        when covering_contract_id like 'app:%' then substr(covering_contract_id, 5)
        when covering_contract_id is null and contract_as_written is not null
            then contract_as_written || ' (unknown)'
        else covering_contract_id
    end as contract,
    install_date,
    case when source_system = 'app' then $hand_added else 'Register ' || source_file end
        as source
from installed_assets
where (customer_id = $customer_id or $contract_id in (contract_id, covering_contract_id))
    and (not $files_only or source_system <> 'app')
order by contract nulls last, serial_number
"""


def _assets(
    serving: str, customer_id: str | None, contract_id: str | None, files_only: bool
) -> pd.DataFrame:
    params = {
        "customer_id": customer_id,
        "contract_id": contract_id,
        "files_only": files_only,
        "hand_added": HAND_ADDED,
    }
    try:
        con = connect_serving(Path(serving))
    except NotPublishedError:
        return pd.DataFrame(columns=COLUMNS)
    try:
        return con.execute(ASSETS, params).df()
    except duckdb.CatalogException:  # published before the mart existed
        return pd.DataFrame(columns=COLUMNS)
    finally:
        con.close()


@st.cache_data(ttl=TTL)
def customer_assets(
    serving: str, version: int, customer_id: str, files_only: bool = False
) -> pd.DataFrame:
    """The assets of a customer (its id in the marts), by contract; ``files_only`` leaves
    out those added by hand (shown from the operational database instead)."""
    return _assets(serving, customer_id, None, files_only)


@st.cache_data(ttl=TTL)
def contract_assets(serving: str, version: int, contract_id: str) -> pd.DataFrame:
    """The registers' assets covering a contract (its id in the marts), or naming it."""
    return _assets(serving, None, contract_id, files_only=True)


def with_hand_added(hand_added: pd.DataFrame, from_registers: pd.DataFrame) -> pd.DataFrame:
    """The assets added by hand (serial number, model, location, perhaps contract) first,
    then the registers'."""
    added = hand_added.assign(source=HAND_ADDED).reindex(columns=COLUMNS)
    frames = [
        frame for frame in (added, from_registers.reindex(columns=COLUMNS)) if not frame.empty
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
