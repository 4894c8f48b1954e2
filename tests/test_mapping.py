"""Mapping files for CSV layouts no known kind recognises (SPEC I4, ingestion.mapping): a
file is read through the mapping that fits its header, with its dates and numbers as the
mapping declares and its constants added, and loaded and quarantined as the kind's own
export would be; a mapping that cannot be used says which file and key, and why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from avtale.pipeline import ingest
from avtale.serving import connect
from avtale.settings import Paths
from ingestion.mapping import MappingError, load_mappings, parse_mapping

CONTRACTS = {
    "kind": "generic_contracts",
    "columns": {
        "contract_id": "Avtalenr",
        "customer_id": "Kundenr",
        "start_date": "Fra dato",
        "end_date": "Til dato",
    },
    "date_format": "%m/%d/%Y",
    "constants": {"currency": "NOK", "auto_renew": "true"},
}
LINES = {
    "kind": "generic_contract_lines",
    "columns": {
        "line_id": "Linje",
        "contract_id": "Avtalenr",
        "product": "Vare",
        "quantity": "Antall",
        "unit_price": "Pris",
    },
    "decimal": ",",
    "constants": {"billing_period": "monthly"},
}


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    home = Paths(tmp_path / "home").ensure()
    home.mappings.mkdir()
    (home.mappings / "contracts.yaml").write_text(yaml.safe_dump(CONTRACTS), "utf-8")
    (home.mappings / "lines.yaml").write_text(yaml.safe_dump(LINES), "utf-8")
    return home


def test_a_file_in_an_unknown_layout_loads_through_its_mapping(home: Paths, tmp_path: Path) -> None:
    customers = write(
        tmp_path / "exports", "customers.csv", "customer_id;name\nK-7;Fjord AS\nK-8;Li AS\n"
    )
    contracts = write(
        tmp_path / "exports",
        "avtaler.csv",
        "Avtalenr;Kundenr;Fra dato;Til dato;Merknad\n"
        "A-1;K-7;03/31/2025;03/30/2026;første\n"
        "A-2;K-8;31/03/2025;;dag først: feil format\n",
    )
    lines = write(
        tmp_path / "exports",
        "linjer.csv",
        "Linje;Avtalenr;Vare;Antall;Pris\nL-1;A-1;Assist lisens;1 200;1.250,50\n",
        encoding="cp1252",
    )
    report = ingest(home, [customers, contracts, lines])
    assert report.ok, report.format()
    by_name = {f.path.name: f for f in report.files}
    assert "mapped" not in by_name["customers.csv"].read_as  # a known export stays one
    assert by_name["avtaler.csv"].kind == "generic_contracts"
    assert by_name["avtaler.csv"].read_as.endswith("mapped by contracts.yaml")
    assert (by_name["avtaler.csv"].rows_loaded, by_name["avtaler.csv"].rows_quarantined) == (1, 1)
    ((row, field, reason),) = by_name["avtaler.csv"].problems
    assert (row, field) == (3, "start_date")
    assert "not %m/%d/%Y: 31/03/2025" in reason
    assert by_name["linjer.csv"].kind == "generic_contract_lines"
    assert by_name["linjer.csv"].rows_loaded == 1
    with connect(home.warehouse, read_only=True) as con:
        assert con.execute(
            "SELECT contract_id, customer_id, start_date, end_date, currency, auto_renew "
            "FROM generic.contracts"
        ).fetchall() == [("A-1", "K-7", date(2025, 3, 31), date(2026, 3, 30), "NOK", True)]
        quantity, price, period = con.execute(
            "SELECT quantity, unit_price, billing_period FROM generic.contract_lines"
        ).fetchone()
    assert (Decimal(str(quantity)), Decimal(str(price)), period) == (
        Decimal(1200),
        Decimal("1250.5"),
        "monthly",
    )


def test_a_known_export_is_not_taken_by_a_mapping(home: Paths, tmp_path: Path) -> None:
    known = write(tmp_path, "customers.csv", "customer_id;name;country\nK-7;Fjord AS;NO\n")
    (file,) = ingest(home, [known]).files
    assert file.kind == "generic_customers" and "mapped" not in file.read_as


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "sap_orders"}, "kind: must be one of: "),
        (
            {"columns": {"contract_id": "Avtalenr"}},
            "columns: generic_contracts needs customer_id, start_date",
        ),
        (
            {"columns": CONTRACTS["columns"] | {"colour": "Farge"}},
            "columns.colour: generic_contracts has no such field",
        ),
        ({"date_format": "dd.mm.yyyy"}, "date_format: must be a strptime format"),
        ({"decimal": ";"}, 'decimal: must be "," or "."'),
        (
            {"constants": {"currency": "NOK", "start_date": "2025-01-01"}},
            "constants.start_date: is also mapped to a column",
        ),
        ({"delimiter": ";"}, "delimiter: unknown key"),
    ],
)
def test_a_mapping_that_cannot_be_used_names_its_file_and_key(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(MappingError) as refused:
        parse_mapping("avtaler.yaml", CONTRACTS | change)
    assert str(refused.value).startswith("avtaler.yaml: ")
    assert problem in str(refused.value)


def test_a_broken_mapping_is_reported_and_the_others_still_work(
    home: Paths, tmp_path: Path
) -> None:
    (home.mappings / "broken.yaml").write_text("kind: [unclosed", "utf-8")
    (home.mappings / "wrong.yml").write_text(yaml.safe_dump({"kind": "nope"}), "utf-8")
    mappings, problems = load_mappings(home.mappings)
    assert [m.source for m in mappings] == ["contracts.yaml", "lines.yaml"]
    assert problems[0].startswith("broken.yaml: ") and problems[1].startswith("wrong.yml: kind")
    customers = write(tmp_path, "customers.csv", "customer_id;name\nK-1;Havn AS\n")
    contracts = write(
        tmp_path, "avtaler.csv", "Avtalenr;Kundenr;Fra dato;Til dato\nA-9;K-1;01/02/2025;\n"
    )
    report = ingest(home, [customers, contracts])
    assert not report.ok  # the command line exits 1: someone must fix the mapping
    assert [f.rows_loaded for f in report.files] == [1, 1], report.format()
    assert "mapping not used: broken.yaml" in report.format()
