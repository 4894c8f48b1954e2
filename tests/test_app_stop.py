"""`avtale app` takes its Streamlit server with it when it is told to stop."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

STARTUP_S = 90  # Streamlit answers after ~2 s alone; the test machine is shared
STOP_S = 30
SIGNAL_BURST = 200
BURST_RUNS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True if a new server could listen on ``port`` (closed connections of the old one,
    in TIME_WAIT, do not count: servers set SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, from /proc (every thread's list)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(check: Callable[[], bool], seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def ignore_sigint() -> None:
    # What a non-interactive shell does to a command started with `&`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def running_app(
    home: Path, stderr: int, preexec: Callable[[], None] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """`avtale app` on a free port, answering; with its server processes. Whatever the
    test does, no server is left behind."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVTALE_")}
    app = subprocess.Popen(
        [sys.executable, "-m", "avtale.cli", "app", "--port", str(port)],
        env=env | {"AVTALE_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        preexec_fn=preexec,  # noqa: PLW1509 (no threads started yet in this test)
    )
    servers: list[int] = []
    try:
        assert wait_until(lambda: healthy(port), STARTUP_S), "the app never answered"
        servers += children(app.pid)
        yield app, servers
        assert wait_until(lambda: port_is_free(port), 5)
    finally:
        for pid in servers:
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)
        if app.poll() is None:
            app.kill()
            app.wait()


@pytest.mark.parametrize(
    ("stop_with", "preexec"),
    [
        (signal.SIGTERM, None),
        (signal.SIGINT, None),
        (signal.SIGINT, ignore_sigint),
    ],
    ids=["SIGTERM", "SIGINT", "SIGINT, started in the background"],
)
def test_a_signal_stops_the_streamlit_server_too(
    tmp_path: Path, stop_with: signal.Signals, preexec: Callable[[], None] | None
) -> None:
    with running_app(tmp_path / "home", subprocess.DEVNULL, preexec) as (app, servers):
        assert servers, "avtale app started no server process"
        assert any(b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes() for pid in servers)

        app.send_signal(stop_with)
        app.wait(timeout=STOP_S)

        assert not [pid for pid in servers if is_running(pid)]


def test_two_signals_at_once_stop_it_without_a_traceback(tmp_path: Path) -> None:
    """`timeout make demo` or Ctrl+C in a terminal signals `make`, `uv` and `avtale` at
    once: the second signal, arriving while the first is being handled, must kill the
    server, not fail in the handler."""
    with running_app(tmp_path / "home", subprocess.PIPE) as (app, servers):
        for _ in range(SIGNAL_BURST):  # one of them lands inside the first one's handling
            app.send_signal(signal.SIGTERM)
        _, err = app.communicate(timeout=STOP_S)
        assert "Traceback" not in err.decode(), err.decode()[-2000:]
        assert not [pid for pid in servers if is_running(pid)]


RUN_CHILD = """
import sys
from avtale.cli import run_child
sys.exit(run_child(["sleep", "60"]))
"""


def catches(pid: int, sig: signal.Signals) -> bool:
    """True once ``pid`` has a handler for ``sig`` (its caught-signals mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (sig - 1) & 1)


def test_a_burst_of_signals_never_hangs_the_stop(tmp_path: Path) -> None:
    """The same burst against `run_child` alone, many times over: a handler nested in
    another must not wait on a lock the outer one holds (a threading.Event did, and
    `avtale app` then hung until killed, here in the first run or the next)."""
    for run in range(BURST_RUNS):
        child = subprocess.Popen(
            [sys.executable, "-c", RUN_CHILD],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert wait_until(functools.partial(catches, child.pid, signal.SIGTERM), STARTUP_S)
        for _ in range(SIGNAL_BURST):
            child.send_signal(signal.SIGTERM)
        try:
            _, err = child.communicate(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            pytest.fail(f"run {run}: the process still ran {STOP_S} s after the signals")
        assert "Traceback" not in err.decode(), err.decode()[-2000:]
        # The child's end as a shell reports it; or, when the burst outlasted the stop, the
        # default action of a SIGTERM arriving after run_child put the old handler back.
        stopped = (128 + signal.SIGTERM, 128 + signal.SIGKILL, -signal.SIGTERM)
        assert child.returncode in stopped, child.returncode
