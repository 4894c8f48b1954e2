"""Documents from templates: agreements, renegotiations and invoices as PDF (HTML
templates, WeasyPrint) or Word (docxtpl), in six languages, with the clause library.

A pure core: it imports neither Streamlit, Dagster, SQLAlchemy nor ``avtale``; the
repository passes plain dicts (docs/documents.md) and stores what comes back.
"""

from __future__ import annotations

from typing import Any

from docgen.clauses import Clause, builtin_clauses, check_conditions, select_clauses
from docgen.context import FIELDS, REQUIRED_FIELDS, SAMPLE_CONTEXT, missing_required
from docgen.errors import DocumentError, MissingField, Problem, TemplateProblem, UnknownField
from docgen.locale import BILLING_PERIODS, LANGUAGES, Formatter, load_labels
from docgen.render import PdfJob, Rendered, Template, builtin_templates, generate, pdf_job
from docgen.templates import render_html, validate_html
from docgen.word import docx_text, render_docx, validate_docx


def __getattr__(name: str) -> Any:
    # WeasyPrint takes a second to import; validating or making Word files does not need it.
    if name in ("html_to_pdf", "html_to_pdfs"):
        from docgen import pdf

        return getattr(pdf, name)
    raise AttributeError(f"module 'docgen' has no attribute {name!r}")


__all__ = [
    "BILLING_PERIODS",
    "FIELDS",
    "LANGUAGES",
    "REQUIRED_FIELDS",
    "SAMPLE_CONTEXT",
    "Clause",
    "DocumentError",
    "Formatter",
    "MissingField",
    "PdfJob",
    "Problem",
    "Rendered",
    "Template",
    "TemplateProblem",
    "UnknownField",
    "builtin_clauses",
    "builtin_templates",
    "check_conditions",
    "docx_text",
    "generate",
    "html_to_pdf",
    "html_to_pdfs",
    "load_labels",
    "missing_required",
    "pdf_job",
    "render_docx",
    "render_html",
    "select_clauses",
    "validate_docx",
    "validate_html",
]
