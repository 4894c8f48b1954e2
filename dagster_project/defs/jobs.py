"""The refresh job, its morning schedule, and the inbox sensor."""

from datetime import time

import dagster as dg

from avtale import inbox
from avtale.dates import business_zone
from avtale.worker import is_running
from dagster_project.defs.resources import AvtaleHome

# The business day's work starts with this refresh (renewals and reminders follow it).
MORNING_REFRESH = time(5, 0)

# A refresh run with this tag builds and publishes even with nothing new: the business
# day's chain waits for publishes (the 05:00 refresh, the refresh after the renewals).
ALWAYS_PUBLISH = {"avtale/publish": "always"}

# In one process: a process per step would pay the imports three times over.
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor
)

# Both run as soon as the daemon does (`make dev`): nobody has to switch them on.
daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule=f"{MORNING_REFRESH.minute} {MORNING_REFRESH.hour} * * *",
    execution_timezone=business_zone().key,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=ALWAYS_PUBLISH,  # the day's renewals wait for a publish at or after 05:00
)


@dg.sensor(
    job=refresh_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING
)
def inbox_sensor(
    context: dg.SensorEvaluationContext, avtale: AvtaleHome
) -> dg.RunRequest | dg.SkipReason:
    """Start a refresh when files land in `$AVTALE_HOME/inbox/` and have settled."""
    if is_running(avtale.location()):
        return dg.SkipReason("the warm worker (`avtale worker`) refreshes for the inbox")
    found = inbox.scan(avtale.location().inbox)
    if not found.ready and not found.refused:
        waiting = ", ".join(r.name for r in found.waiting)
        return dg.SkipReason(f"waiting for {waiting} to settle" if waiting else "inbox is empty")
    # One run per distinct set of ready files; the run moves them away.
    return dg.RunRequest(run_key=found.key())
