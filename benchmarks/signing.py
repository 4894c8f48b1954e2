"""Signing by link, timed: what a party waits for on each page, and what the last signer
waits for while the document is sealed (audit page, PAdES seal, archive, contract).

    python benchmarks/signing.py [--rounds 10]

Each round sends a fresh proposal to its two parties in a throw-away data folder (SQLite,
outbox mail) and walks both through the public pages in process (Starlette's test
client): open the link, ask for a code, enter it, sign. Figures are medians of wall time.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from apps.portal.app import create_app  # noqa: E402
from avtale.services import signing  # noqa: E402
from avtale.services.database import database_at  # noqa: E402
from tests.signing_fixtures import (  # noqa: E402
    CUSTOMER_SIGNER,
    SALES,
    SELLER_SIGNER,
    code_for,
    link_for,
    ready_proposal,
    settings_for,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    for name in ("AVTALE_SMTP_HOST", "AVTALE_SMS_URL", "AVTALE_SECRET_KEY", "AVTALE_TSA_URL"):
        os.environ.pop(name, None)
    times: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as folder:
        settings = settings_for(Path(folder) / "home")
        db = database_at(f"sqlite:///{Path(folder) / 'home' / 'avtale.db'}")
        for _ in range(rounds + 1):  # the first round warms up (imports, fonts, keys)
            # A new app each round: its limit of posts a minute per address would stop us.
            client = TestClient(create_app(settings, db))
            number = ready_proposal(db, settings.paths)
            started = time.perf_counter()
            assert signing.send_for_signature(db, SALES, settings, number).ok
            sent = time.perf_counter() - started
            steps = {"send for signature (2 parties, mail + SMS)": sent}
            for to in (CUSTOMER_SIGNER, SELLER_SIGNER):
                steps |= walk(client, settings, to)
            for step, seconds in steps.items():
                times[step].append(seconds)
    print(f"signing by link, median of {rounds} rounds (first round left out):")
    for step, values in times.items():
        print(f"  {step:<48} {statistics.median(values[1:]) * 1000:8.1f} ms")


def walk(client: TestClient, settings, to: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """One party through the pages; the time of each step (the last signer's includes the seal)."""
    token = link_for(settings.paths, to)
    client.cookies.clear()
    timed: dict[str, float] = {}

    def step(name: str, method: str, url: str, **data: str) -> str:
        started = time.perf_counter()
        response = client.request(method, url, data=data or None)
        timed[name] = time.perf_counter() - started
        assert response.status_code == 200, (name, response.status_code, response.text[:300])
        return response.text

    page = step("open the link", "GET", f"/sign/{token}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    step("ask for a code (mailed)", "POST", f"/sign/{token}/code", csrf=csrf.group(1))
    code = code_for(settings.paths, to)
    step("enter the code", "POST", f"/sign/{token}/verify", csrf=csrf.group(1), code=code)
    last = "sign, last party: seal + contract" if to == SELLER_SIGNER else "sign, first party"
    step(last, "POST", f"/sign/{token}/sign", csrf=csrf.group(1), typed_name="A B", consent="yes")
    return timed


if __name__ == "__main__":
    main()
