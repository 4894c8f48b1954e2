"""docgen: locale, labels, context, templates, PDF, Word, clauses and the entry point.

Generated documents are compared to golden text files in tests/data/docgen (PDF through
`pdftotext -layout`, Word through docx_text); UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import copy
import io
import os
import subprocess
import sys
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document

import docgen
from docgen import Clause, MissingField, Problem, TemplateProblem
from docgen.build_word_template import OUTPUT as WORD_TEMPLATE
from docgen.build_word_template import build
from docgen.locale import LABELS_DIR, Formatter
from docgen.pdf import FETCHER
from docgen.render import builtin_templates

DATA = Path(__file__).parent / "data" / "docgen"
TEMPLATES = {template.key: template for template in builtin_templates()}
NBSP = "\xa0"


# --- helpers and fixed contexts -----------------------------------------------------


def assert_golden(name: str, text: str) -> None:
    """``text`` equals tests/data/docgen/``name`` up to trailing whitespace."""
    normalised = "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n") + "\n"
    path = DATA / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(normalised, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run the tests once with UPDATE_GOLDEN=1"
    assert normalised == path.read_text(encoding="utf-8")


def pdf_text(pdf: bytes, tmp: Path) -> str:
    path = tmp / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def pdf_pages(pdf: bytes, tmp: Path) -> int:
    path = tmp / "document.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True)
    return int(
        next(line for line in info.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )


def context(**changes: Any) -> dict[str, Any]:
    """A deep copy of the sample context with top-level sections updated."""
    result = copy.deepcopy(docgen.SAMPLE_CONTEXT)
    for name, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(name), dict):
            result[name].update(value)
        else:
            result[name] = value
    return result


def fixture_clauses(language: str) -> list[dict[str, Any]]:
    library = docgen.builtin_clauses(DATA / "clauses.yaml")
    answers = {"language": language, "auto_renew": True, "term_months": 36}
    return [clause.as_context() for clause in docgen.select_clauses(library, answers)]


def agreement_nb() -> dict[str, Any]:
    return context(clauses=fixture_clauses("nb"))


AMOUNTS = {
    "quantity",
    "unit_price",
    "discount_percent",
    "period_amount",
    "mrr",
    "arr",
    "one_off",
    "net",
    "vat_rate",
    "vat",
    "gross",
    "price_adjustment_pct",
}


def _decimals(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: Decimal(item) if key in AMOUNTS and isinstance(item, str) else _decimals(item)
            for key, item in value.items()
        }
    return [_decimals(item) for item in value] if isinstance(value, list) else value


def fixture_context(name: str) -> dict[str, Any]:
    """A golden document's context: tests/data/docgen/contexts.yaml over the sample."""
    changes = yaml.safe_load((DATA / "contexts.yaml").read_text(encoding="utf-8"))[name]
    result = context(**_decimals(changes))
    result["clauses"] = fixture_clauses(result["document"]["language"])
    return result


def renegotiation_de() -> dict[str, Any]:
    return fixture_context("renegotiation_de")


def invoice_en() -> dict[str, Any]:
    return fixture_context("invoice_en")


@pytest.fixture(scope="module")
def agreement_pdf() -> bytes:
    return docgen.generate(TEMPLATES["agreement"], agreement_nb(), fmt="pdf").content


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    return docgen.generate(TEMPLATES["invoice"], invoice_en(), fmt="pdf").content


# --- locale -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("nb", Decimal("1234.5"), "NOK", f"1{NBSP}234,50{NBSP}kr"),
        ("nb", -1234.5, "NOK", f"-1{NBSP}234,50{NBSP}kr"),
        ("da", "1234.5", "DKK", f"1.234,50{NBSP}kr."),
        ("sv", 1234, "SEK", f"1{NBSP}234,00{NBSP}kr"),
        ("de", Decimal("1234.5"), "EUR", f"1.234,50{NBSP}€"),
        ("nl", Decimal("1234.5"), "EUR", f"€{NBSP}1.234,50"),
        ("en", Decimal("1234.5"), "GBP", "£1,234.50"),
        ("en", Decimal("0.1"), "eur", "€0.10"),
    ],
)
def test_money(language: str, amount: object, currency: str, expected: str) -> None:
    assert Formatter(language).money(amount, currency) == expected


