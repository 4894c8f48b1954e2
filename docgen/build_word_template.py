"""Builds ``builtin/agreement.docx``, the built-in Word template, with python-docx.

    python -m docgen.build_word_template

The output is byte-for-byte the same on every run (zip timestamps are fixed), so the
committed file changes only when this script does. The template uses docxtpl's tags:
``{%p %}`` for paragraph-level and ``{%tr %}`` for table-row-level blocks.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

OUTPUT = Path(__file__).resolve().parent / "builtin" / "agreement.docx"
GREEN = RGBColor(0x0B, 0x6E, 0x4F)
MONEY = "| money(contract.currency)"
INTERVAL = "line.billing_interval_months | default(none)"
YES_NO = "labels.answer_yes if contract.auto_renew else labels.answer_no"
RENEWS = "contract.auto_renew and contract.renewal_term_months"
PAYMENT = "contract.payment_terms_days"
TITLE = (
    '{% if document.purpose == "renegotiation" %}{{ labels.title_renegotiation }}'
    "{% else %}{{ labels.title_agreement }}{% endif %}"
)
# Rows of the terms table: (field, value, condition); the label is labels.<field>, and a
# row with a condition is left out when it is false.
TERMS = [
    ("start_date", "contract.start_date | date", None),
    ("end_date", "contract.end_date | date if contract.end_date else labels.open_ended", None),
    *[(f, f"contract.{f} | months", f"contract.{f}") for f in ("term_months", "lock_in_months")],
    ("notice_months", "contract.notice_months | months", "contract.notice_months"),
    ("auto_renew", YES_NO, "contract.auto_renew is defined"),
    ("renewal_term_months", "contract.renewal_term_months | months", RENEWS),
    ("payment_terms_days", f'{PAYMENT} ~ " " ~ labels.days_net', PAYMENT),
    ("currency", "contract.currency", None),
    ("price_adjustment_rule", "contract.price_adjustment_rule", "contract.price_adjustment_rule"),
    *[
        (field, f"contract.{field}{suffix}", f"contract.{field}")
        for field, suffix in (
            ("sla", ""),
            ("price_adjustment_pct", " | percent"),
            ("signing_deadline", " | date"),
        )
    ],
]
FACTS = [
    ("document_number", "document.number", None),
    ("document_date", "document.date | date", None),
    ("contract_number", "contract.number", "contract.number"),
    ("previous_number", "contract.previous_number", 'document.purpose == "renegotiation"'),
    ("effective_date", "contract.effective_date | date", "contract.effective_date"),
    ("owner", "contract.owner", "contract.owner"),
]
# (label, value, width in mm) of the lines table.
LINE_COLUMNS = [
    ("product", "line.description if line.description else line.product", 55),
    ("quantity", "line.quantity | number(0 if line.quantity == line.quantity | int else 2)", 15),
    ("unit_price", f"line.unit_price {MONEY}", 24),
    ("discount_percent", "line.discount_percent | percent if line.discount_percent else ''", 17),
    ("billing_period", f"line.billing_period | period({INTERVAL})", 22),
    ("period_amount", f"line.period_amount {MONEY}", 24),
    ("mrr", f"line.mrr {MONEY} if line.recurring else ''", 24),
]
CHANGE_COLUMNS = [
    ("change_label", "change.label", 60),
    ("change_old", 'change.old | default("–")', 55),
    ("change_new", 'change.new | default("–")', 55),
]
# Each party's details, shown when set: "field:" is printed after its label, "|" adds a filter.
PARTY_DETAILS = {
    "seller": ("org_number:", "address", "email", "phone"),
    "customer": ("org_number:", "customer_number:", "address", "country | country"),
}


def _paragraph(
    container: Any,
    text: str = "",
    *,
    style: str | None = None,
    bold: bool = False,
    size: float | None = None,
) -> Any:
    paragraph = container.add_paragraph(style=style)
    if text:
        run = paragraph.add_run(text)
        run.bold = bold or None
        if size:
            run.font.size = Pt(size)
    return paragraph


def _paragraphs(container: Any, *texts: str) -> None:
    for text in texts:
        _paragraph(container, text)


def _text(document: Any, source: str) -> None:
    """Plain text as Word paragraphs, one per paragraph of the text, escaped."""
    loop = f"{{%p for paragraph in {source} | paragraphs %}}"
    _paragraphs(document, loop, "{{ paragraph }}", "{%p endfor %}")


def _cell(cell: Any, text: str, *, bold: bool = False, right: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.add_run(text).bold = bold or None
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _control_row(table: Any, tag: str) -> None:
    """A row holding only a docxtpl ``{%tr %}`` tag; docxtpl replaces the whole row."""
    _cell(table.add_row().cells[0], tag)


def _field(paragraph: Any, code: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word fills in its value when it lays out the pages;
    "1" stands in until then."""
    for kind in ("begin", "instr", "separate", "result", "end"):
        run = paragraph.add_run("1" if kind == "result" else None)
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {code} "
            run._r.append(element)
        elif kind != "result":
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
            run._r.append(element)


