"""The warm refresh worker of a data folder (`avtale worker`; `make dev` starts one).

A refresh in a new process pays ~7 s before any work: importing Dagster and dbt, loading
the definitions and the dbt manifest, opening the Dagster instance (docs/benchmarks.md).
The worker pays that once and then runs each refresh as `avtale refresh` does, the same
job in the same Dagster instance, so its runs show in the UI like any other.

It listens on `$AVTALE_HOME/worker.sock` (the protocol is in avtale/worker.py) and looks
into the inbox four times a second, refreshing for settled files as the inbox sensor
would. Asks are served in order by one refresh thread; all asks that arrive while a
refresh runs are served by the next one, so a burst of app writes costs one more refresh,
not one each. When the project's code or dbt project changes under it, the worker answers
"restart" (the asker then refreshes in its own process) and replaces itself with a fresh
process. When its socket goes (the data folder removed, or made again with another worker
in it), it stops: it would refresh a folder it no longer knows.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

from avtale import inbox
from avtale.settings import PRIVATE_FILE, PROJECT_ROOT, Paths
from avtale.worker import socket_path

# A refresh: its lines go to `say`; True when it succeeded.
Refresh = Callable[[Callable[[str], None]], bool]

# How often an idle worker looks into the inbox: a look lists the folder (~0.02 ms with
# nothing in it), and a settled file waits 0.125 s for it on average (0.5 s at 1 s).
INBOX_POLL_S = 0.25
REFRESH_FIRST = "--refresh-first"  # how a restarted worker knows it owes a refresh
WATCHED = ("avtale", "ingestion", "docgen", "dagster_project", "dbt")


def code_version() -> float:
    """The newest change to the code a refresh runs: the Python packages and dbt project."""
    newest = 0.0
    for folder in WATCHED:
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if (
                path.suffix in {".py", ".sql", ".yml", ".yaml", ".csv"}
                and "target" not in path.parts
            ):
                newest = max(newest, path.stat().st_mtime)
    return newest


class Worker:
    def __init__(
        self,
        paths: Paths,
        refresh: Refresh,
        say: Callable[[str], None] = print,
        refresh_first: bool = False,
        watch_inbox: bool = False,
    ) -> None:
        self.paths = paths
        self.refresh = refresh
        self.say = say
        self.due = threading.Condition()
        self.asked = refresh_first
        self.waiting: list[socket.socket] = []
        self.version = code_version()
        self.watch_inbox = watch_inbox
        self.inbox_seen: str | None = None
        self.socket_id: tuple[int, int, int] | None = None  # the socket this worker made
        self.stopped = threading.Event()

    def serve_forever(self) -> None:
        self.listener = self.listen()
        threading.Thread(target=self.refresh_loop, name="refresh", daemon=True).start()
        self.say(f"worker for {self.paths.home} listening on {socket_path(self.paths)}")
        try:
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    if self.stopped.is_set():  # shut down by `stop`
                        return
                    raise
                threading.Thread(target=self.take, args=(conn,), daemon=True).start()
        finally:
            self.listener.close()
            if self.serves_its_socket():  # not another worker's, in a folder made again
                socket_path(self.paths).unlink(missing_ok=True)

    def listen(self) -> socket.socket:
        path = socket_path(self.paths)
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink(missing_ok=True)  # left by a worker that died
        else:
            probe.close()
            raise SystemExit(f"error: a worker already runs for {self.paths.home}")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        path.chmod(PRIVATE_FILE)  # the data folder's owner alone may ask
        listener.listen()
        self.socket_id = _file_id(path)
        return listener

    def serves_its_socket(self) -> bool:
        """The socket this worker made is still there: its data folder was not removed."""
        return self.socket_id is not None and _file_id(socket_path(self.paths)) == self.socket_id

    def stop(self, why: str) -> None:
        """Stop serving (from the refresh thread): `serve_forever` returns."""
        self.say(why)
        self.stopped.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in serve_forever

    def take(self, conn: socket.socket) -> None:
        """Read one ask; a waiting one joins the next refresh, the other is answered now."""
        try:
            ask = json.loads(conn.makefile("r", encoding="utf-8").readline() or "{}")
        except (OSError, ValueError):
            conn.close()
            return
        if not isinstance(ask, dict) or not ask.get("refresh"):
            conn.close()
            return
        with self.due:
            self.asked = True
            if ask.get("wait"):
                self.waiting.append(conn)
            self.due.notify()
        if not ask.get("wait"):
            _send([conn], {"queued": True})
            conn.close()

    def refresh_loop(self) -> None:
        while True:
            with self.due:
                while not self.asked:
                    self.due.wait(INBOX_POLL_S)
                    if not self.serves_its_socket():
                        self.stop(
                            f"{socket_path(self.paths)} was removed: the data folder is "
                            "gone or was made again, and this worker stops"
                        )
                        return
                    self.asked = self.asked or self.inbox_changed()
                self.asked = False
                waiting, self.waiting = self.waiting, []
            if code_version() != self.version:
                self.restart(waiting)
            self.serve_asks(waiting)

    def inbox_changed(self) -> bool:
        """Files in the inbox, settled and not yet seen: the worker refreshes for them as
        Dagster's inbox sensor would (which skips while a worker runs). A set of files
        that stays (one that cannot be moved away) is refreshed for once, not forever."""
        if not self.watch_inbox:
            return False
        found = inbox.scan(self.paths.inbox)
        key = found.key() if found.ready or found.refused else None
        changed, self.inbox_seen = key is not None and key != self.inbox_seen, key
        return changed

    def serve_asks(self, waiting: list[socket.socket]) -> None:
        """One refresh for every asker in `waiting`, its lines sent to each as they come."""
        started = time.perf_counter()

        def say(line: str) -> None:
            self.say(line)
            waiting[:] = _send(waiting, {"say": line})

        try:
            ok = self.refresh(say)
        except Exception as exc:  # the worker outlives a refresh that broke: say it, go on
            say(f"refresh FAILED in the worker: {type(exc).__name__}: {exc}")
            ok = False
        for conn in _send(waiting, {"ok": ok}):
            conn.close()
        self.say(f"refresh {'done' if ok else 'FAILED'} in {time.perf_counter() - started:.1f} s")

    def restart(self, waiting: list[socket.socket]) -> None:
        """The code changed: waiting askers refresh themselves; this process starts afresh
        and refreshes first, for the asks that did not wait (the app's)."""
        for conn in _send(waiting, {"restart": True}):
            conn.close()
        self.say("the project's code changed: restarting the worker")
        socket_path(self.paths).unlink(missing_ok=True)
        argv = [a for a in sys.argv if a != REFRESH_FIRST] + [REFRESH_FIRST]
        os.execv(sys.executable, [sys.executable, *argv])


def _file_id(path: os.PathLike[str]) -> tuple[int, int, int] | None:
    """Which file is at `path`; None when there is none. The device and inode, and the
    time of its last change of status: a file system may give a new file the inode number
    of one just removed, not the same time too."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_ctime_ns


def _send(conns: list[socket.socket], message: dict[str, object]) -> list[socket.socket]:
    """Send to each; those that went away (an asker pressed Ctrl-C) are dropped."""
    line = (json.dumps(message) + "\n").encode()
    kept = []
    for conn in conns:
        try:
            conn.sendall(line)
            kept.append(conn)
        except OSError:
            conn.close()
    return kept


def serve(paths: Paths, refresh_first: bool = False) -> None:
    """Run the worker of `paths` until stopped (Ctrl-C or SIGTERM)."""
    from dagster_project.project import ManifestNotPreparedError
    from dagster_project.refresh import dagster_instance, refresh_here

    # Loaded and parsed now, so the first refresh is warm too. Without a prepared
    # manifest, each refresh tells its asker the command that prepares it, until it is run.
    with contextlib.suppress(ManifestNotPreparedError):
        import dagster_project.definitions  # noqa: F401
        from dagster_project.defs.dbt import parse_ahead_for
        from dagster_project.defs.resources import AvtaleHome

        try:
            parse_ahead_for(paths, AvtaleHome(home=str(paths.home)).warehouse_engine())
        except Exception as exc:  # bad settings, say: each refresh tells it, as without this
            print(f"dbt project not parsed ahead: {type(exc).__name__}: {exc}", flush=True)

    instance = dagster_instance(paths)
    sigterms = itertools.count()

    def exit_once(_signum: int, _frame: object) -> None:
        # SIGTERM leaves as Ctrl-C does, closing the socket. Later ones do nothing: stopping
        # `make dev` signals every process at once, and one more SystemExit raised inside
        # the exit's own clean-up (the socket's removal, threading's shutdown) would cut it
        # short. (A handler set to SIG_IGN instead makes Python report the pending ones.)
        if next(sigterms) == 0:
            sys.exit(0)

    signal.signal(signal.SIGTERM, exit_once)
    worker = Worker(
        paths,
        lambda say: refresh_here(paths, say=say, instance=instance, steps=True),
        refresh_first=refresh_first,
        watch_inbox=True,
    )
    worker.serve_forever()
