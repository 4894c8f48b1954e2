"""Asking the warm refresh worker of a data folder for a refresh (the client side).

`avtale worker` (dagster_project/worker.py, started by `make dev`) keeps Dagster, dbt and
the parsed manifest loaded and listens on `$AVTALE_HOME/worker.sock`. Two kinds of ask:

- `hand_refresh`: `avtale refresh` hands its refresh over, prints the worker's lines as
  they come and gets its outcome; with no worker running it gets None and refreshes in
  its own process as before.
- `request_refresh`: the app, after a committed write, asks for a refresh and goes on at
  once; a write never waits on a refresh. Asks that arrive during a refresh are served
  together by the next one.

One JSON object a line each way: the ask `{"refresh": true, "wait": bool}`, then from the
worker `{"say": line}`... and `{"ok": bool}` at the end (or `{"queued": true}` when the ask
does not wait, `{"restart": true}` when the worker's code changed and it is restarting).
This module imports nothing heavy: the app and the command line load it on every write.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from avtale.settings import Paths

SOCKET_NAME = "worker.sock"
# How long the app waits to hand over an ask that does not wait: the worker accepts at once.
ASK_TIMEOUT_S = 1.0


def socket_path(paths: Paths) -> Path:
    return paths.home / SOCKET_NAME


def hand_refresh(paths: Paths, say: Callable[[str], None]) -> bool | None:
    """The worker's refresh, its lines passed to `say`: True or False as it went, None
    when no worker runs for this folder (or it is restarting): refresh in process then."""
    conn = _connect(paths, timeout=ASK_TIMEOUT_S)
    if conn is None:
        return None
    with conn:
        conn.settimeout(None)  # a refresh takes as long as it takes; the worker answers
        conn.sendall(_line({"refresh": True, "wait": True}))
        for message in _messages(conn):
            if "say" in message:
                say(str(message["say"]))
            elif "ok" in message:
                return bool(message["ok"])
            elif message.get("restart"):
                return None
    return None  # the worker went away mid-refresh: the caller refreshes itself


def is_running(paths: Paths) -> bool:
    """Whether a worker listens for this folder."""
    conn = _connect(paths, timeout=ASK_TIMEOUT_S)
    if conn is None:
        return False
    conn.close()
    return True


def request_refresh(paths: Paths) -> bool:
    """Ask the folder's worker for a refresh without waiting for it. True if a worker
    took the ask; False if none runs (the Dagster sensor on app writes then refreshes)."""
    conn = _connect(paths, timeout=ASK_TIMEOUT_S)
    if conn is None:
        return False
    try:
        with conn:
            conn.sendall(_line({"refresh": True, "wait": False}))
            return any(m.get("queued") for m in _messages(conn))
    except OSError:
        return False


def _connect(paths: Paths, timeout: float) -> socket.socket | None:
    path = socket_path(paths)
    if not path.exists():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        conn.connect(str(path))
    except OSError:  # a socket left by a worker that died: nobody listens
        conn.close()
        return None
    return conn


def _line(message: dict[str, object]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def _messages(conn: socket.socket) -> Iterator[dict[str, object]]:
    """The worker's messages as they arrive, one JSON object a line."""
    with conn.makefile("r", encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if isinstance(message, dict):
                yield message
