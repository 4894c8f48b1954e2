"""Word documents with docxtpl: the same context, filters and checks as the HTML templates.

docxtpl turns each part (body, headers, footers) into one Jinja source of XML with a
paragraph per line; its line numbers mean nothing to a user, so problems quote the
paragraph's text instead.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

from docx import Document
from docx.oxml.ns import qn
from docxtpl import DocxTemplate
from jinja2 import TemplateSyntaxError

from docgen.context import PURPOSES_SERVED, SAMPLE_CONTEXT
from docgen.errors import DocumentError, MissingField, Problem, TemplateProblem
from docgen.fields import unknown_fields
from docgen.templates import MAIN, as_problem, document_values, environment, template_line

_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH_START = re.compile(r"<w:p([ >])")


def _lines(xml: str) -> list[str]:
    # docxtpl puts each paragraph on its own line before compiling (render_xml_part).
    return _PARAGRAPH_START.sub(r"\n<w:p\1", xml).split("\n")


def _snippet(lines: list[str], line: int | None) -> str:
    if line is None or not 0 < line <= len(lines):
        return ""
    text = " ".join(_TAG.sub("", lines[line - 1]).split())
    return f' (in "{text[:80]}")' if text else ""


def _open(template: bytes) -> DocxTemplate:
    if not zipfile.is_zipfile(io.BytesIO(template)):
        raise TemplateProblem("not a Word (.docx) file")
    with zipfile.ZipFile(io.BytesIO(template)) as archive:
        if "word/document.xml" not in archive.namelist():
            raise TemplateProblem("not a Word (.docx) file: it has no word/document.xml")
    document = DocxTemplate(io.BytesIO(template))
    try:
        document.init_docx()
    except Exception as exc:  # python-docx raises several kinds for broken packages
        raise TemplateProblem(f"not a readable Word (.docx) file ({exc})") from exc
    return document


def _parts(document: DocxTemplate) -> Iterator[str]:
    """The patched Jinja source of the body, then of each header and footer."""
    yield document.patch_xml(document.get_xml())
    for uri in (document.HEADER_URI, document.FOOTER_URI):
        for _, part in document.get_headers_footers(uri):
            yield document.patch_xml(document.get_part_xml(part))


def render_docx(
    template: bytes, context: Mapping[str, Any], *, language: str, purpose: str
) -> bytes:
    """The filled-in .docx; MissingField or TemplateProblem when it cannot be made."""
    values = document_values(context, language=language, purpose=purpose)
    document = _open(template)
    try:
        document.render(values, environment(language), autoescape=True)
    except DocumentError as exc:
        problem = as_problem(exc, None)
        if problem is exc:
            raise
        raise problem from exc
    except Exception as exc:
        raise as_problem(exc, None) from exc
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def validate_docx(template: bytes, purpose: str) -> list[Problem]:
    """Why ``template`` cannot serve as a Word template for ``purpose``; [] when it can."""
    if purpose not in PURPOSES_SERVED:
        return [Problem(None, f"unknown purpose {purpose!r}")]
    try:
        document = _open(template)
    except TemplateProblem as exc:
        return [Problem(None, exc.reason)]
    env = environment("en")
    problems: list[Problem] = []
    for source in _parts(document):
        lines = _lines(source)
        try:
            ast = env.parse("\n".join(lines))
        except TemplateSyntaxError as exc:
            problems.append(Problem(None, f"{exc.message}{_snippet(lines, exc.lineno)}"))
            continue
        for line, path in unknown_fields(ast, env.globals):
            problems.append(Problem(None, f"unknown field {path}{_snippet(lines, line)}"))
        for served in PURPOSES_SERVED[purpose]:
            values = document_values(SAMPLE_CONTEXT, language="en", purpose=served)
            try:
                env.from_string("\n".join(lines)).render(values)
            except Exception as exc:
                problem = as_problem(exc, template_line(exc, MAIN))
                at = problem.line if isinstance(problem, TemplateProblem | MissingField) else None
                reason = problem.reason if isinstance(problem, TemplateProblem) else problem.message
                problems.append(Problem(None, reason + _snippet(lines, at)))
    return list(dict.fromkeys(problems))


_TEXT, _TAB, _BREAK, _RUN = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:r")


def _paragraph_text(paragraph: Any) -> str:
    # w:t of runs inside fields and hyperlinks too; field codes (w:instrText) are left
    # out, and so are tab stops, which are w:tab elements of the paragraph properties.
    return "".join(
        (node.text or "") if node.tag == _TEXT else "\t" if node.tag == _TAB else "\n"
        for node in paragraph.iter(_TEXT, _TAB, _BREAK)
        if node.getparent().tag == _RUN
    )


def _block_text(element: Any) -> Iterator[str]:
    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            yield _paragraph_text(child)
        elif child.tag == qn("w:tbl"):
            for row in child.iter(qn("w:tr")):
                cells = [
                    " / ".join(filter(None, (_paragraph_text(p) for p in cell.iter(qn("w:p")))))
                    for cell in row.iterchildren(qn("w:tc"))
                ]
                yield " | ".join(cells)


def docx_text(data: bytes) -> str:
    """The text of a .docx: headers, then the body (paragraphs and table rows as
    "cell | cell"), then footers, one line per paragraph or row."""
    document = Document(io.BytesIO(data))
    seen: set[str] = set()
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        for part_of, out in ((section.header, headers), (section.footer, footers)):
            # A linked header has no part of its own (and asking for its element adds one).
            if part_of.is_linked_to_previous:
                continue
            name = str(part_of.part.partname)
            if name not in seen:
                seen.add(name)
                out.extend(_block_text(part_of._element))
    body = list(_block_text(document.element.body))
    return "\n".join([*headers, *body, *footers]) + "\n"
