"""Splitting a CSV text into records without ever losing a row.

RFC 4180 lets a quoted field run over several lines, so one stray quote can make a
strict parser read the rest of the file as one field. Here a record that opens a
quote may run over more lines only while that yields a well-formed record with the
header's width; otherwise just its first line is malformed and reading goes on at
the next line. So every line ends up in exactly one record, a malformed line, or a
blank row, and ``rows read = records + malformed`` always holds.

A plain file (the usual case: header on the first line, one record per line, each as
wide as the header, nothing blank) is confirmed and read by DuckDB (``plain`` here,
``ingestion.load``); any other clean file is read in one pass of the csv module; only a
file with a quoting problem is read line by line.

Row numbers are those a spreadsheet shows for the file: the header is row 1 (when it
is the first line), each record is one row however many lines it spans, and blank
lines are rows too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat

# A quoted field may span at most this many lines; a longer run is a stray quote.
MAX_RECORD_LINES = 1000
# The csv module refuses values over 128 KiB by default; a long note is still a value.
MAX_VALUE_CHARS = 16 * 2**20
csv.field_size_limit(max(csv.field_size_limit(), MAX_VALUE_CHARS))


@dataclass(frozen=True)
class Malformed:
    row: int
    reason: str
    raw: str


@dataclass
class Records:
    headers: list[str]
    header_row: int
    rows: list[list[str]] = field(default_factory=list)  # exactly len(headers) fields each
    row_numbers: list[int] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)
    blank_rows: int = 0  # rows with no value at all: skipped, neither loaded nor quarantined
    # A plain file's data rows are not split here (``plain``): rows 2.. are the lines
    # after the header, this many, for DuckDB's reader to take as they are.
    plain_rows: int | None = None

    @property
    def rows_read(self) -> int:
        if self.plain_rows is not None:
            return self.plain_rows
        return len(self.rows) + len(self.malformed)


class _NotClean(Exception):
    """The file needs the line-by-line reading."""


# One row of a file: (row number, fields or why it is malformed, its text).
Row = tuple[int, "list[str] | Malformed", str]


def split(text: str, delimiter: str) -> Records:
    """The header and every row after it: records of the header's width, or malformed
    lines with the reason."""
    try:
        rows = _clean_rows(text, delimiter)
    except _NotClean:
        rows = list(_rows_line_by_line(text, delimiter))
    return _collect(rows, delimiter)


def plain(text: str, delimiter: str) -> Records | None:
    """The header of a file that may be plain, its data rows left unsplit; None when it
    cannot be (the header is not on the first line). A plain file is the usual export:
    the header on row 1, then one record of the header's width per line, nothing blank.
    DuckDB's parallel reader confirms the rest much faster than the csv module reads it
    (``ingestion.load``); whatever it does not confirm is read by ``split``."""
    first, _, rest = text.partition("\n")
    fields, problem = _parse(first, delimiter)
    if fields is None or problem or not any(f.strip() for f in fields):
        return None
    lines = rest.count("\n") + (1 if rest and not rest.endswith("\n") else 0)
    return Records(headers=[h.strip() for h in fields], header_row=1, plain_rows=lines)


def _clean_rows(text: str, delimiter: str) -> list[Row]:
    """Every row by one pass of the csv module; ``_NotClean`` at a csv error or a record
    over several lines (which may be a stray quote: the line-by-line reading decides)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error:
        raise _NotClean from None
    if reader.line_num != len(records):
        raise _NotClean
    return list(zip(range(1, len(records) + 1), records, repeat("")))


def _rows_line_by_line(text: str, delimiter: str) -> Iterator[Row]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start a row
    width, i, row = None, 0, 0
    while i < len(lines):
        line, row = lines[i], row + 1
        fields, problem = _parse(line, delimiter)
        reason, end, odd = problem, i, line.count('"') % 2
        # A quoted field that runs on: take more lines while that could close it.
        while problem == "unbalanced quote" and end + 1 < len(lines) and end - i < MAX_RECORD_LINES:
            end += 1
            odd ^= lines[end].count('"') % 2
            if not odd:
                fields, problem = _parse("\n".join(lines[i : end + 1]), delimiter)
                if fields is not None and (
                    len(fields) != width or _holds_records(lines[i + 1 : end], delimiter, width)
                ):
                    fields, problem = None, "unbalanced quote"
                if problem != "unbalanced quote":
                    break
        if fields is None:
            i += 1  # only this line is lost to the problem; the next starts afresh
            yield row, Malformed(row, reason, line), line
            continue
        if width is None and any(f.strip() for f in fields):
            width = len(fields)
        raw, i = "\n".join(lines[i : end + 1]), end + 1
        yield row, fields, raw


def _holds_records(inner: list[str], delimiter: str, width: int | None) -> bool:
    """Whether the lines inside a quoted field look like rows of the file: then the
    quote that opened it was a stray one, and taking them as one value would hide them."""
    rows = sum(len(fields or ()) == width for fields, _ in (_parse(x, delimiter) for x in inner))
    return rows > 0 and rows * 2 >= len(inner)


def _parse(chunk: str, delimiter: str) -> tuple[list[str] | None, str]:
    """The fields of one record, or None and what is wrong with it."""
    try:
        rows = list(csv.reader([chunk], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "new-line character" in str(exc):
            return None, "unbalanced quote"
        if "expected after" in str(exc):
            return None, "misplaced quote (text after a closing quote)"
        return None, str(exc)
    return (rows[0], "") if len(rows) == 1 else (None, "unbalanced quote")


def _collect(rows: list[Row], delimiter: str) -> Records:
    # The header is the first row with anything in it.
    start = next(
        (
            i
            for i, (_, f, _) in enumerate(rows)
            if isinstance(f, Malformed) or any(map(str.strip, f))
        ),
        len(rows),
    )
    header_row, first, raw = rows[start] if start < len(rows) else (1, [], "")
    header = raw.split(delimiter) if isinstance(first, Malformed) else first
    headers = [h.strip() for h in header]
    width = len(headers)
    out = Records(headers=headers, header_row=header_row)
    for row, fields, raw in rows[start + 1 :]:
        if isinstance(fields, Malformed):
            out.malformed.append(fields)
            continue
        if len(fields) != width:
            if not "".join(fields).strip():
                out.blank_rows += bool(fields)
                continue
            if len(fields) > width:
                if any(f.strip() for f in fields[width:]):
                    reason = f"too many columns ({len(fields)}; the header has {width})"
                    out.malformed.append(Malformed(row, reason, raw or delimiter.join(fields)))
                    continue
                fields = fields[:width]  # trailing delimiters with nothing after them
            else:
                fields = fields + [""] * (width - len(fields))
        elif not fields[0].strip() and not "".join(fields).strip():
            out.blank_rows += 1  # a blank line, or `;;;;` as Excel writes an empty row
            continue
        out.rows.append(fields)
        out.row_numbers.append(row)
    return out
