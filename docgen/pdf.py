"""HTML to PDF with WeasyPrint, offline: only the built-in folder and data: URIs are read.

One FontConfiguration serves every document; building it per PDF costs more than the
layout of a two-page agreement (STACK.md).
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

BUILTIN = Path(__file__).resolve().parent / "builtin"
BASE_URL = BUILTIN.as_uri() + "/"
FONT_CONFIG = FontConfiguration()


class BuiltinFetcher(URLFetcher):
    """Serves data: URIs and files of ``builtin/``; refuses everything else, so a template
    or a field value can neither reach the network nor read other local files."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if path.is_relative_to(BUILTIN) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    url, path.read_bytes(), headers={"Content-Type": content_type}
                )
        raise ValueError(f"refused to fetch {url[:80]}: documents are rendered offline")


FETCHER = BuiltinFetcher()
# WeasyPrint does not promise that a FontConfiguration (Pango, fontconfig) may be used by
# two threads at once, and the app serves sessions from threads; the GIL keeps the layout
# on one core anyway, so one PDF at a time costs little.
_LOCK = threading.Lock()


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html``; relative URLs resolve against the built-in folder."""
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=FETCHER)
    with _LOCK:
        pdf = document.write_pdf(font_config=FONT_CONFIG)
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return bytes(pdf)
