"""Documents per second: the built-in agreement (Norwegian, with the built-in clauses an
existing customer's 36-month agreement calls for) as PDF and as Word, in one process.

    python benchmarks/documents.py [--n 50]

Two sizes: every clause the answers call for (9 with the built-in library: 3 pages), and
the first 6 of them (2 pages). Each is rendered once to warm up (fonts, compiled
templates), then N times; the figures are wall time on one core. Last, N two-page PDFs as
one batch, as the invoice run lays its PDFs out (``docgen.pdf.html_to_pdfs``: a pool of
processes, one per core), timed from the pool's start to the last PDF.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import docgen  # noqa: E402  (after the path above, so it runs from a checkout)

ANSWERS = {
    "language": "nb",
    "situation": "existing_customer",
    "proposal": "new_agreement",
    "products": ["ASSIST-PLUS"],
    "country": "NO",
    "term_months": 36,
    "auto_renew": True,
}


def agreement_context(clauses: int | None = None) -> dict:
    context = copy.deepcopy(docgen.SAMPLE_CONTEXT)
    chosen = docgen.select_clauses(docgen.builtin_clauses(), ANSWERS)[:clauses]
    context["clauses"] = [clause.as_context() for clause in chosen]
    return context


def pages(pdf: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        try:
            info = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True).stdout
        except FileNotFoundError:
            return "?"
    return next((line.split()[1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def measure(template: docgen.Template, context: dict, fmt: str, n: int) -> tuple[float, bytes]:
    first = docgen.generate(template, context, fmt=fmt)  # type: ignore[arg-type]
    started = time.perf_counter()
    for _ in range(n):
        docgen.generate(template, context, fmt=fmt)  # type: ignore[arg-type]
    return time.perf_counter() - started, first.content


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="documents per format (default 50)")
    n = parser.parse_args().n
    templates = {template.key: template for template in docgen.builtin_templates()}
    for clauses in (None, 6):
        context = agreement_context(clauses)
        print(f"agreement, {len(context['clauses'])} clauses, {len(context['lines'])} lines, N={n}")
        for fmt, key in (("pdf", "agreement"), ("docx", "agreement-word")):
            elapsed, content = measure(templates[key], context, fmt, n)
            extra = f", {pages(content)} pages" if fmt == "pdf" else ""
            print(
                f"  {fmt:>4}: {n / elapsed:6.1f} documents/s, {elapsed / n * 1000:6.1f} ms each"
                f" ({len(content) // 1024} KiB{extra})"
            )
    from docgen.pdf import cores, html_to_pdfs

    html = docgen.pdf_job(templates["agreement"], agreement_context(6)).html
    started = time.perf_counter()
    made = list(html_to_pdfs([html] * n))
    elapsed = time.perf_counter() - started
    assert all(isinstance(pdf, bytes) for pdf in made)
    print(
        f"batch of {n} two-page PDFs, {cores()} cores: {n / elapsed:6.1f} documents/s"
        " (pool start-up included)"
    )


if __name__ == "__main__":
    main()