def _facts(document: Any, rows: list[tuple[str, str, str | None]]) -> None:
    table = document.add_table(rows=0, cols=2)
    for label, value, condition in rows:
        if condition:
            _control_row(table, f"{{%tr if {condition} %}}")
        cells = table.add_row().cells
        _cell(cells[0], f"{{{{ labels.{label} }}}}")
        _cell(cells[1], f"{{{{ {value} }}}}", bold=True)
        if condition:
            _control_row(table, "{%tr endif %}")


def _parties(document: Any) -> None:
    _paragraph(document, "{{ labels.parties }}", style="Heading 2")
    table = document.add_table(rows=1, cols=2)
    for cell, (who, details) in zip(table.rows[0].cells, PARTY_DETAILS.items(), strict=True):
        _cell(cell, f"{{{{ labels.{who} }}}}", bold=True)
        _paragraph(cell, f"{{{{ {who}.name }}}}", bold=True)
        for detail in details:
            field = detail.split()[0].rstrip(":")
            text = f"{{{{ {who}.{detail.rstrip(':')} }}}}"
            if detail.endswith(":"):
                text = f"{{{{ labels.{field} }}}}: {text}"
            _paragraphs(cell, f"{{%p if {who}.{field} %}}", text, "{%p endif %}")


def _loop_table(document: Any, loop: str, columns: list[tuple[str, str, int]]) -> None:
    table = document.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    for cell, (label, _, width) in zip(table.rows[0].cells, columns, strict=True):
        _cell(cell, f"{{{{ labels.{label} }}}}", bold=True)
        cell.width = Mm(width)
    _control_row(table, f"{{%tr for {loop} %}}")
    for index, (cell, (_, value, width)) in enumerate(
        zip(table.add_row().cells, columns, strict=True)
    ):
        _cell(cell, f"{{{{ {value} }}}}", right=index > 0 and "period(" not in value)
        cell.width = Mm(width)
    _control_row(table, "{%tr endfor %}")


