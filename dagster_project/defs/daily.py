"""The business day after the morning refresh: renew, publish the renewals, remind; and
invoice once the renewals are in.

    05:00 refresh -> publish -> renewals -> refresh -> publish -> reminders
                                renewals -> invoices (issue, then send)

Each step starts when the step before it has succeeded, not at a clock time that usually
follows it, and each runs once per business day (its run key carries the day; Dagster
starts one run per key). Renewals wait for the day's first publish at or after the
morning refresh; reminders wait for a publish that began after that day's renewals
ended, so a renewed contract is not reminded of the term it just left. A day whose
refreshes all fail renews and reminds nothing: the next day's runs catch up (renewals
renew every term that has ended; a reminder is queued while its window is open).
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from avtale.dates import business_zone
from dagster_project.defs.invoices import invoices_job
from dagster_project.defs.jobs import ALWAYS_PUBLISH, MORNING_REFRESH, refresh_job
from dagster_project.defs.reminders import reminders_job
from dagster_project.defs.renewals import renewals_job

DAY_TAG = "avtale/day"
PUBLISHED = dg.AssetKey("serving_copy")
RUNNING = dg.DefaultSensorStatus.RUNNING


def business_day(timestamp: float) -> date | None:
    """The business day a publish at `timestamp` counts for; None before its morning."""
    moment = datetime.fromtimestamp(timestamp, business_zone())
    return moment.date() if moment.time() >= MORNING_REFRESH else None


@dg.asset_sensor(asset_key=PUBLISHED, job=renewals_job, default_status=RUNNING)
def renew_after_morning_publish(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> dg.RunRequest | dg.SkipReason:
    """The day's renewals, once the day's first publish is in."""
    day = business_day(asset_event.timestamp)
    if day is None:
        return dg.SkipReason("published before the morning refresh: renewals wait for it")
    return dg.RunRequest(
        run_key=f"renewals-{day}",
        run_config={"ops": {"renew_contracts": {"config": {"today": day.isoformat()}}}},
        tags={DAY_TAG: day.isoformat()},
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[renewals_job],
    request_job=refresh_job,
    default_status=RUNNING,
)
def refresh_after_renewals(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """Publish what the day's renewals changed, also when they renewed nothing: the
    reminders wait for this publish."""
    day = context.dagster_run.tags.get(DAY_TAG)
    if day is None:
        return dg.SkipReason("a renewals run started by hand: its writes start their own refresh")
    return dg.RunRequest(
        run_key=f"refresh-after-renewals-{day}", tags={DAY_TAG: day, **ALWAYS_PUBLISH}
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[renewals_job],
    request_job=invoices_job,
    default_status=RUNNING,
)
def invoice_after_renewals(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    """The day's invoice run, once the day's renewals made the new terms' versions."""
    day = context.dagster_run.tags.get(DAY_TAG)
    if day is None:
        return dg.SkipReason("a renewals run started by hand: run `avtale invoice run` if needed")
    return dg.RunRequest(
        run_key=f"invoices-{day}",
        run_config={"ops": {"issue_invoices": {"config": {"today": day}}}},
        tags={DAY_TAG: day},
    )


@dg.asset_sensor(asset_key=PUBLISHED, job=reminders_job, default_status=RUNNING)
def remind_after_renewals_published(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> dg.RunRequest | dg.SkipReason:
    """The day's reminders, from a publish that came after the day's renewals."""
    day = business_day(asset_event.timestamp)
    if day is None:
        return dg.SkipReason("published before the morning refresh")
    renewed = context.instance.get_run_records(
        dg.RunsFilter(
            job_name=renewals_job.name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            tags={DAY_TAG: day.isoformat()},
        ),
        limit=1,
    )
    publish = context.instance.get_run_record_by_id(asset_event.run_id)
    renewals_end = renewed[0].end_time if renewed else None
    publish_start = publish.start_time if publish else None
    if renewals_end is None or publish_start is None or publish_start < renewals_end:
        return dg.SkipReason(f"waiting for a publish after the renewals of {day}")
    return dg.RunRequest(
        run_key=f"reminders-{day}",
        run_config={"ops": {"queue_reminders": {"config": {"today": day.isoformat()}}}},
        tags={DAY_TAG: day.isoformat()},
    )
