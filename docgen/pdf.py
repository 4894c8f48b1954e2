"""HTML to PDF with WeasyPrint, offline: only the built-in folder and data: URIs are read.

One FontConfiguration serves every document; building it per PDF costs more than the
layout of a two-page agreement (STACK.md). The built-in stylesheet is parsed once, and the
images (the logo) are read once, for every document after the first (docs/benchmarks.md).
A batch (the invoice run's PDFs) is laid out by a pool of processes, one per core
(``html_to_pdfs``): a layout is Python and holds the GIL, so threads would not help.
"""

from __future__ import annotations

import contextlib
import gc
import mimetypes
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from docgen.errors import DocumentError

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


# A pool starts its processes in ~1.3 s (WeasyPrint's import, fonts, the first layout); a
# batch smaller than this is laid out here, where that is paid once per process.
POOL_FROM = 16


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def html_to_pdfs(
    htmls: Sequence[str], processes: int | None = None, pool_from: int = POOL_FROM
) -> Iterator[bytes | Exception]:
    """The PDF of each of ``htmls``, in order, as ``html_to_pdf`` makes it; a document whose
    layout failed comes as its exception (a DocumentError from a worker), in its place, and
    the others still come.

    From ``pool_from`` documents on, and with more than one process (default: one per
    core), the layouts run in worker processes (``python -m docgen.pdf``), each given every
    n-th document, while the caller takes the first results; closing the iterator early
    stops them. Fresh interpreters, not multiprocessing's workers, for the reason
    ``docgen.template_limits`` gives: those import the caller's ``__main__`` again (a
    Streamlit page, a test runner's script). A worker that dies leaves its documents to
    this process."""
    processes = min(processes or cores(), len(htmls))
    if processes < 2 or len(htmls) < pool_from:
        for html in htmls:
            yield _laid_out(html)
        return
    workers = [_Worker(htmls[first::processes]) for first in range(processes)]
    try:
        for index, html in enumerate(htmls):
            yield workers[index % processes].next_pdf(html)
    finally:
        for worker in workers:
            worker.stop()


def _laid_out(html: str) -> bytes | Exception:
    try:
        return html_to_pdf(html)
    except Exception as problem:  # one bad document must not stop the batch
        return problem


class _Worker:
    """One ``python -m docgen.pdf`` process: its documents go in on stdin (from a thread,
    so that neither side waits on a full pipe), their PDFs come out on stdout, in order."""

    def __init__(self, htmls: Sequence[str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "docgen.pdf"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,  # as docgen.template_limits' check
        )
        threading.Thread(target=self._feed, args=(htmls,), daemon=True).start()

    def _feed(self, htmls: Sequence[str]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            for html in htmls:
                _write_frame(stdin, b"H", html.encode("utf-8"))
            stdin.close()
        except (OSError, ValueError):  # the worker died or was stopped: next_pdf sees it
            pass

    def next_pdf(self, html: str) -> bytes | Exception:
        """The PDF of this worker's next document (``html``); made here if the worker died."""
        assert self._process.stdout is not None
        frame = _read_frame(self._process.stdout)
        if frame is None:
            return _laid_out(html)
        kind, payload = frame
        return payload if kind == b"P" else DocumentError(payload.decode("utf-8", "replace"))

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _write_frame(stream: IO[bytes], kind: bytes, payload: bytes) -> None:
    stream.write(kind + len(payload).to_bytes(4, "big") + payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    head = stream.read(5)
    if len(head) < 5:
        return None
    payload = stream.read(int.from_bytes(head[1:], "big"))
    return head[:1], payload


def _serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """A worker's loop: each HTML read from ``source``, its PDF (P) or error (E) written."""
    while (frame := _read_frame(source)) is not None:
        made = _laid_out(frame[1].decode("utf-8"))
        if isinstance(made, Exception):
            _write_frame(sink, b"E", f"{type(made).__name__}: {made}".encode())
        else:
            _write_frame(sink, b"P", made)


if __name__ == "__main__":
    answers, sys.stdout = sys.stdout.buffer, sys.stderr  # nothing printed garbles the PDFs
    _serve(sys.stdin.buffer, answers)
