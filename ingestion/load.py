"""Load CSV exports into the warehouse: once per file, typed, with lineage and quarantine.

A file is one transaction: its good rows land in the kind's table (the dbt
source), its bad rows in ``ingestion.quarantine`` with file, row, field and
reason, and a row in ``ingestion.loads`` records it by content hash so the same
content is never loaded twice. Files of one call are loaded in dependency
order (companies before deals before line items), so a reference to a row that
does not exist can be told apart from one that is merely later in the batch.

Each file is judged on its own: one that cannot be read, recognised or loaded is
reported with the reason and the others still load. For every loaded file,
rows read = rows loaded + rows quarantined.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion import files as csvfiles
from ingestion import records as csvrecords
from ingestion.kinds import KINDS, Field, FieldType, Kind, describe, recognise
from ingestion.mapping import Mapping
from ingestion.parsing import (
    Check,
    checks,
    install_macros,
    number_column,
    quote,
    typed_columns,
)

log = logging.getLogger(__name__)

LINEAGE = [("load_id", "INTEGER"), ("source_file", "VARCHAR"), ("row_number", "INTEGER")]
NUMERIC = (FieldType.NUMBER, FieldType.INTEGER)

SYSTEM_DDL = """
CREATE SCHEMA IF NOT EXISTS ingestion;
CREATE TABLE IF NOT EXISTS ingestion.loads (
    load_id INTEGER PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    file_hash VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    encoding VARCHAR,
    delimiter VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    rows_read INTEGER NOT NULL,
    rows_loaded INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ingestion.quarantine (
    load_id INTEGER NOT NULL,
    source_file VARCHAR NOT NULL,
    row_number INTEGER NOT NULL,
    field VARCHAR,
    reason VARCHAR NOT NULL,
    raw_record VARCHAR
);
"""
SCRATCH_TABLES = ("_plain", "_src", "_parsed", "_errors", "_known_currencies", "_malformed")


@dataclass
class FileResult:
    path: Path
    status: str  # loaded | duplicate | error
    kind: str | None = None
    load_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str = ""
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason
    # How the file was read: encoding, delimiter, line ends, decimal separator.
    read_as: str = ""
    blank_rows: int = 0
    # The file as it was read, to tell whether it changed afterwards.
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def name(self) -> str:
        return csvfiles.display_name(self.path)


@dataclass
class LoadReport:
    files: list[FileResult] = field(default_factory=list)
    # Mapping files that cannot be used (``ingestion.mapping``), each naming file and key.
    mapping_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mapping_problems and all(f.status != "error" for f in self.files)

    @property
    def loaded(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "loaded"]

    def format(self, max_problems: int = 20) -> str:
        lines = [f"mapping not used: {problem}" for problem in self.mapping_problems]
        for f in self.files:
            if f.status == "loaded":
                blanks = f", {f.blank_rows} empty rows skipped" if f.blank_rows else ""
                lines.append(
                    f"{f.name}: {f.kind}, load {f.load_id} ({f.read_as}): read {f.rows_read}, "
                    f"loaded {f.rows_loaded}, quarantined {f.rows_quarantined}{blanks}"
                )
                for row, fld, reason in f.problems[:max_problems]:
                    lines.append(f"    row {row}, {fld}: {reason}")
                if len(f.problems) > max_problems:
                    rest = len(f.problems) - max_problems
                    lines.append(f"    ... and {rest} more (SELECT * FROM quarantine)")
                if f.message:
                    lines.append(f"    note: {f.message}")
            else:
                lines.append(f"{f.name}: {f.status}: {f.message}")
        read = sum(f.rows_read for f in self.files)
        loaded = sum(f.rows_loaded for f in self.files)
        quarantined = sum(f.rows_quarantined for f in self.files)
        errors = sum(f.status == "error" for f in self.files)
        lines.append(
            f"{len(self.files)} file(s): {len(self.loaded)} loaded, {errors} failed; "
            f"rows read {read}, loaded {loaded}, quarantined {quarantined}"
        )
        return "\n".join(lines)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the system tables and every kind's table, so dbt sources always exist."""
    con.execute(SYSTEM_DDL)
    for kind in KINDS:
        schema = kind.table.split(".")[0]
        cols = [(n, t) for f in kind.fields for n, t, _ in typed_columns(f, None, None)]
        ddl = ", ".join(f'"{n}" {t}' for n, t in cols + LINEAGE)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {kind.table} ({ddl})")


def load_files(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    default_currencies: Iterable[str],
    progress: Callable[[str], None] | None = None,
    follow_symlinks: bool = True,
    mappings: Sequence[Mapping] = (),
) -> LoadReport:
    """Load every CSV named (folders are searched) and report per file; a file no kind
    recognises is read through the first of ``mappings`` that fits its header."""
    ensure_tables(con)
    install_macros(con)
    report = LoadReport()
    known = sorted({c.upper() for c in default_currencies})
    opened: list[tuple[Kind, csvfiles.CsvFile, csvrecords.Records]] = []
    mapped: dict[Path, str] = {}
    for path in csvfiles.expand(list(paths)):
        try:
            csv = csvfiles.open_csv(path, follow_symlinks=follow_symlinks)
            records = csvrecords.plain(csv.text, csv.delimiter) or csvrecords.split(
                csv.text, csv.delimiter
            )
        except csvfiles.UnreadableFileError as exc:
            report.files.append(FileResult(path, "error", message=str(exc)))
            continue
        except Exception as exc:  # no file may stop the others: report it, go on
            log.exception("reading %s failed", path)
            report.files.append(FileResult(path, "error", message=_unexpected(exc)))
            continue
        kind = recognise(records.headers)
        mapping = (
            None
            if kind is not None
            else next((m for m in mappings if m.fits(records.headers)), None)
        )
        if mapping is not None:
            if records.plain_rows is not None:  # split here: the mapping rewrites the rows
                records = csvrecords.split(csv.text, csv.delimiter)
            kind, records = mapping.kind, mapping.apply(records)
            mapped[csv.path] = mapping.source
        if kind is None:
            report.files.append(FileResult(path, "error", message=_unrecognised(records.headers)))
            continue
        opened.append((kind, csv, records))
    # FX rates first (currencies are checked against them), then by dependency.
    opened.sort(key=lambda kcr: (kcr[0].name != "fx_rates", kcr[0].order))
    for kind, csv, records in opened:
        if progress:
            progress(f"loading {csv.name} as {kind.name}")
        result = _load_one(con, kind, csv, records, known)
        if csv.path in mapped:
            result.read_as = f"{result.read_as}, mapped by {mapped[csv.path]}".lstrip(", ")
        report.files.append(result)
    return report


def _unexpected(exc: Exception) -> str:
    first_line = next(iter(str(exc).splitlines()), "")[:200]
    return f"could not be loaded ({type(exc).__name__}: {first_line})"


def _unrecognised(headers: list[str]) -> str:
    shown = ", ".join(h[:40] for h in headers[:12])
    kinds = "; ".join(describe(k) for k in KINDS)
    return f"not a known export; its header is [{shown}]. Known kinds: {kinds}"


def _load_one(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    csv: csvfiles.CsvFile,
    records: csvrecords.Records,
    known: list[str],
) -> FileResult:
    previous = con.execute(
        "SELECT load_id, source_file FROM ingestion.loads WHERE file_hash = ?", [csv.sha256]
    ).fetchall()
    if previous:
        load_id, loaded_as = previous[0]
        return FileResult(
            csv.path,
            "duplicate",
            kind=kind.name,
            message=f"same content already loaded as load {load_id} ({loaded_as}); skipped",
            size=csv.size,
            mtime_ns=csv.mtime_ns,
        )
    if records.plain_rows is not None and not read_plain(con, csv, records):
        records = csvrecords.split(csv.text, csv.delimiter)  # not plain after all
    con.execute("BEGIN TRANSACTION")
    try:
        result = _load_in_transaction(con, kind, csv, records, known)
        con.execute("COMMIT")
        return result
    except Exception as exc:
        con.execute("ROLLBACK")
        log.exception("loading %s failed", csv.path)
        return FileResult(csv.path, "error", kind=kind.name, message=_unexpected(exc))
    finally:
        for table in SCRATCH_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    csv: csvfiles.CsvFile,
    records: csvrecords.Records,
    known: list[str],
) -> FileResult:
    load_id = _scalar(con, "SELECT coalesce(max(load_id), 0) + 1 FROM ingestion.loads")
    source_file = csv.name
    column_of = map_columns(kind, records.headers)
    missing = [f for f in kind.fields if f.required and f.name not in column_of]
    if missing:  # recognise() guarantees required columns; a guard for direct callers
        raise ValueError(f"missing column {missing[0].aliases[0]}")
    numeric = sorted(
        {column_of[f.name] for f in kind.fields if f.type in NUMERIC and f.name in column_of}
    )
    create_source(con, records, numeric)
    locale = decimal_separator(con, numeric)
    con.execute(
        "CREATE TEMP TABLE _known_currencies AS "
        "SELECT unnest(?::VARCHAR[]) AS currency UNION SELECT currency FROM planning.fx_rates",
        [known],
    )
    typed = [
        (name, expr)
        for f in kind.fields
        for name, _, expr in typed_columns(f, column_of.get(f.name), locale)
    ]
    names = [f"c{i}" for i in range(len(records.headers))]
    raw_json = (
        "json_object(" + ", ".join(f"{quote(h)}, c{i}" for i, h in enumerate(records.headers)) + ")"
    )
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in typed)
    raw_columns = ", ".join(names + [number_column(c) for c in numeric])
    con.execute(
        f"CREATE TEMP TABLE _parsed AS SELECT _row, {raw_columns}, {select}, "
        f"{raw_json}::VARCHAR AS _raw FROM _src"
    )

    all_checks: list[Check] = [c for f in kind.fields for c in checks(f, column_of.get(f.name))]
    all_checks += [Check(rule.field, rule.condition, rule.reason) for rule in kind.rules]
    for ref in kind.references:
        all_checks.append(
            Check(
                ref.field,
                f"{ref.field} IS NOT NULL AND {ref.field} NOT IN "
                f"(SELECT {ref.target_field} FROM {ref.target_table} "
                f"WHERE {ref.target_field} IS NOT NULL)",
                f"'no {ref.noun} with id ' || {ref.field} || "
                f"' (not loaded, or quarantined itself)'",
            )
        )
    union = (
        " UNION ALL ".join(
            f"SELECT _row, {quote(c.field)} AS field, {c.reason} AS reason, {i} AS _check "
            f"FROM _parsed WHERE coalesce({c.condition}, FALSE)"
            for i, c in enumerate(all_checks)
        )
        or "SELECT NULL::INTEGER AS _row, NULL AS field, NULL AS reason, 0 AS _check LIMIT 0"
    )
    con.execute(f"CREATE TEMP TABLE _errors AS {union}")

    header_of = {f.name: kind_header(f, records.headers) for f in kind.fields}
    con.execute(
        "INSERT INTO ingestion.quarantine "
        "SELECT ?, ?, e._row, coalesce(map_extract(?::MAP(VARCHAR, VARCHAR), e.field)[1], e.field), "
        "e.reason, p._raw FROM _errors e JOIN _parsed p USING (_row) ORDER BY e._row, e._check",
        [load_id, source_file, header_of],
    )
    columns = [name for name, _ in typed]
    quoted = ", ".join(f'"{c}"' for c in columns)
    con.execute(
        f"INSERT INTO {kind.table} ({quoted}, load_id, source_file, row_number) "
        f"SELECT {quoted}, ?, ?, _row FROM _parsed "
        f"WHERE _row NOT IN (SELECT _row FROM _errors) ORDER BY _row",
        [load_id, source_file],
    )
    if records.malformed:
        con.executemany(
            "INSERT INTO ingestion.quarantine VALUES (?, ?, ?, NULL, ?, ?)",
            [
                [load_id, source_file, m.row, f"malformed CSV row: {m.reason}", m.raw[:10_000]]
                for m in records.malformed
            ],
        )
    rows_read = records.rows_read
    bad_rows = len(records.malformed) + _scalar(con, "SELECT count(DISTINCT _row) FROM _errors")  # type: ignore[index]
    problems = con.execute(
        "SELECT row_number, coalesce(field, '(row)'), reason FROM ingestion.quarantine "
        "WHERE load_id = ? ORDER BY row_number LIMIT 200",
        [load_id],
    ).fetchall()
    read_as = reading_of(csv, locale)
    con.execute(
        "INSERT INTO ingestion.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            source_file,
            csv.sha256,
            kind.name,
            csv.encoding,
            csv.delimiter,
            datetime.now(UTC),
            rows_read,
            rows_read - bad_rows,
            bad_rows,
        ],
    )
    return FileResult(
        csv.path,
        "loaded",
        kind=kind.name,
        load_id=load_id,
        rows_read=rows_read,
        rows_loaded=rows_read - bad_rows,
        rows_quarantined=bad_rows,
        problems=[(r, f, reason) for r, f, reason in problems],
        read_as=read_as,
        blank_rows=records.blank_rows,
        size=csv.size,
        mtime_ns=csv.mtime_ns,
    )


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    # fetchall, not fetchone: DuckDB 2 keeps a half-read result open, and then refuses
    # to register the next file's records on the connection.
    return int(con.execute(sql).fetchall()[0][0])


