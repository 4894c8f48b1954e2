"""Ingest + refresh against a plain DuckDB floor, per portfolio size (`make bench`).

For each size: demo exports are written, then `avtale ingest` and `avtale
refresh` run as the user runs them (fresh processes, wall time and peak RSS
from wait4), then one plain DuckDB query computes the same month-end MRR from
the same HubSpot files (the floor), then an incremental refresh after one small
new file in the inbox, then the folder's warm worker (three tiny files dropped, a contract
saved: each timed to its rows in the serving file, and split into the run's parts from its
Dagster events and dbt's results, so the fixed cost of a refresh shows beside its data
work), then every dashboard query of the app.

With the spark extra installed (docs/spark.md), the same exports are then ingested into
a second folder and refreshed with AVTALE_ENGINE=spark. With --memory-limit, both engines
build the first folder's data again under that much memory: DuckDB's `memory_limit` (it
spills to disk) and Spark's driver memory.

    python benchmarks/bench.py [--sizes 1000 10000 100000] [--engines duckdb spark]
                               [--memory-limit 1GB] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import streamlit.logger

from avtale.serving import connect_serving
from avtale.settings import ENGINES, Paths

# The app's cached query functions warn about a missing Streamlit runtime here.
streamlit.logger.set_log_level("error")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "apps" / "streamlit"))

AS_OF = date(2026, 6, 15)

FLOOR_SQL = """
with companies as (
    select "Record ID"::varchar as id from read_csv('{d}/companies.csv', all_varchar = true)
),
deals as (
    select "Record ID"::varchar as id, "Associated Company IDs" as company,
        try_cast("Close Date" as date) as close_date
    from read_csv('{d}/deals.csv', all_varchar = true)
    where "Deal Stage" = 'Closed won'
),
items as (
    select try_cast("Quantity" as double) * try_cast("Unit price" as double)
            * (1 - coalesce(try_cast("Discount Percentage" as double), 0) / 100) as amount,
        lower("Billing frequency") as freq, "Term" as term,
        coalesce(try_cast("Billing start date" as date), deals.close_date) as start_date,
        deals.company
    from read_csv('{d}/line_items.csv', all_varchar = true) li
    join deals on li."Associated Deal IDs" = deals.id
    where deals.company in (select id from companies)
),
lines as (
    select company, start_date,
        case when term <> '' then start_date + to_months(try_cast(regexp_extract(term, '(\\d+)M', 1) as int)) - interval 1 day end as end_date,
        amount / case freq when 'monthly' then 1 when 'quarterly' then 3 when 'every six months' then 6
            when 'per_six_months' then 6 when 'annually' then 12 when 'per_two_years' then 24
            when 'every two years' then 24 when 'weekly' then 12 / 52 else null end as mrr
    from items
),
months as (
    select unnest(generate_series(date '2022-01-01', date '2026-06-01', interval 1 month))::date as m
)
select company, m, sum(mrr) from lines join months
    on start_date <= last_day(m) and (end_date is null or end_date >= last_day(m))
