"""Billing's pure core: what an issued invoice or credit note says and its totals (``model``),
payment references (``references``: KID, OCR), the Peppol BIS Billing 3.0 / EHF e-invoice
(``ubl``), bank statements in (``camt053``) and the accounting export out (``accounting``).

These, with ``config`` (billing.yaml), ``schedule`` (what a contract owes: the pro rata
rule) and ``reconcile`` (owed less billed, as documents to issue), have no database,
Streamlit or Dagster: frozen dataclasses in, values or bytes out, so the register, the
command line and the jobs use the same code and tests run it directly.

The register is the database-backed half (docs/billing.md): ``register`` issues documents,
``stored`` turns a kept one back into its ``BillingDocument``, ``status`` says where each
stands, ``payments`` imports and matches statements, ``exports`` writes e-invoices and the
journal, ``pdf`` the PDF. Callers go through ``avtale.services.invoices``.
"""
