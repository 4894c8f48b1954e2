"""The refresh job, its daily schedule, and the inbox sensor."""

import dagster as dg

from avtale.settings import paths

# In one process: a process per step would pay the imports three times over.
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
)

# Both run as soon as the daemon does (`make dev`): nobody has to switch them on.
daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Oslo",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    """Start a refresh when files land in `$AVTALE_HOME/inbox/`."""
    waiting = sorted(p for p in paths().inbox.rglob("*") if p.is_file())
    if not waiting:
        return dg.SkipReason("inbox is empty")
    # One run per distinct set of waiting files; the run moves them away.
    key = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in waiting)
    return dg.RunRequest(run_key=key)
