"""HTML to PDF with WeasyPrint, offline: only the built-in folder and data: URIs are read.

One FontConfiguration serves every document; building it per PDF costs more than the
layout of a two-page agreement (STACK.md). The built-in stylesheet is parsed once, and the
images (the logo) are read once, for every document after the first (docs/benchmarks.md).
"""

from __future__ import annotations

import gc
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
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
# A document linking the built-in stylesheet (base.html does) gets it parsed once: as a
# user stylesheet, which the document's own <style> overrides as it did when linked.
STYLESHEET_LINK = '<link rel="stylesheet" href="style.css">'
# WeasyPrint's image cache, by URL: the logo is decoded once.
_IMAGES: dict[str, Any] = {}
# WeasyPrint does not promise that a FontConfiguration (Pango, fontconfig) may be used by
# two threads at once, and the app serves sessions from threads; the GIL keeps the layout
# on one core anyway, so one PDF at a time costs little.
_LOCK = threading.Lock()


@cache
def _stylesheet() -> CSS:
    return CSS(filename=BUILTIN / "style.css", url_fetcher=FETCHER, font_config=FONT_CONFIG)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused for one render: a layout makes hundreds of thousands
    of short-lived objects, and collecting among them costs ~8 % of a two-page agreement.
    What the render leaves is collected as usual after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def html_to_pdf(html: str) -> bytes:
    """The PDF of ``html``; relative URLs resolve against the built-in folder."""
    linked = STYLESHEET_LINK in html
    document = HTML(
        string=html.replace(STYLESHEET_LINK, "", 1), base_url=BASE_URL, url_fetcher=FETCHER
    )
    with _LOCK, _no_cycle_collection():
        pdf = document.write_pdf(
            font_config=FONT_CONFIG,
            stylesheets=[_stylesheet()] if linked else None,
            cache=_IMAGES,
        )
    assert pdf is not None  # write_pdf returns the bytes when given no target
    return bytes(pdf)
