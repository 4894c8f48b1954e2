"""Small but real files for the tests: a valid one-page PDF, a DOCX, an inbox drop."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path


def minimal_pdf() -> bytes:
    """A real one-page PDF: header, catalog, pages, page, a correct xref table and trailer."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def minimal_docx(text_in_document: str = "Avtale") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as docx:
        docx.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        docx.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text_in_document}</w:t>'
            "</w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def drop(path: Path, content: str | bytes) -> Path:
    """Put a file into an inbox as if it had been dropped a minute ago (settled: the
    inbox leaves files alone while they may still be being written)."""
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    settled = time.time() - 60
    os.utime(path, (settled, settled))
    return path