@pytest.mark.parametrize(
    ("language", "long", "short"),
    [
        ("nb", "1. mars 2026", "01.03.2026"),
        ("da", "1. marts 2026", "01.03.2026"),
        ("sv", "1 mars 2026", "2026-03-01"),
        ("de", "1. März 2026", "01.03.26"),
        ("nl", "1 maart 2026", "01-03-2026"),
        ("en", "1 March 2026", "01/03/2026"),
    ],
)
def test_dates(language: str, long: str, short: str) -> None:
    formatter = Formatter(language)
    assert formatter.date(date(2026, 3, 1)) == long
    assert formatter.date(datetime(2026, 3, 1, 23, 59), "short") == short
    assert formatter.date("2026-03-01") == long


@pytest.mark.parametrize(
    ("language", "call", "expected"),
    [
        ("nb", ("number", Decimal("1234.567")), f"1{NBSP}234,57"),
        ("en", ("number", "1234.5", 0), "1,234"),
        ("de", ("number", 2.5, 1), "2,5"),
        ("nb", ("percent", Decimal("12.5")), f"12,5{NBSP}%"),
        ("de", ("percent", 25), f"25{NBSP}%"),
        ("nl", ("percent", "7.125"), "7,125%"),
        ("en", ("percent", 12.5), "12.5%"),
        ("nb", ("period", "monthly"), "Månedlig"),
        ("de", ("period", "half_yearly"), "Halbjährlich"),
        ("sv", ("period", "every_n_months", 4), "Med 4 månaders intervall"),
        ("en", ("period", "every_n_months", 18), "Every 18 months"),
        ("nb", ("months", 1), "1 måned"),
        ("nb", ("months", 12), "12 måneder"),
        ("da", ("country", "NO"), "Norge"),
        ("de", ("country", "GB"), "Vereinigtes Königreich"),
    ],
)
def test_formatter(language: str, call: tuple[Any, ...], expected: str) -> None:
    method, *args = call
    assert getattr(Formatter(language), method)(*args) == expected


def test_formatter_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="nb, da, sv, de, nl, en"):
        Formatter("fi")
    with pytest.raises(ValueError, match="not a number"):
        Formatter("nb").money("12,50", "NOK")
    with pytest.raises(ValueError, match="unknown billing period"):
        Formatter("nb").period("fortnightly")
    with pytest.raises(ValueError, match="interval"):
        Formatter("nb").period("every_n_months")


# --- labels -------------------------------------------------------------------------


