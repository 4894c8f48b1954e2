"""Publishing swaps a whole new file in; readers never see half a copy or wait on a build."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from avtale.serving import NotPublishedError, connect, connect_serving, publish


def make_marts(path: Path, mrr: float) -> None:
    """The marts file as dbt builds it: the marts are the tables of its `main` schema."""
    con = connect(path)
    con.execute(
        "CREATE OR REPLACE TABLE monthly_metrics AS SELECT DATE '2025-01-01' AS month, ? AS mrr",
        [mrr],
    )
    con.execute(
        "CREATE OR REPLACE TABLE customer_months AS "
        "SELECT 'c' || range AS customer_id, ? / 1000 AS mrr FROM range(1000)",
        [mrr],
    )
    con.close()


def test_nothing_published_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotPublishedError, match="avtale refresh"):
        connect_serving(tmp_path / "serving.duckdb")


def test_publish_copies_the_marts_and_replaces_the_previous_copy(tmp_path: Path) -> None:
    marts, serving = tmp_path / "marts.duckdb", tmp_path / "serving.duckdb"
    make_marts(marts, 100.0)
    assert publish(marts, serving) == ["customer_months", "monthly_metrics"]
    old_reader = connect_serving(serving)
    make_marts(marts, 250.0)
    publish(marts, serving)
    # A reader that opened the old copy keeps a consistent view of it...
    assert old_reader.execute("SELECT mrr FROM monthly_metrics").fetchone() == (100.0,)
    old_reader.close()
    # ...and every new reader sees the new one, whole.
    with connect_serving(serving) as con:
        assert con.execute("SELECT mrr FROM monthly_metrics").fetchone() == (250.0,)
        assert con.execute("SELECT sum(mrr) FROM customer_months").fetchone() == (
            pytest.approx(250.0),
        )
        assert con.execute("SELECT count(*) FROM _published").fetchone() == (1,)
    assert not list(tmp_path.glob("*.building*"))


def test_serving_copy_is_read_only(tmp_path: Path) -> None:
    marts, serving = tmp_path / "marts.duckdb", tmp_path / "serving.duckdb"
    make_marts(marts, 1.0)
    publish(marts, serving)
    with connect_serving(serving) as con, pytest.raises(duckdb.Error):
        con.execute("DELETE FROM monthly_metrics")


def test_readers_in_other_processes_never_fail_while_publishing(tmp_path: Path) -> None:
    """Readers in another process open, query and close while publishes swap copies in."""
    marts, serving = tmp_path / "marts.duckdb", tmp_path / "serving.duckdb"
    make_marts(marts, 1.0)
    publish(marts, serving)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from avtale.serving import connect_serving\n"
            "from pathlib import Path\n"
            "end = time.time() + 3; n = 0; slowest = 0.0\n"
            "while time.time() < end:\n"
            "    t = time.perf_counter()\n"
            "    with connect_serving(Path(sys.argv[1])) as con:\n"
            "        total = con.execute('SELECT sum(mrr) FROM customer_months').fetchone()[0]\n"
            "        assert round(total) in (1, 2), total\n"
            "    slowest = max(slowest, time.perf_counter() - t); n += 1\n"
            "print(n, slowest)\n",
            str(serving),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    published = 0
    while reader.poll() is None:
        make_marts(marts, 1.0 + published % 2)
        publish(marts, serving)
        published += 1
        time.sleep(0.05)
    out, _ = reader.communicate(timeout=30)
    assert reader.returncode == 0, out
    reads, _slowest = out.split()
    assert int(reads) > 20 and published > 5


def test_the_copy_has_every_mart_whole_and_what_a_crash_left_in_the_log(tmp_path: Path) -> None:
    """publish copies the marts file: every table, large and small, arrives with the same
    rows and column types, including what a build that never closed its file left only
    in the write-ahead log."""
    marts, serving = tmp_path / "marts.duckdb", tmp_path / "serving.duckdb"
    with connect(marts) as con:
        for i, rows in enumerate([300_000, 1, 0, 50_000, 7]):
            con.execute(
                f"CREATE TABLE mart_{i} AS SELECT range AS id, "
                "('c' || range % 97)::VARCHAR AS customer_id, "
                "(range * 0.01)::DECIMAL(18, 2) AS amount, "
                "DATE '2020-01-01' + (range % 2000)::INTEGER AS day, "
                "CASE WHEN range % 5 = 0 THEN NULL ELSE range / 3 END AS maybe "
                f"FROM range({rows})"
            )
    # A build killed before closing: its last table is in marts.duckdb.wal only.
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, duckdb\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "con.execute('SET checkpoint_threshold = \\'1GB\\'')\n"
            "con.execute('CREATE TABLE mart_5 AS SELECT range AS id FROM range(1000)')\n"
            "os._exit(0)\n",
            str(marts),
        ],
        check=False,
    )
    assert crashed.returncode == 0 and marts.with_name("marts.duckdb.wal").exists()
    assert publish(marts, serving) == [f"mart_{i}" for i in range(6)]
    with connect(tmp_path / "compare.duckdb") as con:
        con.execute("ATTACH ? AS built (READ_ONLY)", [str(marts)])
        con.execute("ATTACH ? AS serving (READ_ONLY)", [str(serving)])
        columns = (
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND table_name LIKE 'mart%'"
        )
        assert con.execute(f"{columns} EXCEPT {columns}", ["built", "serving"]).fetchall() == []
        for i in range(6):
            for one, other in (("built", "serving"), ("serving", "built")):
                assert con.execute(
                    f"SELECT count(*) FROM (FROM {one}.mart_{i} EXCEPT ALL FROM {other}.mart_{i})"
                ).fetchone() == (0,), (i, one)
        assert con.execute("SELECT count(*) FROM serving.mart_5").fetchone() == (1000,)
