"""Load CSV exports into the warehouse: once per file, typed, with lineage and quarantine.

A file is one transaction: its good rows land in the kind's table (the dbt
source), its bad rows in ``ingestion.quarantine`` with file, row, field and
reason, and a row in ``ingestion.loads`` records it by content hash so the same
content is never loaded twice. Files of one call are loaded in dependency
order (companies before deals before line items), so a reference to a row that
does not exist can be told apart from one that is merely later in the batch.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion import files as csvfiles
from ingestion.kinds import KINDS, Field, FieldType, Kind, describe, recognise
from ingestion.parsing import Check, checks, install_macros, quote, typed_columns

LINEAGE = [("load_id", "INTEGER"), ("source_file", "VARCHAR"), ("row_number", "INTEGER")]

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


@dataclass
class LoadReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != "error" for f in self.files)

    @property
    def loaded(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "loaded"]

    def format(self, max_problems: int = 20) -> str:
        lines = []
        for f in self.files:
            if f.status == "loaded":
                lines.append(
                    f"{f.path}: {f.kind}, load {f.load_id}: read {f.rows_read}, "
                    f"loaded {f.rows_loaded}, quarantined {f.rows_quarantined}"
                )
                for row, fld, reason in f.problems[:max_problems]:
                    lines.append(f"    row {row}, {fld}: {reason}")
                if len(f.problems) > max_problems:
                    rest = len(f.problems) - max_problems
                    lines.append(f"    ... and {rest} more (SELECT * FROM quarantine)")
            else:
                lines.append(f"{f.path}: {f.status}: {f.message}")
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
        cols = [(n, t) for f in kind.fields for n, t, _ in typed_columns(f, None, False)]
        ddl = ", ".join(f'"{n}" {t}' for n, t in cols + LINEAGE)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {kind.table} ({ddl})")


def load_files(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    default_currencies: Iterable[str],
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load every CSV named (folders are searched) and report per file."""
    ensure_tables(con)
    install_macros(con)
    report = LoadReport()
    known = sorted({c.upper() for c in default_currencies})
    with tempfile.TemporaryDirectory(prefix="avtale-ingest-") as scratch:
        opened: list[tuple[Kind, csvfiles.CsvFile]] = []
        for path in csvfiles.expand(list(paths)):
            try:
                csv = csvfiles.open_csv(path, Path(scratch))
            except csvfiles.UnreadableFileError as exc:
                report.files.append(FileResult(path, "error", message=str(exc).split(": ", 1)[-1]))
                continue
            kind = recognise(csv.headers)
            if kind is None:
                report.files.append(FileResult(path, "error", message=_unrecognised(csv.headers)))
                continue
            opened.append((kind, csv))
        # FX rates first (currencies are checked against them), then by dependency.
        opened.sort(key=lambda kc: (kc[0].name != "fx_rates", kc[0].order))
        for kind, csv in opened:
            if progress:
                progress(f"loading {csv.path.name} as {kind.name}")
            report.files.append(_load_one(con, kind, csv, known))
    return report


def _unrecognised(headers: list[str]) -> str:
    shown = ", ".join(h for h in headers[:12])
    kinds = "; ".join(describe(k) for k in KINDS)
    return f"not a known export; its header is [{shown}]. Known kinds: {kinds}"


