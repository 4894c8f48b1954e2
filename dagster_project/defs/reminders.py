"""Reminders before contract deadlines (SPEC A2): queue, escalate, send; once a day, after
the morning's renewals are published (dagster_project/defs/daily.py).

Idempotent by design: a reminder exists once per natural key and is sent once, so a
second run on the same day (a retry, a manual launch) finds nothing new to do.
"""

from datetime import date
from typing import Any

import dagster as dg

from avtale.dates import today
from avtale.notify.mail import mail_settings, make_mailer
from avtale.services import notifications, signing
from avtale.settings import load_settings
from dagster_project.defs.resources import AvtaleHome, OperationalDatabase


class RemindConfig(dg.Config):
    today: str = ""  # YYYY-MM-DD, to run for another day; empty = today in the business's time zone


# The day flows from op to op, so one run is about one day even across midnight.
@dg.op
def queue_reminders(
    context: dg.OpExecutionContext,
    config: RemindConfig,
    avtale: AvtaleHome,
    database: OperationalDatabase,
) -> dg.Output[str]:
    """A pending reminder for every published deadline whose lead-time window is open."""
    day = date.fromisoformat(config.today) if config.today else today()
    paths = avtale.paths()
    count, report = notifications.queue_reminders(
        database.open(), paths, day, load_settings(paths).reminders
    )
    context.log.info(
        f"{day}: {count} deadlines ahead; queued {report.queued} reminders "
        f"({report.already} were queued before)"
    )
    return dg.Output(
        day.isoformat(),
        metadata={
            "deadlines_ahead": count,
            "queued": report.queued,
            "queued_before": report.already,
            "to_fallback_recipient": report.to_fallback,
            "by_type": dg.MetadataValue.json(report.by_type),
        },
    )


@dg.op
def escalate_reminders(
    context: dg.OpExecutionContext, day: str, avtale: AvtaleHome, database: OperationalDatabase
) -> dg.Output[str]:
    """One escalation to the manager of each reminder left unacknowledged too long."""
    config = load_settings(avtale.paths()).reminders
    report = notifications.escalate_reminders(database.open(), date.fromisoformat(day), config)
    context.log.info(f"escalated {report.escalated} unacknowledged reminders")
    return dg.Output(
        day,
        metadata={
            "escalated": report.escalated,
            "nobody_to_escalate_to": report.nobody_to_escalate_to,
        },
    )


@dg.op
def send_reminders(
    context: dg.OpExecutionContext, day: str, avtale: AvtaleHome, database: OperationalDatabase
) -> dg.Output[int]:
    """Every pending reminder by mail and in the app, each in its own transaction."""
    mailer = make_mailer(mail_settings(avtale.paths()))
    try:
        report = notifications.send_reminders(
            database.open(), mailer, date.fromisoformat(day), log=context.log.info
        )
    finally:
        mailer.close()
    metadata: dict[str, Any] = {
        "sent": report.sent,
        "emailed": len(report.emailed),
        "in_app_only": len(report.in_app_only),
        "failed": len(report.failed),
        "mail": mailer.settings.describe(),
    }
    context.log.info(
        f"sent {report.sent}: {len(report.emailed)} by e-mail ({metadata['mail']}), "
        f"{len(report.in_app_only)} in the app only"
    )
    if report.failed:
        metadata["failures"] = dg.MetadataValue.json(report.failed)
        context.log.warning(f"{len(report.failed)} not sent; they stay pending: {report.failed}")
    if report.stopped:
        raise dg.Failure(
            f"the mail server is unreachable ({report.stopped}); "
            f"{report.sent} were sent, the rest stay pending for the next run",
            metadata=metadata,
        )
    return dg.Output(report.sent, metadata=metadata)


@dg.op
def remind_signatories(
    context: dg.OpExecutionContext, day: str, avtale: AvtaleHome, database: OperationalDatabase
) -> dg.Output[int]:
    """A new signing link, once, to each party who has not signed when theirs runs out soon."""
    report = signing.remind_signatories(database.open(), load_settings(avtale.paths()))
    context.log.info("; ".join(report.lines()))
    if report.problems:
        context.log.warning(f"not delivered: {report.problems}")
    return dg.Output(
        len(report.reminded),
        metadata={"reminded": len(report.reminded), "not_delivered": len(report.problems)},
    )


# In one process, like refresh: four small steps need no process each.
@dg.job(name="reminders", executor_def=dg.in_process_executor)
def reminders_job() -> None:
    day = queue_reminders()
    send_reminders(escalate_reminders(day))
    remind_signatories(day)
