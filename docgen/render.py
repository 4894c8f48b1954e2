"""The one entry point the repository calls: a stored template and a context in, a PDF
or a Word file out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from docgen.context import PURPOSES_SERVED
from docgen.errors import DocumentError
from docgen.templates import BUILTIN, render_html
from docgen.word import render_docx

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@dataclass(frozen=True)
class Template:
    """A template as stored: ``format`` is "html" (makes PDFs) or "docx" (makes .docx);
    ``purpose`` is agreement, renegotiation or invoice (an agreement template also makes
    renegotiations)."""

    key: str
    version: int
    format: str  # "html" or "docx"
    purpose: str
    body: bytes
    name: str = ""


@dataclass(frozen=True)
class Rendered:
    content: bytes
    content_type: str
    suffix: str
    filename: str


def _purpose(template: Template, document: Mapping[str, Any]) -> str:
    purpose = str(document.get("purpose") or template.purpose)
    if purpose not in PURPOSES_SERVED.get(template.purpose, ()):
        raise DocumentError(
            f"template {template.key} is for {template.purpose} documents, not {purpose}"
        )
    return purpose


def _filename(template: Template, document: Mapping[str, Any], suffix: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(document.get("number") or template.key))
    return stem.strip("-.") + suffix


def generate(
    template: Template, context: Mapping[str, Any], *, fmt: Literal["pdf", "docx"]
) -> Rendered:
    """The document ``template`` makes from ``context``, in the language of
    ``context["document"]["language"]``. Raises MissingField (naming the fields),
    TemplateProblem (with the line) or DocumentError (a template that cannot make ``fmt``).
    """
    if fmt == "pdf":
        # WeasyPrint takes a second to import: only callers that make PDFs pay for it.
        from docgen.pdf import html_to_pdf

        job = pdf_job(template, context)
        return job.rendered(html_to_pdf(job.html))
    document, language, purpose = _document(template, context)
    if fmt != "docx":
        raise DocumentError(f"unknown format {fmt!r}; use pdf or docx")
    if template.format != "docx":
        raise DocumentError(f"template {template.key} is an HTML template: it makes PDF, not .docx")
    content = render_docx(template.body, context, language=language, purpose=purpose)
    return Rendered(
        content, CONTENT_TYPES[".docx"], ".docx", _filename(template, document, ".docx")
    )


@dataclass(frozen=True)
class PdfJob:
    """A PDF ready to be laid out: the template filled in (quick, here) and the file's name.
    ``docgen.pdf`` lays it out, alone (``html_to_pdf``) or in a batch (``html_to_pdfs``)."""

    html: str
    filename: str

    def rendered(self, content: bytes) -> Rendered:
        return Rendered(content, CONTENT_TYPES[".pdf"], ".pdf", self.filename)


def pdf_job(template: Template, context: Mapping[str, Any]) -> PdfJob:
    """What ``generate(template, context, fmt="pdf")`` lays out; raises as it does."""
    document, language, purpose = _document(template, context)
    if template.format != "html":
        raise DocumentError(f"template {template.key} is a Word template: it makes .docx, not PDF")
    html = render_html(template.body.decode("utf-8"), context, language=language, purpose=purpose)
    return PdfJob(html, _filename(template, document, ".pdf"))


def _document(template: Template, context: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, str]:
    document = context.get("document") or {}
    language = str(document.get("language") or "")
    if not language:
        raise DocumentError("document.language is empty: the language decides the wording")
    return document, language, _purpose(template, document)


_BUILTIN_TEMPLATES = (
    ("agreement", "Agreement (PDF)", "html", "agreement", "agreement.html"),
    ("agreement-word", "Agreement (Word)", "docx", "agreement", "agreement.docx"),
    ("invoice", "Invoice (PDF)", "html", "invoice", "invoice.html"),
)


def builtin_templates() -> list[Template]:
    """The built-in templates, version 1, for seeding an empty database."""
    return [
        Template(key, 1, fmt, purpose, (Path(BUILTIN) / filename).read_bytes(), name)
        for key, name, fmt, purpose, filename in _BUILTIN_TEMPLATES
    ]
