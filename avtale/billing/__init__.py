"""Billing's pure core: what an issued invoice or credit note says and its totals (``model``),
payment references (``references``: KID, OCR), the Peppol BIS Billing 3.0 / EHF e-invoice
(``ubl``), bank statements in (``camt053``) and the accounting export out (``accounting``).

No database, Streamlit or Dagster here: frozen dataclasses in, values or bytes out, so the
register, the command line and the jobs use the same code and tests run it directly.
"""
