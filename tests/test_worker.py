"""The warm refresh worker: `avtale refresh` hands over to it, an app save reaches the marts
through it without waiting, asks during a refresh share the next one, and the warehouse's
writers take turns across processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from avtale.pipeline import warehouse_turn
from avtale.repository import service
from avtale.repository.db import database_url, make_engine, migrate, session_scope
from avtale.serving import connect_serving
from avtale.settings import PROJECT_ROOT, Paths
from avtale.worker import hand_refresh, is_running, request_refresh, socket_path
from dagster_project.worker import Worker
from tests.sample_files import drop

AVTALE = str(Path(sys.executable).with_name("avtale"))


def started_worker(
    home: Paths, refresh: Callable[[Callable[[str], None]], bool], watch_inbox: bool = False
) -> tuple[Worker, threading.Thread]:
    worker = Worker(home, refresh, say=lambda _line: None, watch_inbox=watch_inbox)
    thread = threading.Thread(target=worker.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not is_running(home):
        assert time.monotonic() < deadline, "the worker did not start listening"
        time.sleep(0.02)
    return worker, thread


class Refreshes:
    """A stand-in for the refresh job that counts its runs and can be held mid-run."""

    def __init__(self) -> None:
        self.count = 0
        self.hold = threading.Event()
        self.hold.set()
        self.running = threading.Event()

    def __call__(self, say: Callable[[str], None]) -> bool:
        self.running.set()
        self.count += 1
        say(f"refresh number {self.count}")
        self.hold.wait(10)
        self.running.clear()
        return True


def test_no_worker_means_the_asker_refreshes_itself(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    assert hand_refresh(home, say=print) is None
    assert request_refresh(home) is False
    # A socket file left by a worker that died: nobody listens, nobody waits.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(socket_path(home)))
    dead.close()
    started = time.monotonic()
    assert hand_refresh(home, say=print) is None and request_refresh(home) is False
    assert time.monotonic() - started < 1


def test_asks_during_a_refresh_share_the_next_one_and_hear_its_lines(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    refreshes = Refreshes()
    worker, _ = started_worker(home, refreshes)
    heard: list[str] = []
    assert hand_refresh(home, say=heard.append) is True
    assert heard == ["refresh number 1"] and refreshes.count == 1

    refreshes.hold.clear()  # the next refresh runs until let go
    assert request_refresh(home) is True  # answered at once, not after the refresh
    assert refreshes.running.wait(5)
    # Three app saves and a waiting `avtale refresh` arrive while it runs...
    assert all(request_refresh(home) for _ in range(3))
    outcome: list[bool | None] = []
    waiter = threading.Thread(target=lambda: outcome.append(hand_refresh(home, say=heard.append)))
    waiter.start()
    deadline = time.monotonic() + 10
    while len(worker.waiting) < 1:  # its ask is in before the refresh is let go
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refreshes.hold.set()
    waiter.join(10)
    # ...and are all served by one more refresh, whose lines the waiting one hears.
    assert outcome == [True]
    assert refreshes.count == 3
    assert heard[-1] == "refresh number 3"


def test_a_refresh_that_breaks_fails_its_askers_and_not_the_worker(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    calls: list[int] = []

    def breaks_once(say: Callable[[str], None]) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the disk is full")
        return True

    started_worker(home, breaks_once)
    heard: list[str] = []
    assert hand_refresh(home, say=heard.append) is False
    assert heard == ["refresh FAILED in the worker: RuntimeError: the disk is full"]
    assert hand_refresh(home, say=heard.append) is True  # still serving


def test_a_settled_file_in_the_inbox_is_refreshed_for_once(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    refreshes = Refreshes()
    started_worker(home, refreshes, watch_inbox=True)
    time.sleep(1.5)
    assert refreshes.count == 0  # an empty inbox asks for nothing

    drop(home.inbox / "fx_rates.csv", "currency,rate\nEUR,11.5\n")
    deadline = time.monotonic() + 10
    while refreshes.count == 0:
        assert time.monotonic() < deadline, "the worker did not refresh for the file"
        time.sleep(0.05)
    # This stand-in does not move the file away (as a refresh would): the same file is
    # not refreshed for again and again.
    time.sleep(2.5)
    assert refreshes.count == 1
    drop(home.inbox / "more.csv", "currency,rate\nSEK,1\n")
    deadline = time.monotonic() + 10
    while refreshes.count == 1:
        assert time.monotonic() < deadline, "a new file did not start a refresh"
        time.sleep(0.05)


def test_a_second_worker_for_the_same_folder_is_refused(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    started_worker(home, Refreshes())
    with pytest.raises(SystemExit, match="a worker already runs"):
        Worker(home, Refreshes()).serve_forever()


def test_a_worker_whose_folder_is_removed_stops_and_leaves_the_next_one_alone(
    tmp_path: Path,
) -> None:
    """A data folder removed under its worker and made again (`make clean`, then `make
    demo`, while `make dev` runs): the old worker stops instead of refreshing the new
    folder with what it held of the old one, and leaves the new folder's worker alone."""
    home = Paths(tmp_path / "data").ensure()
    old = Refreshes()
    _, old_thread = started_worker(home, old, watch_inbox=True)

    shutil.rmtree(home.home)
    home = Paths(tmp_path / "data").ensure()
    new = Refreshes()
    started_worker(home, new, watch_inbox=True)

    old_thread.join(10)
    assert not old_thread.is_alive(), "the old worker did not stop"
    assert is_running(home)  # the new worker's socket stands
    drop(home.inbox / "fx_rates.csv", "currency,rate\nEUR,11.5\n")
    deadline = time.monotonic() + 10
    while new.count == 0:
        assert time.monotonic() < deadline, "the new worker did not refresh for the file"
        time.sleep(0.05)
    assert old.count == 0


