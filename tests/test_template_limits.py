"""Uploaded templates within limits: whatever the file (not text, too large, nested without
end, looping 10^10 times, printing 50 MB, breaking out of the sandbox), the check answers
with the reason and never raises or hangs; nothing of it is saved."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import func, select

import docgen
from avtale.repository import library
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import Template
from avtale.repository.validation import ValidationError
from docgen.template_limits import KILL_AFTER_SECONDS
from tests.app_ops_fixtures import as_user, make_template, open_page, use_database
from tests.conftest import Database

SLOW = "took longer than 5 s to render the sample"
DEEP = "nests too deeply, or a macro calls itself without end"
HUNGRY = "needs too much memory to render"
BIG = "renders more than 5 MB"
LOOPS_10_10 = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
PRINTS_50_MB = "{% for i in range(50000) %}{{ 'x' * 1000 }}{% endfor %}"


def within(seconds: float, work: Callable[[], list[str]]) -> list[str]:
    """What ``work`` returns, failing (not hanging) if it takes longer than ``seconds``."""
    result: list[list[str]] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"no answer after {seconds} s"
    return result[0]


def docx_with(*paragraphs: str) -> bytes:
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


CASES = [
    ("not UTF-8", b"\xff\xfe<p>Avtale</p>", "html", ["the file is not UTF-8 text"]),
    ("binary as Word", bytes(range(256)) * 4, "docx", ["not a Word (.docx) file"]),
    (
        "HTML over 1 MB",
        b"<p>" + b"x" * 1_000_000 + b"</p>",
        "html",
        ["the file is larger than 1 MB, the most for an HTML template"],
    ),
    (
        "Word over 5 MB",
        b"PK" + b"\0" * 5_000_000,
        "docx",
        ["the file is larger than 5 MB, the most for a Word template"],
    ),
    ("unknown format", b"<p>Avtale</p>", "pdf", ["unknown format 'pdf'; use html or docx"]),
    ("nested 5000 deep", ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}").encode(), "html", [DEEP]),
    ("ifs 3000 deep", ("{% if true %}" * 3000 + "{% endif %}" * 3000).encode(), "html", [DEEP]),
    (
        "recursive macro",
        b"<p>Avtale</p>\n{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}\n{{ down(0) }}",
        "html",
        [f"line 2: {DEEP}"],
    ),
    ("a 1 GB string", b"<p>{{ 'x' * 10**9 }}</p>", "html", [f"line 1: {HUNGRY}"]),
    ("a 10 GB string", b"<p>{{ 'x'.center(10**10) }}</p>", "html", [f"line 1: {HUNGRY}"]),
    (
        "range(10**10)",
        b"{% for i in range(10**10) %}{% endfor %}",
        "html",
        [
            "line 1: OverflowError: Range too big. The sandbox blocks ranges larger than"
            " MAX_RANGE (100000)."
        ],
    ),
    ("loops 10^10 times", LOOPS_10_10.encode(), "html", [SLOW]),
    ("prints 50 MB", PRINTS_50_MB.encode(), "html", [BIG]),
    (
        "attribute escape",
        b"{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "html",
        ["line 1: access to attribute '__class__' of 'str' object is unsafe."],
    ),
    (
        "format escape",
        b"{{ '{0.__class__.__init__.__globals__}'.format('') }}",
        "html",
        ["line 1: access to attribute '__init__' of 'NotInContext' object is unsafe."],
    ),
    ("Word loops 10^10 times", docx_with("Avtale", LOOPS_10_10), "docx", [SLOW]),
    ("Word prints 50 MB", docx_with("Avtale", PRINTS_50_MB), "docx", [BIG]),
]


@pytest.mark.parametrize(
    ("body", "fmt", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_hostile_template_is_refused_with_the_reason(
    body: bytes, fmt: str, expected: list[str]
) -> None:
    # The time is a guard against a hang, not a speed target: the check stops at 5 s.
    problems = within(
        KILL_AFTER_SECONDS + 5, lambda: library.template_problems(body, fmt, "agreement")
    )
    assert problems == expected


@pytest.mark.parametrize("body", [None, "<p>{{ customer.name }}</p>", 42])
def test_the_check_answers_even_for_what_is_not_a_file(body: object) -> None:
    problems = library.template_problems(body, "html", "agreement")  # type: ignore[arg-type]
    assert len(problems) == 1 and problems[0].startswith("could not be checked (")


def test_the_built_in_templates_pass_the_check() -> None:
    for template in docgen.builtin_templates():
        assert library.template_problems(template.body, template.format, template.purpose) == []


def test_a_refused_upload_saves_nothing(db: Database) -> None:
    with pytest.raises(ValidationError) as refused, session_scope(db.engine) as session:
        library.save_template(
            session,
            "ada",
            "agreement",
            {"name": "Agreement", "purpose": "agreement", "format": "html"},
            PRINTS_50_MB.encode(),
        )
    assert refused.value.errors == {"body": BIG}
    with session_scope(db.engine, readonly=True) as session:
        assert session.scalar(select(func.count(Template.id))) == 0


def test_the_templates_page_says_why_an_upload_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = use_database(tmp_path, monkeypatch, make_template(tmp_path / "template"))
    engine = make_engine(url)
    with session_scope(engine, readonly=True) as session:
        before = session.scalar(select(func.count(Template.id)))
    at = open_page(as_user("ada"), "admin/pages/templates.py")
    at.text_input(key="tpl_upload_key").input("agreement")
    at.text_input(key="tpl_upload_name").input("Agreement that never ends")
    at.file_uploader(key="tpl_upload_file").set_value(
        ("agreement.html", LOOPS_10_10.encode(), "text/html")
    )
    at.button(key="tpl_upload_submit").click().run()
    assert not at.exception
    assert [error.value for error in at.error] == [f"Body: {SLOW}"]
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count(Template.id))) == before
    engine.dispose()