where mrr is not null
group by all
"""


def run(command: list[str], env: dict[str, str], may_fail: bool = False) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process (Spark's JVM, a child of it,
    counts once it has exited). A failure stops the benchmark, or with `may_fail` is
    printed and its time returned as negative."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = child.stderr.read().decode() if child.stderr else ""  # drained: Spark writes a lot
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        if not may_fail:
            raise SystemExit(f"{' '.join(command)} failed:\n{err[-3000:]}")
        print(f"  ({' '.join(command[1:])} failed after {elapsed:.1f} s: {err.strip()[-300:]})")
        return -elapsed, usage.ru_maxrss / 1024
    return elapsed, usage.ru_maxrss / 1024


def floor(exports: Path) -> float:
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute(FLOOR_SQL.format(d=exports / "hubspot")).fetchall()
    return time.perf_counter() - started


def dashboard_queries(serving: Path) -> dict[str, float]:
    from common import marts_reads  # the app's reads of the published marts
    from dashboards import analytics_reads, metrics_reads

    version = int(time.time_ns())  # a fresh cache key: every call goes to DuckDB
    s = str(serving)
    months = metrics_reads.monthly_series(s, version, (), (), ())
    latest = months[~months["is_future"]]["month"].max().date()
    year_ago = date(latest.year - 1, latest.month, 1)
    options = marts_reads.filter_options(s, version)
    owner = (str(options["owner"].dropna().iloc[0]),)
    at_risk = analytics_reads.at_risk_contracts(s, version, (), (), ())
    contract = str(at_risk["contract_id"].iloc[0]) if len(at_risk) else ""
    calls = {
        "filter_options": lambda v: marts_reads.filter_options(s, v),
        "monthly_series": lambda v: metrics_reads.monthly_series(s, v, (), (), ()),
        "monthly_series (owner filter)": lambda v: metrics_reads.monthly_series(
            s, v, owner, (), ()
        ),
        "movement_customers": lambda v: metrics_reads.movement_customers(
            s, v, latest, None, (), (), ()
        ),
        # KPIs, churn, cohorts, sales team, forecast, portfolio health
        "metrics": lambda v: metrics_reads.metrics(s, v, (), (), ()),
        "metrics (owner filter)": lambda v: metrics_reads.metrics(s, v, owner, (), ()),
        "churn_reasons": lambda v: analytics_reads.churn_reasons(
            s, v, year_ago, latest, (), (), ()
        ),
        "churned_customers": lambda v: analytics_reads.churned_customers(
            s, v, year_ago, latest, None, (), (), ()
        ),
        "cohorts (month)": lambda v: analytics_reads.cohorts(s, v, "month", None, None, (), ()),
        "cohorts (quarter, one owner)": lambda v: analytics_reads.cohorts(
            s, v, "quarter", "owner", owner[0], (), ()
        ),
        "movements_by owner": lambda v: analytics_reads.movements_by(
            s, v, "owner", year_ago, latest, (), (), ()
        ),
        "movements_by product": lambda v: analytics_reads.movements_by(
            s, v, "product", year_ago, latest, (), (), ()
        ),
        "movements_by country (owner filter)": lambda v: analytics_reads.movements_by(
            s, v, "country", year_ago, latest, owner, (), ()
        ),
        "forecast": lambda v: analytics_reads.forecast(s, v),
        "health_summary": lambda v: analytics_reads.health_summary(s, v, (), (), ()),
        "at_risk_contracts": lambda v: analytics_reads.at_risk_contracts(s, v, (), (), ()),
        "action_weeks": lambda v: analytics_reads.action_weeks(s, v, (), (), ()),
        "contract_signals": lambda v: analytics_reads.contract_signals(s, v, contract),
    }
    timings = {}
    for name, call in calls.items():
        samples = []
        for i in range(5):
            started = time.perf_counter()
            call(version + 1000 + i * 17 + len(name))
            samples.append(time.perf_counter() - started)
        timings[name] = sorted(samples)[len(samples) // 2]
    return timings


TINY_FILES = {
    "customers.csv": "customer_id,name\nBENCH-1,Benk AS\n",
    "contracts.csv": "contract_id,customer_id,start_date,term_months\nBENCH-K1,BENCH-1,2026-01-01,12\n",
    "lines.csv": "line_id,contract_id,product,quantity,unit_price,billing_period\n"
    "BENCH-L1,BENCH-K1,Assist,2,100,monthly\n",
}


def warm_worker(
    home: Path, env: dict[str, str]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The same folder with its warm worker running: from three tiny generic files dropped
    into the inbox to their customer in customer_months (with the right MRR), a refresh
    with nothing new, and from a contract saved in the app to its row in customer_months;
    with the parts of the three files' run and the save's run (`run_phases`)."""
    from avtale.repository import service
    from avtale.repository.db import database_url, make_engine, session_scope
    from avtale.worker import is_running, request_refresh

    paths = Paths(home)
    avtale = str(Path(sys.executable).parent / "avtale")
    started = time.perf_counter()
    worker = subprocess.Popen(
        [avtale, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    timings = {}
    try:
        while not is_running(paths):
            time.sleep(0.05)
        timings["start"] = time.perf_counter() - started
        # Dropped as settled files: the worker finds them in the inbox by itself.
        dropped_at, dropped_epoch = time.perf_counter(), time.time()
        for name, text in TINY_FILES.items():
            dropped = home / "inbox" / name
            dropped.write_text(text, encoding="utf-8")
            os.utime(dropped, (time.time() - 60,) * 2)
        while (mrr := month_mrr(home, "BENCH-1")) is None:
            if time.perf_counter() - dropped_at > 600:
                raise SystemExit("the tiny files' customer never reached customer_months")
            time.sleep(0.1)
        timings["three_files"] = time.perf_counter() - dropped_at
        windows = {"three_files": (dropped_epoch, time.time(), built(paths))}
        if mrr != 200:
            raise SystemExit(f"the tiny files' customer has MRR {mrr} in 2026-03, not 200")
        timings["nothing_new"], _ = run([avtale, "refresh"], env)

        engine = make_engine(database_url(paths))
        with session_scope(engine) as session:
            customer = service.create_customer(
                session, "bench", {"name": "Lagret AS", "country": "NO"}
            )
            terms = {"start_date": date(2026, 1, 1), "term_months": 12, "currency": "NOK"}
            line = {
                "product": "Assist",
                "quantity": 3,
                "unit_price": 100,
                "billing_period": "monthly",
            }
            service.create_contract(session, "bench", customer, terms, [line])
        engine.dispose()
        saved, saved_epoch = time.perf_counter(), time.time()
        request_refresh(paths)
        while month_mrr(home, None) != 300:
            time.sleep(0.1)
        timings["app_save"] = time.perf_counter() - saved
        windows["app_save"] = (saved_epoch, time.time(), built(paths))
    finally:
        worker.terminate()
        worker.wait(60)
    return timings, {name: run_phases(paths, *window) for name, window in windows.items()}


def built(paths: Paths) -> dict[str, Any]:
    """dbt's results of the last build in the data folder (its run_results.json)."""
    return dict(json.loads((paths.dbt_target / "run_results.json").read_text(encoding="utf-8")))


def run_phases(
    paths: Paths, started: float, seen: float, results: dict[str, Any]
) -> dict[str, float]:
    """Where the time from a trigger (`started`, epoch seconds) to its rows seen in the
    serving file (`seen`) went, from the Dagster events of the worker's latest run in that
    window and the `results` of its dbt build: the fixed cost of a refresh against its
    data work."""
    from dagster_project.refresh import dagster_instance

    instance = dagster_instance(paths)
    runs = [r for r in instance.get_run_records(limit=5) if started <= (r.start_time or 0) <= seen]
    if not runs:
        return {}
    at: dict[tuple[str, str], float] = {}
    for record in instance.all_logs(runs[0].dagster_run.run_id):
        event = record.dagster_event
        if event is not None:
            at.setdefault((record.step_key or "", event.event_type_value), record.timestamp)
    run_start, run_end = at[("", "PIPELINE_START")], at[("", "PIPELINE_SUCCESS")]
    dbt_start = at[("avtale_dbt_models", "STEP_START")]
    dbt_end = at[("avtale_dbt_models", "STEP_SUCCESS")]
    return {
        "runs": len(runs),
        "until the run starts": run_start - started,
        "app copy and inbox": dbt_start - run_start,
        "dbt build": results["elapsed_time"],
        "nodes": len(results["results"]),
        "dbt step, besides the build": dbt_end - dbt_start - results["elapsed_time"],
        "checks and publishing": run_end - dbt_end,
        "until seen": max(0.0, seen - run_end),  # the run ends within the last poll
    }


def month_mrr(home: Path, source_id: str | None) -> float | None:
    """MRR in 2026-03 of the CRM customer `source_id`, or of the app's customers (None)."""
    where = "c.source_system = 'app'" if source_id is None else "c.source_id = ?"
    con = duckdb.connect(str(home / "serving.duckdb"), read_only=True)
    try:
        row = con.execute(
            f"SELECT sum(m.mrr) FROM customer_months m JOIN customers c USING (customer_id) "
            f"WHERE {where} AND m.month = DATE '2026-03-01'",
            [] if source_id is None else [source_id],
        ).fetchone()
    finally:
        con.close()
    return None if row is None or row[0] is None else float(row[0])


def on_spark(size: int, work: Path, exports: Path, duckdb_refresh_s: float) -> None:
    """The same exports ingested into a folder of their own and built on Spark."""
    home = work / f"home-{size}-spark"
    shutil.rmtree(home, ignore_errors=True)
    avtale = str(Path(sys.executable).parent / "avtale")
    env = {**os.environ, "AVTALE_HOME": str(home), "AVTALE_ENGINE": "spark"}
    run([avtale, "ingest", str(exports)], env)
    refresh_s, refresh_mb = run([avtale, "refresh", "--here"], env)
    with connect_serving(home / "serving.duckdb") as con:
        (rows,) = con.execute("SELECT count(*) FROM customer_months").fetchone() or (0,)
    print(
        f"- on Spark (local[2], {env.get('AVTALE_SPARK_DRIVER_MEMORY', '2g')} driver): refresh "
        f"(lake export, dbt build on Spark, publish) {refresh_s:.1f} s, peak {refresh_mb:.0f} MB"
        f" = {refresh_s / duckdb_refresh_s:.1f}x DuckDB's {duckdb_refresh_s:.1f} s"
        f" ({rows:,} customer-months)"
    )


def under_memory_limit(size: int, work: Path, limit: str, engines: list[str]) -> None:
    """Whole builds again, each engine held to `limit` of memory."""
    avtale = str(Path(sys.executable).parent / "avtale")
    print(f"- whole build again under a memory limit of {limit}:")
    for engine in engines:
        home = work / (f"home-{size}" if engine == "duckdb" else f"home-{size}-spark")
        env = {**os.environ, "AVTALE_HOME": str(home), "AVTALE_ENGINE": engine}
        java = limit.lower().removesuffix("b").removesuffix("i")  # 1GB -> 1g, as Java says it
        env |= {"AVTALE_DUCKDB_MEMORY_LIMIT": limit, "AVTALE_SPARK_DRIVER_MEMORY": java}
        seconds, peak = run([avtale, "refresh", "--here", "--rebuild"], env, may_fail=True)
        outcome = f"{seconds:.1f} s" if seconds >= 0 else "failed"
        print(f"  - {engine}: {outcome}, peak {peak:.0f} MB")


def bench(size: int, work: Path, engines: list[str], memory_limit: str | None) -> None:
    exports, home = work / f"exports-{size}", work / f"home-{size}"
    shutil.rmtree(home, ignore_errors=True)
    avtale = str(Path(sys.executable).parent / "avtale")
    env = {**os.environ, "AVTALE_HOME": str(home)}
    if not exports.exists():
        run(
            [
                avtale,
                "demo-data",
                str(exports),
                "--companies",
                str(size),
                "--as-of",
                AS_OF.isoformat(),
            ],
            env,
        )
    with (exports / "hubspot" / "line_items.csv").open(encoding="utf-8") as f:
        items = sum(1 for _ in f) - 1
    ingest_s, ingest_mb = run([avtale, "ingest", str(exports)], env)
    refresh_s, refresh_mb = run([avtale, "refresh"], env)
    floor_s = floor(exports)
    (home / "inbox").mkdir(exist_ok=True)
    dropped = home / "inbox" / "fx_rates.csv"
    dropped.write_text("currency,rate\nEUR,11.7\n", encoding="utf-8")
    os.utime(dropped, (time.time() - 60,) * 2)  # settled: the inbox waits for files in writing
    incremental_s, _ = run([avtale, "refresh"], env)
    unchanged_s, _ = run([avtale, "refresh"], env)
    warm, phases = warm_worker(home, env)
    queries = dashboard_queries(home / "serving.duckdb")
    total = ingest_s + refresh_s
    print(f"\n## {size:,} companies ({items:,} HubSpot line items)")
    print(f"- ingest: {ingest_s:.1f} s, peak {ingest_mb:.0f} MB")
    print(f"- refresh (dbt build + tests + publish): {refresh_s:.1f} s, peak {refresh_mb:.0f} MB")
    print(f"- floor (plain DuckDB, same month-end MRR from the same files): {floor_s:.2f} s")
    print(f"- ingest + refresh: {total:.1f} s = {total / floor_s:.0f}x the floor")
    print(f"- incremental refresh after one small file: {incremental_s:.1f} s")
    print(f"- refresh with nothing new: {unchanged_s:.1f} s")
    print(f"- warm worker (`avtale worker`), started in {warm['start']:.1f} s:")
    print(
        f"  - three tiny generic files dropped -> in customer_months: {warm['three_files']:.1f} s"
    )
    print(f"  - `avtale refresh` with nothing new: {warm['nothing_new']:.1f} s")
    print(f"  - a contract saved -> in customer_months: {warm['app_save']:.1f} s")
    for name, parts in phases.items():
        if parts:
            nodes, runs = int(parts.pop("nodes")), int(parts.pop("runs"))
            shown = ", ".join(f"{part} {s:.1f} s" for part, s in parts.items())
            print(f"    - {name}: {shown} ({nodes} dbt nodes, {runs} run{'s' * (runs != 1)})")
    for name, seconds in queries.items():
        print(f"- dashboard query {name}: {seconds * 1000:.0f} ms")
    sys.stdout.flush()
    if "spark" in engines:
        on_spark(size, work, exports, refresh_s)
    if memory_limit:
        under_memory_limit(size, work, memory_limit, engines)
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=ENGINES,
        default=["duckdb", "spark"] if importlib.util.find_spec("pyspark") else ["duckdb"],
        help="DuckDB always runs; spark (default when the spark extra is installed) as well",
    )
    parser.add_argument("--memory-limit", help="also build whole under this much memory (1GB)")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="avtale-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# Avtale benchmark ({os.cpu_count()} cores), work folder {work}")
    try:
        for size in args.sizes:
            bench(size, work, args.engines, args.memory_limit)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
