"""The settings (avtale.settings): one typed object from the environment and the files in
avtale/config/, each replaced by the data folder's own; checked at start, with the file and
entry or the variable named; the ones the marts use handed to dbt as vars."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from avtale.notify.config import config_path, load_config
from avtale.repository.documents import max_upload_bytes
from avtale.repository.generation import seller, vat_rules
from avtale.repository.limits import current_limits
from avtale.repository.renewals import renewal_settings
from avtale.rules.loading import CONFIG_DIR
from avtale.settings import (
    DBT_PROJECT_DIR,
    STREAMLIT_APP,
    Paths,
    Settings,
    SettingsError,
    dbt_vars,
    load_settings,
)

NO_ENV: dict[str, str] = {}
DAY = date(2026, 1, 1)


@pytest.fixture
def home(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "home").ensure()


def override(home: Paths, name: str, old: str, new: str) -> Path:
    """The data folder's own ``name``: the shipped file with ``old`` made ``new``."""
    text = (CONFIG_DIR / name).read_text(encoding="utf-8")
    assert old in text, (name, old)
    path = home.home / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_the_shipped_settings_are_valid(home: Paths) -> None:
    settings = load_settings(home, NO_ENV)
    assert (settings.reporting_currency, settings.timezone.key) == ("NOK", "Europe/Oslo")
    assert settings.max_upload_bytes == 20 * 1024 * 1024
    assert settings.engine == "duckdb"  # the embedded default; spark by AVTALE_ENGINE
    assert (settings.renewals.cpi_percent, settings.renewals.horizon_days) == (Decimal(3), 60)
    assert settings.limits.max_period_amount == Decimal(10) ** 12
    assert (settings.seller.country, settings.vat.standard_rate("NO", DAY)) == ("NO", 25)
    assert settings.reminders.lead_days["notice"] == (90, 30, 7)
    assert set(settings.files.values()) == set(CONFIG_DIR.glob("*.yaml"))


# --- a mistake is named ----------------------------------------------------------------------

FILE_CASES = [
    ("renewals.yaml", "cpi_percent: 3.0", "cpi_percent: lots", "cpi_percent: must be a number"),
    ("renewals.yaml", "horizon_days: 60\n", "", "horizon_days: is required"),
    ("renewals.yaml", "horizon_days: 60", "horizon_days: -1", "horizon_days: must be 0 or more"),
    ("limits.yaml", "max_quantity: 100000", "max_quantity: 0", "max_quantity: must be 1 or more"),
    ("limits.yaml", "version: 1", "version: 1\nmax_discount: 3", "max_discount: unknown key"),
    ("vat.yaml", '  "NO": 25\n', '  "NO": 125\n', "standard_rates.NO: must be 100 or less"),
    ("seller.yaml", 'country: "NO"', "country: NO", "country: must be a quoted country code"),
    ("seller.yaml", 'country: "NO"', 'country: "US"', "country: vat.yaml has no standard rate"),
    ("seller.yaml", "signatory_title: Head of Sales\n", "", "signatory_title: is required"),
    ("seller.yaml", "address:", "adress:", "adress: unknown key 'adress'"),
    ("reminders.yaml", "  notice:", "  notise:", "lead_days.notise: unknown key"),
    ("reminders.yaml", "escalate_after_days: 3", "escalate_after_days: 0", "must be 1 or more"),
    ("limits.yaml", "max_term_months: 120", "max_term_months: [120", "is not valid YAML"),
]


@pytest.mark.parametrize(("name", "old", "new", "message"), FILE_CASES)
def test_a_bad_file_is_named_with_its_entry(
    home: Paths, name: str, old: str, new: str, message: str
) -> None:
    path = override(home, name, old, new)
    with pytest.raises(SettingsError) as refused:
        load_settings(home, NO_ENV)
    (problem,) = refused.value.problems
    assert problem.startswith(f"{path}: ") and message in problem, problem


ENV_CASES = [
    ("AVTALE_TIMEZONE", "Europe/Atlantis", "AVTALE_TIMEZONE='Europe/Atlantis' is not a time zone"),
    ("AVTALE_REPORTING_CURRENCY", "kroner", "AVTALE_REPORTING_CURRENCY='kroner' is not a currency"),
    ("AVTALE_MAX_UPLOAD_MB", "lots", "AVTALE_MAX_UPLOAD_MB='lots' is not a size"),
    ("AVTALE_MAX_UPLOAD_MB", "0", "AVTALE_MAX_UPLOAD_MB='0' is not a size"),
    ("AVTALE_MAX_UPLOAD_MB", "nan", "AVTALE_MAX_UPLOAD_MB='nan' is not a size"),
    ("AVTALE_ENGINE", "snowflake", "AVTALE_ENGINE='snowflake' is not an engine"),
]


