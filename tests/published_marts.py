"""What a refresh published, read back for comparison: every mart's rows, the differences
between two publishes, and customer_months against tests/oracle.py (SPEC IX in plain
Python). Used by tests/test_pipeline.py (a build of what changed against a whole build)
and tests/test_spark.py (Spark's marts against DuckDB's)."""

from __future__ import annotations

import math
from pathlib import Path

from avtale.serving import connect_serving
from avtale.settings import Paths
from tests import oracle


def published(home: Paths) -> dict[str, list[tuple]]:
    """Every published mart's rows, sorted."""
    with connect_serving(home.serving) as con:
        tables = [
            r[0]
            for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
            if not r[0].startswith("_")  # _published: when, not what
        ]
        return {t: con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables}


def differences(left: dict[str, list[tuple]], right: dict[str, list[tuple]]) -> list[str]:
    """Where two publishes differ, amounts compared to float noise (a sum of the same
    doubles in another order differs in its last bits; ratios of such sums too)."""

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return a == b

    found = [f"{t}: tables differ" for t in left.keys() ^ right.keys()]
    for table in sorted(left.keys() & right.keys()):
        if len(left[table]) != len(right[table]):
            found.append(f"{table}: {len(left[table])} rows against {len(right[table])}")
            continue
        for a, b in zip(left[table], right[table], strict=True):
            if not all(same(x, y) for x, y in zip(a, b, strict=True)):
                found.append(f"{table}: {a} against {b}")
                break
    return found


def oracle_mismatches(home: Paths, exports: Path) -> list[tuple]:
    """Each customer-month whose published MRR differs from the oracle's by half a cent or
    more (either side missing counts as 0), as (key, published, expected)."""
    with connect_serving(home.serving) as con:
        rows = con.execute("SELECT customer_id, month, mrr FROM customer_months").fetchall()
    months = sorted({month for _, month, _ in rows})
    fx = {r["currency"]: float(r["rate"]) for r in oracle.read_rows(exports / "fx_rates.csv")}
    portfolio = oracle.Portfolio(fx)
    oracle.hubspot(portfolio, exports / "hubspot")
    oracle.generic(portfolio, exports / "generic")
    expected = portfolio.customer_months(months)

    ours = {(customer, month): mrr for customer, month, mrr in rows}
    assert len(ours) > 1000
    mismatches = [
        (key, ours.get(key, 0.0), value)
        for key, value in expected.items()
        if abs(ours.get(key, 0.0) - value) > 0.005
    ]
    mismatches += [
        (key, value, expected.get(key, 0.0))
        for key, value in ours.items()
        if abs(value - expected.get(key, 0.0)) > 0.005
    ]
    # Every customer-month the oracle sees money in is in the table.
    mismatches += [(key, None, v) for key, v in expected.items() if v > 0 and key not in ours]
    return mismatches
