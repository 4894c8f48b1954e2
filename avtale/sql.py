"""``avtale sql``: one read-only query against the published marts, CSV out.

Two layers keep it read-only. The connection is the serving sandbox (``connect_serving``):
a read-only file, no other file or network, no extensions, locked settings; DuckDB
enforces that whatever the SQL says. On top, DuckDB's own parser must find exactly one
statement and it must be a query (SELECT, WITH ... SELECT, FROM ..., VALUES, DESCRIBE,
SUMMARIZE, SHOW): no COPY, ATTACH, SET, PRAGMA, CALL, temporary tables or macros, and no
second statement hidden after a ``;``. A query that runs longer than the timeout is
cancelled.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import duckdb

from avtale.csv_export import write_csv
from avtale.serving import connect_serving

TIMEOUT_VARIABLE = "AVTALE_SQL_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 30.0
BATCH_ROWS = 10_000


class QueryRefusedError(ValueError):
    """The SQL is not exactly one read-only query."""


class QueryTimeoutError(RuntimeError):
    """The query ran longer than the timeout and was cancelled."""


def timeout_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """The timeout from ``AVTALE_SQL_TIMEOUT_S``: a positive number of seconds."""
    text = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, not {text!r}")
    return seconds


def the_one_query(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    """The single SELECT statement in ``sql``, as DuckDB parses it, or QueryRefusedError."""
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryRefusedError(f"the query is not valid UTF-8 ({exc.reason})") from exc
    statements = con.extract_statements(sql)
    if not statements:
        raise QueryRefusedError("no SQL statement given")
    if len(statements) > 1:
        raise QueryRefusedError(
            f"one statement at a time: found {len(statements)} separated by ';'"
        )
    (statement,) = statements
    try:
        kind = statement.type.name
    except ValueError:
        # The parser knows statement types the Python enum does not (UPDATE EXTENSIONS).
        kind = "a statement of another kind"
    if kind == duckdb.StatementType.MULTI.name:
        raise QueryRefusedError(
            "this runs as several statements (a PIVOT must list its columns: "
            "PIVOT ... ON column IN ('a', 'b'))"
        )
    if kind != duckdb.StatementType.SELECT.name:
        raise QueryRefusedError(
            f"only a SELECT query may run here, not {kind}: the published marts are read-only"
        )
    return statement


def run_query(serving: Path, sql: str, out: TextIO, timeout_s: float) -> None:
    """Run ``sql`` on the serving copy and write the result to ``out`` as CSV. Raises
    NotPublishedError, QueryRefusedError, QueryTimeoutError or duckdb.Error."""
    con = connect_serving(serving)
    try:
        statement = the_one_query(con, sql)
        _run_with_timeout(con, statement, out, timeout_s)
    finally:
        con.close()


def _run_with_timeout(
    con: duckdb.DuckDBPyConnection, statement: duckdb.Statement, out: TextIO, timeout_s: float
) -> None:
    timed_out = threading.Event()

    def cancel() -> None:
        timed_out.set()
        con.interrupt()

    timer = threading.Timer(timeout_s, cancel)
    timer.daemon = True
    timer.start()  # the clock covers running and writing out: the rows stream
    try:
        cursor = con.execute(statement)
        write_csv(out, [column[0] for column in cursor.description or []], _rows(cursor))
    except duckdb.InterruptException as exc:
        if timed_out.is_set():
            raise QueryTimeoutError(
                f"query cancelled after {timeout_s:g} s ({TIMEOUT_VARIABLE})"
            ) from exc
        raise
    finally:
        timer.cancel()
        timer.join()  # a cancel already under way ends before the connection closes


def _rows(cursor: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield from batch


def one_line(error: BaseException) -> str:
    """DuckDB's message without its ``LINE 1: ...`` caret drawing: the first paragraph,
    on one line."""
    paragraph = str(error).strip().split("\n\n")[0]
    return " ".join(paragraph.split()) or type(error).__name__