def read_plain(
    con: duckdb.DuckDBPyConnection, csv: csvfiles.CsvFile, records: csvrecords.Records
) -> bool:
    """``_plain``: the data rows of a file that ``records.plain`` found may be plain, read
    by DuckDB in strict mode, with their row numbers. True when DuckDB confirms it: no
    error (a quoting problem, a row wider or narrower than the header), one record per
    line (a quoted line break would make fewer) and no blank row. Otherwise nothing is
    kept and the csv module reads the file. Outside the load's transaction, so a refusal
    by the reader costs nothing but the try."""
    columns = {f"c{i}": "VARCHAR" for i in range(len(records.headers))}
    blank = " AND ".join(f"coalesce(trim(c{i}), '') = ''" for i in range(len(columns)))
    with tempfile.TemporaryDirectory(prefix="avtale-ingest-") as scratch:
        path = Path(scratch) / "plain.csv"
        path.write_text(csv.text, encoding="utf-8")
        try:
            con.execute(
                "CREATE TEMP TABLE _plain AS SELECT row_number() OVER () + 1 AS _row, * "
                "FROM read_csv(?, header = false, skip = 1, columns = ?, delim = ?, "
                "quote = '\"', escape = '\"', auto_detect = false, strict_mode = true)",
                [str(path), columns, csv.delimiter],
            )
        except duckdb.Error:
            return False
    rows, blanks = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {blank}) FROM _plain"
    ).fetchall()[0]
    if rows != records.plain_rows or blanks:
        con.execute("DROP TABLE _plain")
        return False
    return True


