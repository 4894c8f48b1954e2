"""Reading real-world CSV files: content hash, encoding, delimiter, header."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

CSV_SUFFIXES = {".csv", ".tsv"}


class UnreadableFileError(Exception):
    """A file that cannot be read as a CSV at all."""


@dataclass(frozen=True)
class CsvFile:
    path: Path
    sha256: str
    encoding: str
    delimiter: str
    headers: list[str]
    # What DuckDB reads: the file itself when it is plain UTF-8, else a UTF-8 copy.
    utf8_path: Path


def expand(paths: list[Path]) -> list[Path]:
    """Files named directly, and the CSV files inside named folders.

    Sorted by name without extension, so `deals.csv` comes before its copy
    `deals (1).csv` and is the one loaded when both hold the same content.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    (
                        p
                        for p in path.rglob("*")
                        if p.is_file() and p.suffix.lower() in CSV_SUFFIXES
                    ),
                    key=lambda p: (str(p.parent), p.stem, p.suffix),
                )
            )
        else:
            files.append(path)
    return files


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Excel on Windows in the Nordics saves CSV as Windows-1252.
        return data.decode("cp1252", errors="replace"), "cp1252"


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(path: Path, scratch: Path | None = None) -> CsvFile:
    """Hash and decode ``path``; write a UTF-8 copy into ``scratch`` when needed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not data.strip():
        raise UnreadableFileError(f"{path}: the file is empty")
    if b"\x00" in data[:4096]:
        raise UnreadableFileError(f"{path}: not a text file (binary content)")
    text, encoding = _decode(data)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = _sniff_delimiter(first_line)
    headers = next(csv.reader(io.StringIO(first_line), delimiter=delimiter))
    utf8_path = path
    if encoding != "utf-8":
        folder = scratch or Path(tempfile.gettempdir())
        utf8_path = folder / f"{hashlib.sha256(data).hexdigest()}.csv"
        utf8_path.write_text(text, encoding="utf-8")
    return CsvFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        delimiter=delimiter,
        headers=headers,
        utf8_path=utf8_path,
    )