def test_labels_have_the_same_keys_in_every_language() -> None:
    english = yaml.safe_load((LABELS_DIR / "en.yaml").read_text(encoding="utf-8"))
    for language in docgen.LANGUAGES:
        labels = yaml.safe_load((LABELS_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
        assert list(labels) == list(english), language
        assert all(isinstance(value, str) and value.strip() for value in labels.values())
        assert {f"period_{period}" for period in docgen.BILLING_PERIODS} <= set(labels)


@pytest.mark.parametrize(
    ("language", "agreement", "renegotiation", "invoice"),
    [
        ("nb", "Avtale", "Reforhandling av avtale", "Faktura"),
        ("da", "Aftale", "Genforhandling af aftale", "Faktura"),
        ("sv", "Avtal", "Omförhandling av avtal", "Faktura"),
        ("de", "Vertrag", "Neuverhandlung des Vertrags", "Rechnung"),
        ("nl", "Overeenkomst", "Heronderhandeling van de overeenkomst", "Factuur"),
        ("en", "Agreement", "Renegotiation of agreement", "Invoice"),
    ],
)
def test_headings(language: str, agreement: str, renegotiation: str, invoice: str) -> None:
    labels = docgen.load_labels(language)
    assert (labels["title_agreement"], labels["title_renegotiation"]) == (agreement, renegotiation)
    assert labels["title_invoice"] == invoice


# --- context ------------------------------------------------------------------------


def test_sample_context_fills_every_documented_field() -> None:
    for name, schema in docgen.FIELDS.items():
        if name == "labels":
            continue
        value = docgen.SAMPLE_CONTEXT[name]
        records = value if isinstance(schema, list) else [value]
        fields = schema[0] if isinstance(schema, list) else schema
        for record in records if isinstance(fields, dict) else []:
            for field, sub in fields.items():
                leaves = record[field].values() if isinstance(sub, dict) else [record[field]]
                assert all(leaf is not None for leaf in leaves), f"{name}.{field}"


@pytest.mark.parametrize(
    ("purpose", "emptied", "expected"),
    [
        ("agreement", {}, []),
        (
            "agreement",
            {"customer": {"name": " "}, "lines": []},
            ["customer.name", "lines (at least one line)"],
        ),
        (
            "agreement",
            {"contract": {"start_date": None, "currency": None}},
            ["contract.start_date", "contract.currency"],
        ),
        ("renegotiation", {"contract": {"previous_number": None}}, ["contract.previous_number"]),
        (
            "invoice",
            {"invoice": None},
            [
                "invoice.number",
                "invoice.issue_date",
                "invoice.due_date",
                "invoice.net",
                "invoice.vat",
                "invoice.gross",
            ],
        ),
    ],
)
def test_missing_required(purpose: str, emptied: dict[str, Any], expected: list[str]) -> None:
    assert docgen.missing_required(context(**emptied), purpose) == expected


# --- templates ----------------------------------------------------------------------


def render(source: str, values: dict[str, Any] | None = None, purpose: str = "agreement") -> str:
    return docgen.render_html(source, values or context(), language="nb", purpose=purpose)


def test_a_printed_empty_field_stops_generation_with_its_path() -> None:
    values = context(contract={"signing_deadline": None, "sla": None})
    with pytest.raises(MissingField, match=r"^contract\.signing_deadline is empty$") as caught:
        render("line one\n{{ contract.signing_deadline | date }}", values)
    assert caught.value.line == 2
    values["lines"][1]["discount_end_date"] = None
    with pytest.raises(MissingField, match=r"lines\[1\]\.discount_end_date is empty"):
        render("{% for line in lines %}{{ line.discount_end_date }}{% endfor %}", values)


def test_empty_fields_print_nothing_where_the_template_asks() -> None:
    values = context(contract={"sla": None}, signatories=None)
    source = "{% if contract.sla %}SLA{% endif %}|{{ contract.sla | default('-') }}|"
    source += "{{ 'yes' if contract.sla is defined else 'no' }}|{% if signatories %}x{% endif %}"
    assert render(source, values) == "|-|no|"


def test_required_fields_are_checked_before_rendering() -> None:
    values = context(customer={"name": None}, lines=[])
    with pytest.raises(MissingField) as caught:
        render("{{ customer.name }}", values)
    assert caught.value.fields == ["customer.name", "lines (at least one line)"]
    assert "customer.name" in str(caught.value)


def test_values_are_escaped_in_html() -> None:
    values = context(customer={"name": "<script>alert(1)</script> & Co"})
    assert render("<p>{{ customer.name }}</p>", values) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>"
    )


def test_unknown_fields_fail_at_render_time_with_their_line() -> None:
    with pytest.raises(TemplateProblem, match="unknown field contract.pricee") as caught:
        render("\n\n{{ contract.pricee }}")
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ customer.name }}\n{% if contract.sla %}{{ contract.sla }}{% endif %}", []),
        ('{% extends "base.html" %}{% block content %}{{ seller.name }}{% endblock %}', []),
        ("a\nb\n{% if contract.sla %}\nc\n{% endfor %}", [(5, "Encountered unknown tag 'endfor'")]),
        ("1\n2\n3\n4\n5\n6\n{{ contract.pricee }}", [(7, "unknown field contract.pricee")]),
        ("{{ customr.name }}", [(1, "unknown field customr")]),
        (
            "{% for line in lines %}\n{{ line.product }}\n{{ line.foo }}\n{% endfor %}",
            [(3, "unknown field lines[].foo")],
        ),
        ("{% if false %}\n{{ labels.nope }}{% endif %}", [(2, "unknown field labels.nope")]),
        ("{% set c = contract %}\n{{ c.pricee }}", [(2, "unknown field contract.pricee")]),
        ("\n{{ contract.start_date | money }}", [(2, "missing 1 required positional argument")]),
        ('{% include "nope.html" %}', [(1, "no built-in template 'nope.html'")]),
        ("{{ seller.name.__class__ }}", [(1, "is unsafe")]),
    ],
)
def test_validate_html(source: str, expected: list[tuple[int, str]]) -> None:
    problems = docgen.validate_html(source, "agreement")
    assert [problem.line for problem in problems] == [line for line, _ in expected]
    for problem, (_, message) in zip(problems, expected, strict=True):
        assert message in problem.message