def create_source(
    con: duckdb.DuckDBPyConnection, records: csvrecords.Records, numeric: list[str]
) -> None:
    """``_src``: the file's records as text columns ``c0``.. with their row numbers,
    plus the cleaned text of every numeric column (parsed once, read several times).

    The records go to DuckDB as a plain CSV it cannot misread (written by the csv
    module, every row as wide as the header), which is faster than any other way of
    handing it Python rows."""
    cleaned = "".join(f", avt_num_text({c}) AS {number_column(c)}" for c in numeric)
    if records.plain_rows is not None:  # read by DuckDB already (read_plain)
        con.execute(f"CREATE TEMP TABLE _src AS SELECT *{cleaned} FROM _plain")
        return
    columns = {"_row": "INTEGER"} | {f"c{i}": "VARCHAR" for i in range(len(records.headers))}
    with tempfile.TemporaryDirectory(prefix="avtale-ingest-") as scratch:
        path = Path(scratch) / "records.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(
                [n, *row] for n, row in zip(records.row_numbers, records.rows, strict=True)
            )
        con.execute(
            f"CREATE TEMP TABLE _src AS SELECT *{cleaned} FROM read_csv(?, header = false, "
            "columns = ?, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
            "strict_mode = true)",
            [str(path), columns],
        )