def test_the_warehouses_writers_take_turns_across_processes(tmp_path: Path) -> None:
    home = Paths(tmp_path).ensure()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from avtale.settings import Paths\n"
            "from avtale.pipeline import warehouse_turn\n"
            "with warehouse_turn(Paths(Path(sys.argv[1]))):\n"
            "    print('held', flush=True); time.sleep(1.5)\n",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    with warehouse_turn(home):
        waited = time.monotonic() - started
    holder.wait(10)
    assert waited > 0.8, f"took the warehouse while another process held it ({waited:.2f} s)"


# --- the real worker process ---------------------------------------------------------------


@pytest.fixture()
def worker_home(tmp_path: Path) -> Iterator[tuple[Paths, subprocess.Popen[str]]]:
    home = Paths(tmp_path / "home").ensure()
    migrate(database_url(home))
    env = {**os.environ, "AVTALE_HOME": str(home.home)}
    env.pop("AVTALE_DATABASE_URL", None)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [AVTALE, "worker"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not is_running(home):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.1)
        yield home, worker
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
    assert not socket_path(home).exists(), "the worker left its socket behind"


def test_a_burst_of_signals_stops_the_worker_once_and_cleanly(
    worker_home: tuple[Paths, subprocess.Popen[str]], tmp_path: Path
) -> None:
    """Many SIGTERMs at once (stopping `make dev`): the worker exits 0 with its socket
    removed (the fixture checks), and no later signal interrupts that exit's clean-up."""
    _, worker = worker_home
    for _ in range(200):
        worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert "Traceback" not in (tmp_path / "worker.log").read_text()


def app_mrr(home: Paths) -> float | None:
    if not home.serving.exists():
        return None
    with connect_serving(home.serving) as con:
        row = con.execute(
            "SELECT sum(mrr) FROM customer_months m JOIN customers c USING (customer_id) "
            "WHERE c.source_system = 'app' AND m.month = DATE '2025-06-01'"
        ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


@pytest.mark.slow
def test_a_save_reaches_customer_months_through_the_worker(
    worker_home: tuple[Paths, subprocess.Popen[str]],
) -> None:
    home, _ = worker_home
    env = {**os.environ, "AVTALE_HOME": str(home.home)}
    env.pop("AVTALE_DATABASE_URL", None)
    # `avtale refresh` hands over: the worker's lines, its outcome as the exit code.
    done = subprocess.run(
        [AVTALE, "refresh"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refresh done" in done.stderr and app_mrr(home) is None

    # A contract saved as the app saves one, then the app's ask: it returns at once.
    engine = make_engine(database_url(home))
    with session_scope(engine) as session:
        customer = service.create_customer(session, "kari", {"name": "Fjord AS", "country": "NO"})
        terms = {"start_date": date(2025, 1, 1), "term_months": 12, "currency": "NOK"}
        lines = [
            {"product": "Assist", "quantity": 10, "unit_price": 100, "billing_period": "monthly"}
        ]
        service.create_contract(session, "kari", customer, terms, lines)
    engine.dispose()
    asked = time.monotonic()
    assert request_refresh(home) is True
    assert time.monotonic() - asked < 1
    deadline = time.monotonic() + 120
    while app_mrr(home) is None:
        assert time.monotonic() < deadline, "the save never reached customer_months"
        time.sleep(0.5)
    assert app_mrr(home) == 1000.0
