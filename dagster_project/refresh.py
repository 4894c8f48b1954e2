"""A refresh of a data folder in this process: the `refresh` job, told in a few lines.

`avtale refresh` runs it in its own process, or hands it to the folder's warm worker
(dagster_project/worker.py), which runs this same function with an instance kept open.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from functools import partial

import dagster as dg

from avtale.pipeline import refresh_turn
from avtale.settings import Paths
from dagster_project.instance import prepare


def dagster_instance(p: Paths) -> dg.DagsterInstance:
    """The data folder's Dagster instance (its runs show in `make dev`), set up with the
    project's dagster.yaml (run queue, warehouse pool, event log) when the folder has none."""
    prepare(p.ensure().dagster_home)
    # Opened from its folder rather than through $DAGSTER_HOME, so a refresh leaves the
    # environment of its process alone ("local_temp" with a folder is a persistent one).
    return dg.DagsterInstance.local_temp(tempdir=str(p.dagster_home))


def refresh_here(
    p: Paths,
    say: Callable[[str], None],
    instance: dg.DagsterInstance | None = None,
    steps: bool = False,
) -> bool:
    """Materialise every asset (inbox, app copy, dbt build, publish); what happened goes
    to `say`: the outcome, what failed and why, warnings of checks that did not pass. With
    ``steps``, also each step as it starts (the run then goes on in a thread of its own,
    its event log read as it grows: for the warm worker and the app, whose askers watch;
    the command line keeps the run in its main thread, so Ctrl-C stops it)."""
    from dagster_project.project import ManifestNotPreparedError

    try:
        from dagster_project.definitions import defs
    except ManifestNotPreparedError as exc:  # a fresh clone: say the command that prepares it
        say(f"error: {exc}")
        return False
    from dagster_project.defs.dbt import NOTHING_NEW
    from dagster_project.defs.publish import serving_copy
    from dagster_project.defs.resources import AvtaleHome, OperationalDatabase

    if instance is None:
        instance = dagster_instance(p)
    avtale = AvtaleHome(home=str(p.home))
    resources = {"avtale": avtale, "database": OperationalDatabase(avtale=avtale)}
    job = defs.resolve_job_def("refresh")
    started = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    run_id = str(uuid.uuid4())  # as Dagster makes one; known here, to follow the run
    run = partial(
        job.execute_in_process,
        run_config=quiet,
        instance=instance,
        resources=resources,
        raise_on_error=False,
        run_id=run_id,
    )
    with refresh_turn(p):  # the app sees a refresh running and does not start another
        result = _told_in_steps(run, instance, run_id, say) if steps else run()
    elapsed = time.perf_counter() - started
    published = any(
        e.asset_key == serving_copy.key for e in result.get_asset_materialization_events()
    )
    if result.success and published:
        say(f"refresh done in {elapsed:.1f} s; published {p.serving}")
    elif result.success:
        say(f"refresh done in {elapsed:.1f} s: {NOTHING_NEW}; the published copy stands")
    else:
        failed = [e.step_key or "?" for e in result.all_events if e.is_step_failure]
        say(
            f"refresh FAILED in {elapsed:.1f} s at {', '.join(failed) or 'a step'}; "
            "the last published copy stays in place. Details: `make dev` -> Runs."
        )
        for event in result.all_events:
            data = event.step_failure_data if event.is_step_failure else None
            # A dg.Failure (the dbt step's) says what failed; other errors their message.
            if data and data.user_failure_data and data.user_failure_data.description:
                say(data.user_failure_data.description)
            elif data and data.error:
                say(data.error.message)
    # Warning checks do not stop a refresh (data_quality_findings), but must not go unseen.
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.asset_check_evaluation_data
            if not check.passed and check.severity.value == "WARN":
                count = check.metadata.get("failed_row_count")
                rows = f" ({count.value} rows)" if count is not None else ""
                say(
                    f"warning: check {check.check_name} on {check.asset_key.to_user_string()} "
                    f"did not pass{rows}"
                )
    return result.success


# What a step of the refresh job does (by the start of its key), as its start is told;
# other steps by their key.
STEPS = {
    "inbox_files": "loading the inbox",
    "app_database": "copying the app's data",
    "avtale_dbt_models": "building the marts (dbt)",
    "freshness_check": "checking the sources' freshness",
    "serving_copy": "publishing",
}
POLL_S = 0.5  # how often the event log of a told run is read


def _told_in_steps(
    run: Callable[[], dg.ExecuteInProcessResult],
    instance: dg.DagsterInstance,
    run_id: str,
    say: Callable[[str], None],
) -> dg.ExecuteInProcessResult:
    """``run`` in a thread, each step's start said as the run's event log shows it. The
    run always ends before this returns, even when ``say`` raises (an app page rerun)."""
    done: list[dg.ExecuteInProcessResult] = []
    failed: list[BaseException] = []

    def execute() -> None:
        try:
            done.append(run())
        except BaseException as exc:  # handed to the caller's thread below
            failed.append(exc)

    runner = threading.Thread(target=execute, name="refresh-run", daemon=True)
    runner.start()
    try:
        cursor = None
        while True:
            runner.join(POLL_S)
            found = instance.get_records_for_run(
                run_id, cursor=cursor, of_type=dg.DagsterEventType.STEP_START
            )
            cursor = found.cursor
            for record in found.records:
                step = record.event_log_entry.step_key or "?"
                say(next((v for k, v in STEPS.items() if step.startswith(k)), step) + "…")
            if not runner.is_alive():
                break
    finally:
        runner.join()
    if failed:
        raise failed[0]
    return done[0]
