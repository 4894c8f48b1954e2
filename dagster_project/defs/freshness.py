"""Freshness of the sources: a warning when exports stop arriving.

The rule is the dbt sources' own (their yml's `freshness: warn_after` and the query
that says when data last arrived, from the manifest); Dagster's last-update checks
apply it to the ingestion assets, which report that time, and a sensor evaluates them
as time passes, not only when a refresh runs.
"""

from datetime import timedelta
from itertools import groupby

import dagster as dg

from dagster_project.project import source_freshness


def _checks() -> list[dg.AssetChecksDefinition]:
    by_delta = groupby(
        sorted(source_freshness(), key=lambda rule: rule.warn_after), key=lambda r: r.warn_after
    )
    return [
        check
        for delta, rules in by_delta
        for check in dg.build_last_update_freshness_checks(
            assets=[rule.key for rule in rules],
            lower_bound_delta=delta,
            severity=dg.AssetCheckSeverity.WARN,
        )
    ]


freshness_checks = _checks()
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    minimum_interval_seconds=int(timedelta(minutes=10).total_seconds()),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