@pytest.mark.parametrize(("variable", "value", "message"), ENV_CASES)
def test_a_bad_variable_is_named_with_its_value(
    home: Paths, variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(home, {variable: value})
    (problem,) = refused.value.problems
    assert problem.startswith(message), problem


def test_every_problem_is_listed_at_once(home: Paths) -> None:
    override(home, "limits.yaml", "max_quantity: 100000", "max_quantity: 0")
    override(home, "seller.yaml", 'country: "NO"', "country: NO")
    with pytest.raises(SettingsError) as refused:
        load_settings(home, {"AVTALE_MAX_UPLOAD_MB": "-1"})
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        "AVTALE_MAX_UPLOAD_MB='-1' is not a size; give megabytes, more than 0, such as 20",
        str(home.home / "limits.yaml"),
        str(home.home / "seller.yaml"),
    ]


# --- every file can be the data folder's own --------------------------------------------------

OVERRIDES: list[tuple[str, str, str, Callable[[Settings], Any], Callable[[Paths], Any], Any]] = [
    (
        "renewals.yaml",
        "cpi_percent: 3.0",
        "cpi_percent: 2.5",
        lambda s: s.renewals.cpi_percent,
        lambda home: renewal_settings(home).cpi_percent,
        Decimal("2.5"),
    ),
    (
        "renewals.yaml",
        "horizon_days: 60",
        "horizon_days: 90",
        lambda s: s.renewals.horizon_days,
        lambda home: renewal_settings(home).horizon_days,
        90,
    ),
    (
        "limits.yaml",
        "max_quantity: 100000",
        "max_quantity: 50",
        lambda s: s.limits.max_quantity,
        lambda home: current_limits(home).max_quantity,
        Decimal(50),
    ),
    (
        "vat.yaml",
        '  "NO": 25\n',
        '  "NO": 24\n',
        lambda s: s.vat.standard_rate("NO", DAY),
        lambda home: vat_rules(home).standard_rate("NO", DAY),
        Decimal(24),
    ),
    (
        "seller.yaml",
        "name: Avtale Demo AS",
        "name: Nordlys AS",
        lambda s: s.seller.name,
        lambda home: seller(home)["name"],
        "Nordlys AS",
    ),
    (
        "reminders.yaml",
        "escalate_after_days: 3",
        "escalate_after_days: 5",
        lambda s: s.reminders.escalate_after_days,
        lambda home: load_config(config_path(home)).escalate_after_days,
        5,
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "in_settings", "where_used", "expected"),
    OVERRIDES,
    ids=[f"{case[0]}:{case[2]}" for case in OVERRIDES],
)
def test_the_data_folder_overrides_every_file(
    home: Paths,
    name: str,
    old: str,
    new: str,
    in_settings: Callable[[Settings], Any],
    where_used: Callable[[Paths], Any],
    expected: Any,
) -> None:
    assert in_settings(load_settings(home, NO_ENV)) != expected
    assert where_used(home) != expected
    path = override(home, name, old, new)
    settings = load_settings(home, NO_ENV)
    assert settings.files[name] == path
    assert in_settings(settings) == expected
    assert where_used(home) == expected


def test_the_environment_is_read_where_it_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVTALE_MAX_UPLOAD_MB", "1.5")
    assert max_upload_bytes() == 1572864
    monkeypatch.setenv("AVTALE_MAX_UPLOAD_MB", "many")
    with pytest.raises(SettingsError, match="AVTALE_MAX_UPLOAD_MB='many'"):
        max_upload_bytes()


# --- dbt vars -------------------------------------------------------------------------------


def test_the_dbt_defaults_are_the_shipped_settings(home: Paths) -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    passed = dbt_vars(load_settings(home, NO_ENV))
    assert passed == {name: project["vars"][name] for name in passed}
    assert {type(value) for value in passed.values()} == {str, float, int}


def test_dbt_vars_follow_the_settings(home: Paths) -> None:
    override(home, "renewals.yaml", "cpi_percent: 3.0", "cpi_percent: 2.5")
    override(home, "limits.yaml", "max_unit_price: 10000000", "max_unit_price: 2000.5")
    settings = load_settings(home, {"AVTALE_REPORTING_CURRENCY": "SEK"})
    assert dbt_vars(settings) == {
        "reporting_currency": "SEK",
        "forecast_cpi_percent": 2.5,
        "max_period_amount": 200050000,  # 2000.5 x 100 000 units
    }


# --- checked at start -----------------------------------------------------------------------


def run_cli(home: Paths, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    avtale = str(Path(sys.executable).parent / "avtale")
    return subprocess.run(
        [avtale, *args],
        env={**os.environ, "AVTALE_HOME": str(home.home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_command_stops_at_start_on_a_bad_setting(home: Paths) -> None:
    done = run_cli(home, "sql", "select 1", AVTALE_TIMEZONE="Mars/Olympus")
    assert done.returncode == 2
    assert done.stderr.startswith("error: AVTALE_TIMEZONE='Mars/Olympus' is not a time zone")
    path = override(home, "reminders.yaml", "  notice:", "  notise:")
    done = run_cli(home, "remind")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: {path}: lead_days.notise: unknown key")


def test_the_app_shows_a_bad_setting(home: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVTALE_HOME", str(home.home))
    path = override(home, "seller.yaml", 'country: "NO"', "country: NO")
    at = AppTest.from_file(str(STREAMLIT_APP), default_timeout=30).run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "The settings cannot be used" in error.value
    assert f"{path}: country: must be a quoted country code" in error.value