def _totals(document: Any) -> None:
    table = document.add_table(rows=0, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.RIGHT
    for label, value in (("total_mrr", "mrr"), ("total_arr", "arr"), ("total_one_off", "one_off")):
        if value == "one_off":
            _control_row(table, "{%tr if totals.one_off %}")
        cells = table.add_row().cells
        _cell(cells[0], f"{{{{ labels.{label} }}}}")
        _cell(cells[1], f"{{{{ totals.{value} {MONEY} }}}}", bold=True, right=True)
    _control_row(table, "{%tr endif %}")


def _signatures(document: Any) -> None:
    _paragraph(document, "{{ labels.signatures }}", style="Heading 2")
    table = document.add_table(rows=1, cols=2)
    for cell, role in zip(table.rows[0].cells, ("seller", "customer"), strict=True):
        signer = f"signatories.{role}"
        _cell(cell, f"{{{{ labels.signatory_{role} }}}}", bold=True)
        _paragraph(cell, f"{{{{ {role}.name }}}}", bold=True)
        for caption in ("place_and_date", "signature"):
            _paragraphs(cell, "", "_" * 34)
            _paragraph(cell, f"{{{{ labels.{caption} }}}}", size=8)
        for field in ("name", "title"):
            guard = f"signatories and {signer} and {signer}.{field}"
            value = f"{{% if {guard} %}}{{{{ {signer}.{field} }}}}{{% endif %}}"
            _paragraph(cell, f"{{{{ labels.{field} }}}}: {value}")
        for paragraph in cell.paragraphs:
            paragraph.paragraph_format.keep_with_next = True
    # Keep the block on one page: the row may not split, the heading stays with it.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    document.paragraphs[-1].paragraph_format.keep_with_next = True


def _page_setup(document: Any) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin, section.bottom_margin = Mm(25), Mm(20)
    normal = document.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        document.styles[name].font.color.rgb = GREEN
        document.styles[name].font.name = "Arial"
    properties = document.core_properties
    properties.author, properties.title, properties.comments = "Avtale", "", ""
    properties.last_modified_by, properties.revision = "Avtale", 1
    # Fixed, so the file is the same on every run.
    properties.created = properties.modified = datetime(2026, 1, 1, tzinfo=UTC)
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    header.add_run("{{ seller.name }}").bold = True
    header.add_run('{% if document.status == "draft" %} · {{ labels.status_draft }}{% endif %}')
    footer = section.footer.paragraphs[0]
    footer.paragraph_format.tab_stops.add_tab_stop(Mm(170), WD_TAB_ALIGNMENT.RIGHT)
    footer.add_run("{{ document.number }}\t{{ labels.page }} ")
    _field(footer, "PAGE")
    footer.add_run(" {{ labels.page_of }} ")
    _field(footer, "NUMPAGES")


def build() -> bytes:
    """The template's bytes."""
    document = Document()
    _page_setup(document)
    _paragraph(document, TITLE, style="Title")
    _paragraph(document, "{%p if contract.title %}")
    _paragraph(document, "{{ contract.title }}", size=12)
    _paragraph(document, "{%p endif %}")
    _facts(document, FACTS)
    _parties(document)
    _paragraph(document, "{{ labels.terms }}", style="Heading 2")
    _facts(document, TERMS)

    _paragraph(document, '{%p if document.purpose == "renegotiation" and changes %}')
    _paragraph(document, "{{ labels.changes }}", style="Heading 2")
    _loop_table(document, "change in changes", CHANGE_COLUMNS)
    _paragraph(document, "{%p endif %}")

    _paragraph(document, "{{ labels.lines }}", style="Heading 2")
    _loop_table(document, "line in lines", LINE_COLUMNS)
    _paragraph(document, "{%p if totals %}")
    _totals(document)
    _paragraph(document, "{%p endif %}")

    _paragraph(document, "{%p if clauses %}")
    _paragraph(document, "{{ labels.clauses }}", style="Heading 2")
    _paragraph(document, "{%p for clause in clauses %}")
    _paragraph(document, "{{ loop.index }}. {{ clause.title }}", style="Heading 3")
    _text(document, "clause.body")
    _paragraphs(document, "{%p endfor %}", "{%p endif %}", "{%p if free_text %}")
    _paragraph(document, "{{ labels.free_text }}", style="Heading 2")
    _text(document, "free_text")
    _paragraph(document, "{%p endif %}")
    _signatures(document)
    output = io.BytesIO()
    document.save(output)
    return _reproducible(output.getvalue())


def _reproducible(data: bytes) -> bytes:
    """The same package with fixed entry timestamps, so equal input gives equal bytes."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return output.getvalue()


def main() -> None:
    OUTPUT.write_bytes(build())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