def decimal_separator(con: duckdb.DuckDBPyConnection, numeric: list[str]) -> str | None:
    """'comma' or 'point' when the file's unambiguous numbers all use that decimal
    separator; None when they show none, or both."""
    if not numeric:
        return None
    shown = " UNION ALL ".join(
        f"SELECT DISTINCT avt_num_evidence({number_column(c)}) AS sep FROM _src" for c in numeric
    )
    seps = {row[0] for row in con.execute(f"SELECT DISTINCT sep FROM ({shown})").fetchall()}
    seps.discard(None)
    return seps.pop() if len(seps) == 1 else None


def reading_of(csv: csvfiles.CsvFile, locale: str | None) -> str:
    delimiter = {"\t": "tab", ";": "';'", ",": "','"}.get(csv.delimiter, repr(csv.delimiter))
    decimal = {"comma": ", decimal comma", "point": ", decimal point"}.get(locale or "", "")
    return f"{csv.encoding}, {delimiter}, {csv.line_ending}{decimal}"


def kind_header(f: Field, headers: list[str]) -> str:
    """The header the file used for a field (so messages speak the file's language)."""
    return next((h for h in headers if f.matches(h)), f.aliases[0])


def map_columns(kind: Kind, headers: list[str]) -> dict[str, str]:
    """Field name -> raw column (``c3``); the first matching header wins."""
    out: dict[str, str] = {}
    for i, header in enumerate(headers):
        f = kind.field_for(header)
        if f is not None and f.name not in out:
            out[f.name] = f"c{i}"
    return out