def _load_one(
    con: duckdb.DuckDBPyConnection, kind: Kind, csv: csvfiles.CsvFile, known: list[str]
) -> FileResult:
    previous = con.execute(
        "SELECT load_id, source_file FROM ingestion.loads WHERE file_hash = ?", [csv.sha256]
    ).fetchone()
    if previous:
        return FileResult(
            csv.path,
            "duplicate",
            kind=kind.name,
            message=f"same content already loaded as load {previous[0]} ({previous[1]}); skipped",
        )
    source_file = csv.path.name
    con.execute("BEGIN TRANSACTION")
    try:
        result = _load_in_transaction(con, kind, csv, source_file, known)
        con.execute("COMMIT")
        return result
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        return FileResult(csv.path, "error", kind=kind.name, message=f"could not be read: {exc}")
    finally:
        for table in (
            "_src",
            "_parsed",
            "_errors",
            "_known_currencies",
            "_rejects",
            "_rejects_scan",
        ):
            con.execute(f"DROP TABLE IF EXISTS {table}")


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection,
    kind: Kind,
    csv: csvfiles.CsvFile,
    source_file: str,
    known: list[str],
) -> FileResult:
    load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM ingestion.loads").fetchone()[0]  # type: ignore[index]
    names = [f"c{i}" for i in range(len(csv.headers))]
    con.execute(
        "CREATE TEMP TABLE _src AS "
        "SELECT (row_number() OVER () + 1)::INTEGER AS _row, * FROM read_csv(?, header = true, "
        "auto_detect = false, columns = ?, delim = ?, quote = '\"', escape = '\"', "
        "null_padding = true, store_rejects = true, "
        "rejects_table = '_rejects', rejects_scan = '_rejects_scan')",
        [str(csv.utf8_path), {name: "VARCHAR" for name in names}, csv.delimiter],
    )
    rejected = _number_rows_around_rejects(con)
    con.execute(
        "CREATE TEMP TABLE _known_currencies AS "
        "SELECT unnest(?::VARCHAR[]) AS currency UNION SELECT currency FROM planning.fx_rates",
        [known],
    )
    column_of = _map_columns(kind, csv.headers)
    missing = [f for f in kind.fields if f.required and f.name not in column_of]
    if missing:  # recognise() guarantees required columns; a guard for direct callers
        raise duckdb.InvalidInputException(f"missing column {missing[0].aliases[0]}")

    decimal_comma = _uses_decimal_comma(con, kind, column_of)
    typed = [
        (name, expr)
        for f in kind.fields
        for name, _, expr in typed_columns(f, column_of.get(f.name), decimal_comma)
    ]
    raw_json = (
        "json_object(" + ", ".join(f"{quote(h)}, c{i}" for i, h in enumerate(csv.headers)) + ")"
    )
    select = ", ".join(f'{expr} AS "{name}"' for name, expr in typed)
    con.execute(
        f"CREATE TEMP TABLE _parsed AS SELECT _row, {', '.join(names)}, {select}, "
        f"{raw_json}::VARCHAR AS _raw FROM _src"
    )

    all_checks: list[Check] = [c for f in kind.fields for c in checks(f, column_of.get(f.name))]
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

    header_of = {f.name: kind_header(f, csv.headers) for f in kind.fields}
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
    con.execute(
        "INSERT INTO ingestion.quarantine SELECT ?, ?, line, NULL, "
        "'malformed CSV row: ' || lower(first(error_type ORDER BY error_message)) || "
        "' (' || first(error_message ORDER BY error_message) || ')', first(csv_line) "
        "FROM _rejects GROUP BY line ORDER BY line",
        [load_id, source_file],
    )
    rows_read = rejected + con.execute("SELECT count(*) FROM _parsed").fetchone()[0]  # type: ignore[index]
    bad_rows = rejected + con.execute("SELECT count(DISTINCT _row) FROM _errors").fetchone()[0]  # type: ignore[index]
    problems = con.execute(
        "SELECT row_number, coalesce(field, '(row)'), reason FROM ingestion.quarantine "
        "WHERE load_id = ? ORDER BY row_number LIMIT 200",
        [load_id],
    ).fetchall()
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
    )


def _number_rows_around_rejects(con: duckdb.DuckDBPyConnection) -> int:
    """Give good rows their real line numbers when malformed lines were set aside.

    `_row` counts the rows DuckDB kept; each rejected line shifts the rows after
    it. The kept rows take, in order, the line numbers that were not rejected.
    Returns how many lines were rejected.
    """
    rejected = con.execute("SELECT count(DISTINCT line) FROM _rejects").fetchone()
    count = int(rejected[0]) if rejected else 0
    if count:
        con.execute(
            "WITH kept AS (SELECT range::INTEGER AS line FROM range(2, "
            "(SELECT count(*) FROM _src) + ? + 2) "
            "WHERE range NOT IN (SELECT line FROM _rejects)), "
            "numbered AS (SELECT line, (row_number() OVER (ORDER BY line) + 1)::INTEGER AS seq "
            "FROM kept) "
            "UPDATE _src SET _row = numbered.line FROM numbered WHERE _src._row = numbered.seq",
            [count],
        )
    return count


def kind_header(f: Field, headers: list[str]) -> str:
    """The header the file used for a field (so messages speak the file's language)."""
    return next((h for h in headers if f.matches(h)), f.aliases[0])


def _map_columns(kind: Kind, headers: list[str]) -> dict[str, str]:
    """Field name -> raw column (``c3``); the first matching header wins."""
    out: dict[str, str] = {}
    for i, header in enumerate(headers):
        f = kind.field_for(header)
        if f is not None and f.name not in out:
            out[f.name] = f"c{i}"
    return out


def _uses_decimal_comma(
    con: duckdb.DuckDBPyConnection, kind: Kind, column_of: dict[str, str]
) -> bool:
    """A file writes numbers one way: when any number has a decimal comma
    (`12,5`), a point in any other (`1.000`) separates thousands."""
    numeric = [
        column_of[f.name]
        for f in kind.fields
        if f.type in (FieldType.NUMBER, FieldType.INTEGER) and f.name in column_of
    ]
    if not numeric:
        return False
    condition = " OR ".join(f"avt_has_decimal_comma({column})" for column in numeric)
    row = con.execute(f"SELECT count(*) > 0 FROM (FROM _src WHERE {condition} LIMIT 1)").fetchone()
    return bool(row and row[0])