def test_builtin_templates_are_valid() -> None:
    assert docgen.validate_html(TEMPLATES["agreement"].body.decode(), "agreement") == []
    assert docgen.validate_html(TEMPLATES["invoice"].body.decode(), "invoice") == []
    assert docgen.validate_docx(TEMPLATES["agreement-word"].body, "agreement") == []


def test_invoice_without_vat_prints_the_reverse_charge_note() -> None:
    values = invoice_en()
    note = "Reverse charge – Article 196, Council Directive 2006/112/EC"
    values["invoice"].update(
        vat_rate=Decimal("0"),
        vat_category="AE",
        vat_note=note,
        vat=Decimal("0"),
        gross=Decimal("731.50"),
    )
    html = docgen.render_html(
        TEMPLATES["invoice"].body.decode(), values, language="en", purpose="invoice"
    )
    assert f'<p class="note">{note}</p>' in html


# --- pdf ----------------------------------------------------------------------------


def test_agreement_pdf_golden(agreement_pdf: bytes, tmp_path: Path) -> None:
    assert_golden("agreement_nb.txt", pdf_text(agreement_pdf, tmp_path))


def test_renegotiation_pdf_golden(tmp_path: Path) -> None:
    pdf = docgen.generate(TEMPLATES["agreement"], renegotiation_de(), fmt="pdf").content
    text = pdf_text(pdf, tmp_path)
    assert "Neuverhandlung des Vertrags" in text and "Anzahl Lizenzen" in text
    assert_golden("renegotiation_de.txt", text)


def test_invoice_pdf_golden(invoice_pdf: bytes, tmp_path: Path) -> None:
    assert_golden("invoice_en.txt", pdf_text(invoice_pdf, tmp_path))


def test_long_agreement_runs_over_pages_with_numbered_footers(
    agreement_pdf: bytes, tmp_path: Path
) -> None:
    pages = pdf_pages(agreement_pdf, tmp_path)
    assert pages >= 2
    text = pdf_text(agreement_pdf, tmp_path)
    for page in range(1, pages + 1):
        assert f"Side {page} av {pages}" in text
    # The signature block is kept together: both captions on the last page.
    assert text.split("\f")[pages - 1].count("Sted og dato") == 2


def test_markup_in_values_stays_text_in_the_pdf(tmp_path: Path) -> None:
    name = "<script>alert(1)</script> & Co"
    values = context(customer={"name": name}, seller={"name": '</style>"Nordlys" \\ AS'})
    pdf = docgen.generate(TEMPLATES["agreement"], values, fmt="pdf").content
    text = pdf_text(pdf, tmp_path)
    assert name in text
    assert '</style>"Nordlys" \\ AS' in text  # the running header, a CSS string


def _ppm(pdf: bytes, tmp: Path) -> tuple[int, int, bytes]:
    """Page 1 at 50 dpi as (width, height, RGB bytes), parsed from pdftoppm's PPM."""
    (tmp / "page.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-f", "1", "-l", "1", str(tmp / "page.pdf"), str(tmp / "page")],
        check=True,
    )
    data = next(tmp.glob("page*.ppm")).read_bytes()
    magic, width, height, maximum, pixels = data.split(maxsplit=4)
    assert (magic, maximum) == (b"P6", b"255")
    return int(width), int(height), pixels


def test_the_stylesheet_parsed_once_draws_what_the_linked_one_did(tmp_path: Path) -> None:
    """docgen.pdf gives a document linking the built-in style.css the stylesheet it parsed
    once, and caches the logo: the pages look exactly as WeasyPrint draws the document
    reading both itself, for the first document and the next (at 50 dpi, every pixel)."""
    from weasyprint import HTML

    from docgen.pdf import BASE_URL, STYLESHEET_LINK, html_to_pdf
    from docgen.templates import render_html

    values = invoice_en()
    values["document"]["status"] = "draft"  # the running header's watermark word too
    html = render_html(
        TEMPLATES["invoice"].body.decode("utf-8"), values, language="en", purpose="invoice"
    )
    assert STYLESHEET_LINK in html
    plain = HTML(string=html, base_url=BASE_URL, url_fetcher=FETCHER).write_pdf()
    (tmp_path / "plain").mkdir()
    (tmp_path / "cached").mkdir()
    expected = _ppm(plain, tmp_path / "plain")
    for _ in range(2):
        for leftover in (tmp_path / "cached").iterdir():
            leftover.unlink()
        assert _ppm(html_to_pdf(html), tmp_path / "cached") == expected


