"""The refresh job, its daily schedule, and the inbox sensor."""

import dagster as dg

from avtale.settings import paths

refresh_job = dg.define_asset_job("refresh", selection=dg.AssetSelection.all())

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Oslo",
)


@dg.sensor(job=refresh_job, minimum_interval_seconds=15)
def inbox_sensor(context: dg.SensorEvaluationContext):
    """Start a refresh when files land in `$AVTALE_HOME/inbox/`."""
    waiting = sorted(p for p in paths().inbox.rglob("*") if p.is_file())
    if not waiting:
        return dg.SkipReason("inbox is empty")
    # One run per distinct set of waiting files; the run moves them away.
    key = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in waiting)
    return dg.RunRequest(run_key=key)
