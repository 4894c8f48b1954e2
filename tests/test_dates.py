""" "Today" is the business's day (``AVTALE_TIMEZONE``), in Python and in dbt alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avtale import dates
from avtale.settings import DBT_PROJECT_DIR

# UTC+14 and UTC-11: 25 hours apart, so their dates always differ, and at least one
# of them differs from the server's UTC date.
EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"


def test_today_is_the_date_in_the_business_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVTALE_TIMEZONE", EAST)
    east = dates.today()
    monkeypatch.setenv("AVTALE_TIMEZONE", WEST)
    west = dates.today()
    assert east > west
    assert east == (datetime.now(UTC) + timedelta(hours=14)).date()
    monkeypatch.delenv("AVTALE_TIMEZONE")
    assert dates.business_zone().key == "Europe/Oslo"


def test_an_unknown_time_zone_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVTALE_TIMEZONE", "Europe/Atlantis")
    with pytest.raises(ValueError, match="AVTALE_TIMEZONE='Europe/Atlantis' is not a time zone"):
        dates.today()


def _dbt_today(zone: str, home: Path) -> str:
    dbt = str(Path(sys.executable).parent / "dbt")
    done = subprocess.run(
        [dbt, "--quiet", "show", "--output", "json", "--inline", "select {{ as_of_date() }} as d"],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, "AVTALE_HOME": str(home), "AVTALE_TIMEZONE": zone},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return str(json.loads(done.stdout)["show"][0]["d"])


@pytest.mark.slow
def test_the_marts_today_follows_the_business_time_zone(tmp_path: Path) -> None:
    east, west = _dbt_today(EAST, tmp_path), _dbt_today(WEST, tmp_path)
    assert east > west
    assert east == (datetime.now(UTC) + timedelta(hours=14)).date().isoformat()
