"""Avtale: the command line, settings and the published serving copy.

This package holds what ties the pure cores (``ingestion``, ``docgen``) to the
shells (Dagster, Streamlit): where data lives and how readers see it.
"""
