"""Renewals (SPEC A3): auto-renewing contracts renew at their end; once a day, after the
morning's first publish (dagster_project/defs/daily.py).

Idempotent by design: what became of a term's end is one row per contract and term end,
so a second run on the same day (a retry, a manual launch) renews nothing.
"""

from datetime import date

import dagster as dg

from avtale.dates import today
from avtale.services.renewals import run_auto_renewals
from dagster_project.defs.resources import OperationalDatabase


class RenewConfig(dg.Config):
    today: str = ""  # YYYY-MM-DD, to run for another day; empty = today in the business's time zone


@dg.op
def renew_contracts(
    context: dg.OpExecutionContext, config: RenewConfig, database: OperationalDatabase
) -> dg.Output[int]:
    """A new version for every auto-renewing contract whose term has ended."""
    day = date.fromisoformat(config.today) if config.today else today()
    report = run_auto_renewals(database.open(), day, log=context.log.info)
    counts = report.counts()
    context.log.info(
        f"{day}: renewed {counts['renewed']} terms "
        f"({counts['not_yet_ended']} auto-renewals end later, {counts['failed']} failed)"
    )
    metadata: dict[str, dg.MetadataValue] = {
        **{name: dg.MetadataValue.int(count) for name, count in counts.items()},
        "contracts": dg.MetadataValue.json(report.renewed),
    }
    if report.failed:
        metadata["failures"] = dg.MetadataValue.json(report.failed)
        context.log.warning(f"not renewed: {report.failed}")
    return dg.Output(len(report.renewed), metadata=metadata)


@dg.job(name="renewals", executor_def=dg.in_process_executor)
def renewals_job() -> None:
    renew_contracts()