def test_a_batch_laid_out_in_a_pool_is_what_one_process_makes(
    agreement_pdf: bytes, invoice_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """html_to_pdfs in a pool of two processes: each document's PDF, byte for byte what
    html_to_pdf makes here, in the order asked; one whose layout fails comes back as its
    exception in its place, and the documents after it still come. The layouts happen in
    the workers: this process's html_to_pdf refuses while they run."""
    from docgen import pdf

    def not_here(html: str) -> bytes:
        raise AssertionError("laid out in the test's own process")

    agreement = docgen.pdf_job(TEMPLATES["agreement"], agreement_nb())
    invoice = docgen.pdf_job(TEMPLATES["invoice"], invoice_en())
    too_deep = "<div>" * 3000  # WeasyPrint's layout recurses past Python's limit
    htmls = [agreement.html, invoice.html, too_deep, agreement.html, invoice.html]
    with monkeypatch.context() as patched:
        patched.setattr(pdf, "html_to_pdf", not_here)
        laid_out = list(pdf.html_to_pdfs(htmls, processes=2, pool_from=2))
    html_to_pdfs = pdf.html_to_pdfs
    assert laid_out[0] == laid_out[3] == agreement_pdf
    assert laid_out[1] == laid_out[4] == invoice_pdf
    assert isinstance(laid_out[2], docgen.DocumentError)
    assert str(laid_out[2]).startswith("RecursionError")
    # Below pool_from the same comes from this process.
    assert list(html_to_pdfs([invoice.html], processes=2, pool_from=2)) == [invoice_pdf]
    made = docgen.generate(TEMPLATES["invoice"], invoice_en(), fmt="pdf")
    assert invoice.rendered(invoice_pdf) == made


def test_a_batch_whose_workers_die_is_laid_out_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers that exit at once (their interpreter is /bin/false here) leave every
    document to this process: each PDF still comes, as html_to_pdf makes it."""
    from docgen import pdf

    html = docgen.pdf_job(TEMPLATES["invoice"], invoice_en()).html
    expected = pdf.html_to_pdf(html)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert list(pdf.html_to_pdfs([html] * 3, processes=2, pool_from=2)) == [expected] * 3


def test_first_page_looks_like_the_layout(invoice_pdf: bytes, tmp_path: Path) -> None:
    width, height, pixels = _ppm(invoice_pdf, tmp_path)
    assert abs(height / width - 297 / 210) < 0.01  # A4
    mm = width / 210

    def region(x0: float, y0: float, x1: float, y1: float) -> list[tuple[int, int, int]]:
        return [
            tuple(pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3])  # type: ignore[misc]
            for y in range(int(y0 * mm), int(y1 * mm))
            for x in range(int(x0 * mm), int(x1 * mm))
        ]

    def near(colour: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
        return sum(abs(a - b) for a, b in zip(colour, target, strict=True)) < 60

    header = region(0, 0, 210, 24)
    assert sum(colour != (255, 255, 255) for colour in header) > 200
    logo_green = (0x0B, 0x6E, 0x4F)
    assert sum(near(colour, logo_green) for colour in region(15, 5, 80, 24)) > 100
    assert not any(near(colour, logo_green) for colour in region(120, 60, 200, 80))
    body = region(17, 30, 193, 200)
    assert sum(max(colour) < 90 for colour in body) > 500  # dark text
    assert sum(colour == (255, 255, 255) for colour in body) > len(body) // 2


def test_fetcher_serves_only_builtin_files_and_data() -> None:
    assert (
        FETCHER.fetch((docgen.templates.BUILTIN / "logo.svg").as_uri()).read().startswith(b"<svg")
    )
    assert FETCHER.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in (
        "http://example.com/logo.png",
        "https://example.com/x.css",
        "file:///etc/passwd",
        (docgen.templates.BUILTIN / ".." / "pdf.py").as_uri(),
    ):
        with pytest.raises(ValueError, match="refused"):
            FETCHER.fetch(url)


def test_a_remote_image_is_skipped_not_fetched() -> None:
    pdf = docgen.html_to_pdf('<p>x</p><img src="http://127.0.0.1:9/x.png">')
    assert pdf.startswith(b"%PDF")


# --- word ---------------------------------------------------------------------------


def docx_with(*paragraphs: str) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def test_word_agreement_golden() -> None:
    data = docgen.generate(TEMPLATES["agreement-word"], agreement_nb(), fmt="docx").content
    assert_golden("agreement_nb_docx.txt", docgen.docx_text(data))


def test_word_values_are_escaped() -> None:
    values = context(customer={"name": "<w:t>A & B</w:t>"})
    data = docgen.render_docx(
        TEMPLATES["agreement-word"].body, values, language="nb", purpose="agreement"
    )
    assert "<w:t>A & B</w:t>" in docgen.docx_text(data)


def test_word_printed_empty_field_is_named() -> None:
    with pytest.raises(MissingField, match="contract.signing_deadline is empty"):
        docgen.render_docx(
            docx_with("Frist: {{ contract.signing_deadline }}"),
            context(contract={"signing_deadline": None}),
            language="nb",
            purpose="agreement",
        )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            docx_with(
                "Hei {{ customer.name }}", "{% if contract.sla %}{{ contract.sla }}{% endif %}"
            ),
            [],
        ),
        (
            docx_with("Intro", "Pris: {{ contract.pricee }}"),
            ['unknown field contract.pricee (in "Pris: {{ contract.pricee }}")'],
        ),
        (docx_with("{% if contract.sla %}", "SLA"), ["Unexpected end of template"]),
        (b"%PDF-1.4 not a word file", ["not a Word (.docx) file"]),
        (b"PK\x05\x06" + b"\0" * 18, ["not a Word (.docx) file: it has no word/document.xml"]),
    ],
)
def test_validate_docx(data: bytes, expected: list[str]) -> None:
    problems = docgen.validate_docx(data, "agreement")
    assert len(problems) == len(expected)
    for problem, message in zip(problems, expected, strict=True):
        assert problem.line is None and message in problem.message


def test_word_template_script_is_reproducible_and_renders() -> None:
    built = build()
    assert built == WORD_TEMPLATE.read_bytes(), "run python -m docgen.build_word_template"
    text = docgen.docx_text(
        docgen.render_docx(built, renegotiation_de(), language="de", purpose="renegotiation")
    )
    assert "Neuverhandlung des Vertrags" in text
    assert "Bisher | Neu" in text.replace("Bedingung | ", "")
    assert "Seite 1 von 1" in text  # the footer with its PAGE / NUMPAGES fields


# --- clauses ------------------------------------------------------------------------


def clause(
    key: str,
    language: str,
    order: int,
    conditions: dict[str, Any] | None = None,
    version: int = 1,
    group: str | None = None,
) -> Clause:
    return Clause(
        key, version, language, key.title(), f"{key} body", conditions or {}, order, group
    )


LIBRARY = [
    clause("scope", "en", 10),
    clause("scope", "nb", 10),
    clause("scope", "nb", 10, version=2),
    clause("migration", "en", 20, {"situation": ["competitor_switch"]}),
    clause("support", "en", 30, {"products": ["SUPPORT-PREMIUM", "ASSIST-PLUS"]}),
    clause("support", "nb", 30, {"products": ["SUPPORT-PREMIUM", "ASSIST-PLUS"]}),
    clause("renewal", "en", 40, {"auto_renew": [True]}),
    clause("long_term", "en", 40, {"term_months": {"min": 12, "max": 36}}),
    clause("norwegian_only", "nb", 50),
    clause("law_no", "en", 90, {"country": ["NO"]}, group="law"),
    clause("law_general", "en", 99, group="law"),
]
BASE = {
    "situation": "new_customer",
    "proposal": "new_agreement",
    "products": ["ASSIST"],
    "country": "SE",
    "term_months": 6,
    "auto_renew": False,
}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"language": "nb"}, ["scope/nb/2", "norwegian_only/nb/1", "law_general/en/1"]),
        ({"language": "en"}, ["scope/en/1", "law_general/en/1"]),
        (
            {"language": "nb", "situation": "competitor_switch"},
            ["scope/nb/2", "migration/en/1", "norwegian_only/nb/1", "law_general/en/1"],
        ),
        (
            {"language": "en", "products": ["ASSIST", "ASSIST-PLUS"]},
            ["scope/en/1", "support/en/1", "law_general/en/1"],
        ),
        (
            {"language": "en", "term_months": 12},
            ["scope/en/1", "long_term/en/1", "law_general/en/1"],
        ),
        (
            {"language": "en", "term_months": 36},
            ["scope/en/1", "long_term/en/1", "law_general/en/1"],
        ),
        ({"language": "en", "term_months": 37}, ["scope/en/1", "law_general/en/1"]),
        ({"language": "en", "term_months": None}, ["scope/en/1", "law_general/en/1"]),
        ({"language": "en", "term_months": True}, ["scope/en/1", "law_general/en/1"]),
        (
            {"language": "en", "term_months": 24, "auto_renew": True},
            ["scope/en/1", "long_term/en/1", "renewal/en/1", "law_general/en/1"],
        ),
        ({"language": "en", "country": "NO"}, ["scope/en/1", "law_no/en/1"]),
    ],
)
def test_select_clauses(answers: dict[str, Any], expected: list[str]) -> None:
    chosen = docgen.select_clauses(LIBRARY, {**BASE, **answers})
    assert [f"{c.key}/{c.language}/{c.version}" for c in chosen] == expected


@pytest.mark.parametrize(
    ("conditions", "problem"),
    [
        ({}, None),
        ({"situation": ["renewal"], "country": ["NO", "SE"], "auto_renew": [True]}, None),
        ({"term_months": {"min": 12, "max": 36}}, None),
        ({"term_months": {"max": 36}}, None),
        ({"colour": ["red"]}, "unknown answer 'colour'"),
        ({"language": ["nb"]}, "language is not a condition"),
        ({"situation": ["bogus"]}, "'bogus' is not one of"),
        ({"auto_renew": ["yes"]}, "'yes' is not a bool"),
        ({"products": []}, "non-empty list"),
        ({"products": {"min": 1}}, "only applies to numbers"),
        ({"term_months": {"min": 36, "max": 12}}, "min is above max"),
        ({"term_months": {"minimum": 1}}, "min and/or max only"),
        ({"term_months": {"min": "12"}}, "must be numbers"),
        (["situation"], "must be a mapping"),
    ],
)
def test_check_conditions(conditions: Any, problem: str | None) -> None:
    problems = docgen.check_conditions(conditions)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_builtin_clause_library_is_usable() -> None:
    library = docgen.builtin_clauses()
    assert all(docgen.check_conditions(c.conditions) == [] for c in library)
    keys = {c.key for c in library}
    assert keys == {c.key for c in library if c.language == "en"}  # English fallback exists


# --- render -------------------------------------------------------------------------


def test_generate_names_and_types_the_file() -> None:
    rendered = docgen.generate(TEMPLATES["agreement-word"], agreement_nb(), fmt="docx")
    assert (rendered.suffix, rendered.filename) == (".docx", "OF-000123.docx")
    assert rendered.content_type.endswith("wordprocessingml.document")
    assert zipfile.is_zipfile(io.BytesIO(rendered.content))


@pytest.mark.parametrize(
    ("key", "values", "fmt", "message"),
    [
        ("agreement", agreement_nb(), "docx", "HTML template: it makes PDF, not .docx"),
        ("agreement-word", agreement_nb(), "pdf", "Word template: it makes .docx, not PDF"),
        ("invoice", agreement_nb(), "pdf", "for invoice documents, not agreement"),
        ("agreement", context(document={"language": None}), "pdf", "document.language is empty"),
        ("agreement", context(customer={"name": None}), "pdf", "customer.name"),
    ],
)
def test_generate_refuses(key: str, values: dict[str, Any], fmt: Any, message: str) -> None:
    with pytest.raises(docgen.DocumentError, match=message.replace(".", r"\.")):
        docgen.generate(TEMPLATES[key], values, fmt=fmt)


def test_builtin_templates_for_seeding() -> None:
    assert [(t.key, t.format, t.purpose, t.version) for t in builtin_templates()] == [
        ("agreement", "html", "agreement", 1),
        ("agreement-word", "docx", "agreement", 1),
        ("invoice", "html", "invoice", 1),
    ]
    assert Problem(1, "x") == Problem(1, "x")


def test_docgen_is_a_pure_core() -> None:
    code = (
        "import sys, docgen; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'streamlit', 'dagster', 'sqlalchemy', 'avtale'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=DATA.parents[2],
    )
    assert result.stdout.strip() == "[]"
