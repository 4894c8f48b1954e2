"""Reading real-world CSV files: content hash, encoding, line ends, delimiter, header.

A file is judged on its own: anything that keeps it from being read as text raises
``UnreadableFileError`` with a one-line reason, and the caller goes on with the next
file. Decoding is strict: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's
"Unicode text"), else Windows-1252 (Excel on Windows in the Nordics); bytes that
are none of these make the file unreadable rather than silently mangled.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

CSV_SUFFIXES = {".csv", ".tsv"}
DELIMITERS = (";", "\t", ",")
# Excel writes `sep=;` as a first line to tell itself the delimiter.
EXCEL_SEP_LINE = re.compile(r"sep=(.)")
# More C0 control characters than this share of the text: not a text file.
MAX_CONTROL_SHARE = 0.01
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class UnreadableFileError(Exception):
    """A file that cannot be read as a CSV at all."""


@dataclass(frozen=True)
class CsvFile:
    path: Path
    sha256: str
    encoding: str  # as the load report names it: "utf-8", "windows-1252", ...
    line_ending: str  # "LF", "CRLF", "CR" or "mixed"
    delimiter: str
    text: str  # the decoded content, NFC, line ends as "\n", without BOM or `sep=` line
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return display_name(self.path)


def display_name(path: Path) -> str:
    """The file's name as it can be shown and stored: valid UTF-8, one line."""
    raw = os.fsencode(path.name).decode("utf-8", errors="replace")
    return CONTROL.sub("?", raw.replace("\n", "?").replace("\r", "?"))


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


def read_bytes(path: Path, follow_symlinks: bool = True) -> tuple[bytes, os.stat_result]:
    """The file's bytes and the status they were read with; only regular files are read
    (a FIFO would block, a device never ends), and with ``follow_symlinks=False`` a link
    is refused without looking at what it points to."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow_symlinks else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and path.is_symlink():
            raise UnreadableFileError("a symbolic link; only regular files are loaded") from exc
        raise UnreadableFileError(f"cannot be read ({exc.strerror})") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFileError("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except OSError as exc:
        raise UnreadableFileError(f"cannot be read ({exc.strerror})") from exc
    finally:
        os.close(fd)
    return data, status


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of the encoding it was read with."""
    for bom, codec, name in (
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32 (BOM)"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32 (BOM)"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16 (BOM)"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16 (BOM)"),
    ):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), name
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    f"starts with a {name.split()[0].upper()} byte-order mark but is not "
                    f"valid {name.split()[0].upper()} (byte {exc.start + len(bom)})"
                ) from None
    body, bom_note = data, ""
    if data.startswith(codecs.BOM_UTF8):
        body, bom_note = data[3:], " with BOM"
    try:
        return body.decode("utf-8"), "utf-8" + bom_note
    except UnicodeDecodeError:
        pass
    # Excel's "Unicode text" without a BOM: every other byte of ASCII text is zero.
    for codec in ("utf-16-le", "utf-16-be"):
        zeros = body[1::2] if codec == "utf-16-le" else body[0::2]
        if len(body) >= 4 and len(body) % 2 == 0 and zeros.count(0) > 0.9 * len(zeros):
            try:
                return body.decode(codec), "utf-16"
            except UnicodeDecodeError:
                break
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"neither UTF-8 nor Windows-1252 text (byte 0x{body[exc.start]:02x} at offset "
            f"{exc.start + len(data) - len(body)})"
        ) from None
    after = " after a UTF-8 BOM" if bom_note else ""
    return text, f"windows-1252{after}"


def line_ending(text: str) -> str:
    crlf = text.count("\r\n")
    cr, lf = text.count("\r") - crlf, text.count("\n") - crlf
    kinds = [name for name, count in (("CRLF", crlf), ("CR", cr), ("LF", lf)) if count]
    return kinds[0] if len(kinds) == 1 else ("mixed" if kinds else "LF")


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(path: Path, follow_symlinks: bool = True) -> CsvFile:
    """Read, hash and decode ``path``; line ends become ``\\n`` whatever they were."""
    data, status = read_bytes(path, follow_symlinks)
    return csv_from_bytes(data, path, mtime_ns=status.st_mtime_ns)


def csv_from_bytes(data: bytes, path: Path, *, mtime_ns: int = 0) -> CsvFile:
    """``data`` (a file's content: an upload, say) hashed and decoded as ``open_csv`` does
    for a file; ``path`` names it."""
    if not data.strip():
        raise UnreadableFileError("the file is empty")
    text, encoding = decode(data)
    if "\x00" in text:
        raise UnreadableFileError("not a text file (binary content)")
    sample = text[:65536]
    if len(CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise UnreadableFileError("not a text file (control characters)")
    ending = line_ending(text)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.lstrip("\ufeff")  # a second BOM, as some tools write after re-saving
    first_line, _, rest = text.partition("\n")
    excel_sep = EXCEL_SEP_LINE.fullmatch(first_line.strip())
    if excel_sep:
        delimiter, text = excel_sep.group(1), rest
    else:
        delimiter = sniff_delimiter(_first_nonblank_line(text))
    return CsvFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        line_ending=ending,
        delimiter=delimiter,
        text=text,
        size=len(data),
        mtime_ns=mtime_ns,
    )


def _first_nonblank_line(text: str) -> str:
    return next((line for line in io.StringIO(text) if line.strip()), "")
