"""Renewals (SPEC A3): auto-renewing contracts renew at their end; daily at 06:00.

Idempotent by design: what became of a term's end is one row per contract and term end,
so a second run on the same day (a retry, a manual launch) renews nothing.
"""

from datetime import date

import dagster as dg

from avtale.dates import business_zone, today
from avtale.repository.db import database_url, make_engine, migrate
from avtale.repository.renewals import run_auto_renewals
from dagster_project.defs.resources import AvtaleHome


class RenewConfig(dg.Config):
    today: str = ""  # YYYY-MM-DD, to run for another day; empty = today in Oslo


@dg.op
def renew_contracts(
    context: dg.OpExecutionContext, config: RenewConfig, avtale: AvtaleHome
) -> dg.Output[int]:
    """A new version for every auto-renewing contract whose term has ended."""
    day = date.fromisoformat(config.today) if config.today else today()
    url = database_url(avtale.paths())
    migrate(url)
    engine = make_engine(url)
    try:
        report = run_auto_renewals(engine, day, log=context.log.info)
    finally:
        engine.dispose()
    counts = report.counts()
    context.log.info(
        f"{day}: renewed {counts['renewed']} terms "
        f"({counts['not_yet_ended']} auto-renewals end later, {counts['failed']} failed)"
    )
    metadata: dict[str, object] = {
        **counts,
        "contracts": dg.MetadataValue.json(report.renewed),
    }
    if report.failed:
        metadata["failures"] = dg.MetadataValue.json(report.failed)
        context.log.warning(f"not renewed: {report.failed}")
    return dg.Output(len(report.renewed), metadata=metadata)


@dg.job(name="renewals", executor_def=dg.in_process_executor)
def renewals_job() -> None:
    renew_contracts()


# Before the 07:00 reminders, so a renewed contract gets no "ends soon" reminder.
daily_renewals = dg.ScheduleDefinition(
    name="daily_renewals",
    job=renewals_job,
    cron_schedule="0 6 * * *",
    execution_timezone=business_zone().key,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
