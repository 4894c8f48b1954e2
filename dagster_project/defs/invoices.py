"""The daily invoice run (SPEC B1, B2, D5): issue what the contracts' schedules call for,
then send what is not sent yet; once a day, after the day's renewals succeeded
(dagster_project/defs/daily.py), so a renewed term is billed at its new prices.

Idempotent by design: the register issues only the difference between the schedules and
what it billed, and sends only what it has not marked sent, so a second run (a retry, a
manual launch) issues and sends nothing new.
"""

from datetime import date

import dagster as dg

from avtale.dates import today
from avtale.notify.mail import mail_settings, make_mailer
from avtale.services.invoice_delivery import deliver_unsent
from avtale.services.invoices import run_invoices
from dagster_project.defs.resources import AvtaleHome, OperationalDatabase


class InvoiceConfig(dg.Config):
    today: str = ""  # YYYY-MM-DD, to run for another day; empty = today in the business's time zone


@dg.op
def issue_invoices(
    context: dg.OpExecutionContext,
    config: InvoiceConfig,
    avtale: AvtaleHome,
    database: OperationalDatabase,
) -> dg.Output[str]:
    """Every invoice and credit note due through the day, dated that day."""
    day = date.fromisoformat(config.today) if config.today else today()
    report = run_invoices(database.open(), avtale.paths(), day, today=day, log=context.log.info)
    for line in report.lines():
        context.log.info(line)
    metadata: dict[str, dg.MetadataValue] = {
        "contracts": dg.MetadataValue.int(report.contracts),
        "invoices": dg.MetadataValue.int(len(report.invoices)),
        "credit_notes": dg.MetadataValue.int(len(report.credit_notes)),
        "not_invoiced": dg.MetadataValue.int(len(report.failed)),
    }
    if report.failed:
        metadata["failures"] = dg.MetadataValue.json(report.failed)
        context.log.warning(f"not invoiced: {report.failed}")
    return dg.Output(day.isoformat(), metadata=metadata)


@dg.op
def send_invoices(
    context: dg.OpExecutionContext, day: str, avtale: AvtaleHome, database: OperationalDatabase
) -> dg.Output[int]:
    """What is not sent yet: e-invoices into the outgoing folder, PDFs by mail."""
    paths = avtale.paths()
    mailer = make_mailer(mail_settings(paths))
    try:
        report = deliver_unsent(database.open(), paths, mailer, log=context.log.info)
    finally:
        mailer.close()
    for line in report.lines():
        context.log.info(line)
    metadata: dict[str, dg.MetadataValue] = {
        "einvoices": dg.MetadataValue.int(len(report.einvoices)),
        "emailed": dg.MetadataValue.int(len(report.emailed)),
        "not_sent": dg.MetadataValue.json(report.not_sent),
        "mail_refused": dg.MetadataValue.json(report.mail_failed),
        "mail": dg.MetadataValue.text(mailer.settings.describe()),
    }
    if report.stopped:
        raise dg.Failure(
            f"the mail server is unreachable ({report.stopped}); what was not sent waits for "
            "the next run",
            metadata=metadata,
        )
    return dg.Output(len(report.einvoices) + len(report.emailed), metadata=metadata)


@dg.job(name="invoices", executor_def=dg.in_process_executor)
def invoices_job() -> None:
    send_invoices(issue_invoices())
