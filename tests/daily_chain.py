"""Driving the daily chain (dagster_project/defs/daily.py) on a real Dagster instance: real
publishes, real runs, the sensors evaluated as the daemon evaluates them.

The chain decides by the business time of a publish, and a publish happens now; so a test
picks the business time zone (`$AVTALE_TIMEZONE`) in which now is the hour it needs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_project.defs.publish import serving_copy
from dagster_project.defs.resources import AvtaleHome


def zone_where_it_is(hour: int) -> str:
    """A fixed-offset zone in which the time now is `hour` o'clock (Etc/GMT signs are
    POSIX's: Etc/GMT-3 is three hours ahead of UTC)."""
    offset = (hour - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 11 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def publish(instance: dg.DagsterInstance, home: Path) -> dg.ExecuteInProcessResult:
    """One run of the real publish asset: the warehouse's marts into the serving copy."""
    result = dg.materialize(
        [serving_copy], instance=instance, resources={"avtale": AvtaleHome(home=str(home))}
    )
    assert result.success
    return result


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance) -> dg.RunRequest | str:
    """The sensor's one run request, or why it skipped."""
    tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    if not tick.run_requests:
        return str(tick.skip_message)
    (request,) = tick.run_requests
    return request
