"""Plain files are read by DuckDB, the others by the csv module: both load the same.

A plain file (header on row 1, one record per line, each as wide as the header, no blank
row) goes to DuckDB's reader as it is; anything DuckDB does not confirm falls back to the
csv module. Each file below is loaded both ways and every table must come out the same,
row numbers and quarantine reasons included."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from avtale.pipeline import default_currencies
from ingestion import records as csvrecords
from ingestion.files import open_csv
from ingestion.load import load_files, read_plain

HEADER = "line_id,contract_id,product,quantity,unit_price,billing_period\n"
FILES = {
    "customers.csv": 'customer_id,name\nG1,"Gamle, AS"\nG2,""\nG3,  Spaced  \n',
    "contracts.csv": "contract_id,customer_id,start_date,term_months\n"
    'K1,G1,2025-01-01,12\nK2,G2,2025-02-01,""\nK3,G3,2025-03-01,24\n',
    "plain.csv": HEADER + 'L1,K1,Assist,2,100,monthly\nL2,K1,"Ex""tra",1,50,monthly\n',
    "quoted_line_break.csv": HEADER + 'L3,K2,"Two\nlines",1,10,monthly\nL4,K2,X,1,10,monthly\n',
    "blank_line.csv": HEADER + "L5,K3,A,1,10,monthly\n\nL6,K3,B,1,10,monthly\n",
    "excel_empty_row.csv": HEADER.replace(",", ";") + "L7;K3;A;1;10;monthly\n;;;;;\n",
    "ragged.csv": HEADER + "L9,K3,A,1,10\nL10,K3,B,1,10,monthly,\nL11,K3,C,1,10,monthly,x\n",
    "stray_quotes.csv": HEADER + 'L12,K3,A"b,1,10,monthly\nL13,K3,"open,1,10,monthly\n',
    "all_quoted.csv": HEADER + '"L15","K3","A","1","10","monthly"\n',
    "no_last_line_end.csv": HEADER + "L16,K3,A,1,10,monthly",
    "bad_values.csv": HEADER + "L17,K3,A,x,10,monthly\nL18,K3,A,1,10,fortnightly\n",
    "blank_lines_at_end.csv": HEADER + "L20,K3,A,1,10,monthly\n\n\n",
    "crlf.csv": (HEADER + "L21,K3,A,1,10,monthly\n").replace("\n", "\r\n"),
    "header_only.csv": HEADER,
    "blank_first_line.csv": "\n" + HEADER + "L23,K3,A,1,10,monthly\n",
    "decimal_comma.csv": HEADER.replace(",", ";") + "L24;K3;A;1;10,5;monthly\n",
}


def load(folder: Path, tmp: Path) -> tuple[list[tuple], dict[str, list[str]]]:
    con = duckdb.connect(str(tmp))
    report = load_files(con, [folder], default_currencies())
    files = sorted(
        (f.path.name, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, f.blank_rows)
        for f in report.files
    )
    tables = {}
    for schema, table in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary"
    ).fetchall():
        rows = (
            con.execute(f"SELECT * EXCLUDE (loaded_at) FROM {schema}.{table}").fetchall()
            if (table == "loads")
            else con.execute(f"SELECT * FROM {schema}.{table}").fetchall()
        )
        tables[f"{schema}.{table}"] = sorted(map(repr, rows))
    con.close()
    return files, tables


def test_every_file_loads_the_same_by_duckdb_and_by_the_csv_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    (folder / "windows_1252.csv").write_bytes(
        (HEADER + "L25,K3,Bølge,1,10,monthly\n").encode("cp1252")
    )

    by_duckdb = load(folder, tmp_path / "a.duckdb")
    monkeypatch.setattr(csvrecords, "plain", lambda text, delimiter: None)  # none is plain
    by_csv_module = load(folder, tmp_path / "b.duckdb")

    assert by_duckdb == by_csv_module
    files, tables = by_duckdb
    assert ("plain.csv", "loaded", 2, 2, 0, 0) in files
    assert any('Ex"tra' in row for row in tables["generic.contract_lines"])


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (HEADER + "L1,K1,A,1,10,monthly\n", True),
        ("\n" + HEADER, False),  # the header is not on row 1
        ('"line_id\n",x\n', False),  # the header runs over two lines
        (";;;\nL1;K1\n", False),  # an empty first row
    ],
)
def test_a_file_may_be_plain_only_with_its_header_on_the_first_line(text: str, plain: bool) -> None:
    delimiter = ";" if text.startswith(";") else ","
    assert (csvrecords.plain(text, delimiter) is not None) is plain


@pytest.mark.parametrize(
    ("name", "confirmed"),
    [
        ("plain.csv", True),
        ("all_quoted.csv", True),
        ("decimal_comma.csv", True),
        ("quoted_line_break.csv", False),  # one record over two lines
        ("blank_line.csv", False),
        ("excel_empty_row.csv", False),
        ("ragged.csv", False),
        ("stray_quotes.csv", False),
        ("blank_lines_at_end.csv", False),
    ],
)
def test_duckdb_confirms_only_plain_files(tmp_path: Path, name: str, confirmed: bool) -> None:
    path = tmp_path / name
    path.write_text(FILES[name], encoding="utf-8", newline="")
    csv = open_csv(path)
    records = csvrecords.plain(csv.text, csv.delimiter)
    assert records is not None
    with duckdb.connect() as con:
        assert read_plain(con, csv, records) is confirmed
