"""`avtale`: the one command line (SPEC XI). Data lives under `$AVTALE_HOME`."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb

from avtale.repository import ROLES
from avtale.settings import PRIVATE_UMASK, STREAMLIT_APP, Paths, paths


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_demo_data(args: argparse.Namespace) -> int:
    from avtale.demo_data import write_demo_data

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    written = write_demo_data(
        Path(args.dir), companies=args.companies, seed=args.seed, as_of=as_of, progress=_say
    )
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from avtale.pipeline import WarehouseBusyError, ingest

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        _say(f"error: no such file or folder: {', '.join(missing)}")
        return 2
    try:
        report = ingest(paths(), [Path(p) for p in args.paths], progress=_say)
    except WarehouseBusyError as exc:
        _say(f"error: {exc}")
        return 3
    print(report.format())
    if report.loaded:
        print("Run `avtale refresh` to rebuild the marts and publish them.")
    return 0 if report.ok else 1


def _dagster_instance(p: Paths):  # type: ignore[no-untyped-def]
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(p.dagster_home)
    config = p.dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.get()


def refresh(p: Paths) -> bool:
    """Materialise every asset in this process (inbox, dbt build, publish)."""
    os.environ["AVTALE_HOME"] = str(p.home)
    p.ensure()
    instance = _dagster_instance(p)
    from dagster_project.definitions import defs

    job = defs.resolve_job_def("refresh")
    started = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    result = job.execute_in_process(run_config=quiet, instance=instance, raise_on_error=False)
    elapsed = time.perf_counter() - started
    if result.success:
        _say(f"refresh done in {elapsed:.1f} s; published {p.serving}")
    else:
        failed = [e.step_key or "?" for e in result.all_events if e.is_step_failure]
        _say(
            f"refresh FAILED in {elapsed:.1f} s at {', '.join(failed) or 'a step'}; "
            "the last published copy stays in place. Details: `make dev` -> Runs."
        )
        for event in result.all_events:
            data = event.step_failure_data if event.is_step_failure else None
            # A dg.Failure (the dbt step's) says what failed; other errors their message.
            if data and data.user_failure_data and data.user_failure_data.description:
                _say(data.user_failure_data.description)
            elif data and data.error:
                _say(data.error.message)
    # Warning checks do not stop a refresh (data_quality_findings), but must not go unseen.
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.asset_check_evaluation_data
            if not check.passed and check.severity.value == "WARN":
                count = check.metadata.get("dagster_dbt/failed_row_count")
                rows = f" ({count.value} rows)" if count is not None else ""
                _say(
                    f"warning: check {check.check_name} on {check.asset_key.to_user_string()} "
                    f"did not pass{rows}"
                )
    return result.success


def cmd_refresh(args: argparse.Namespace) -> int:
    return 0 if refresh(paths()) else 1


def cmd_sql(args: argparse.Namespace) -> int:
    from avtale.serving import NotPublishedError
    from avtale.sql import (
        QueryRefusedError,
        QueryTimeoutError,
        one_line,
        run_query,
        timeout_seconds,
    )

    try:
        timeout_s = timeout_seconds()
    except ValueError as exc:
        _say(f"error: {exc}")
        return 2
    try:
        run_query(paths().serving, args.query, sys.stdout, timeout_s)
        sys.stdout.flush()
    except NotPublishedError as exc:
        _say(f"error: {exc}")
        return 2
    except (QueryRefusedError, QueryTimeoutError, duckdb.Error) as exc:
        _say(f"error: {one_line(exc)}")
        return 1
    except BrokenPipeError:
        # The reader (`| head`) left; Python must not print a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _say("error: the output was closed before every row was written")
        return 1
    return 0


def serve_app(port: int) -> int:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(STREAMLIT_APP),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    _say(f"serving the app on http://127.0.0.1:{port} (Ctrl+C stops it)")
    os.environ["AVTALE_HOME"] = str(paths().home)
    return run_child(command)


def run_child(command: list[str], grace_s: float = 10.0) -> int:
    """Run ``command`` until it exits. SIGTERM or SIGINT to us stops it too (terminate, kill
    after ``grace_s`` or at a second signal), so no server outlives `avtale app`. Returns
    its exit code, 128 + N if signal N ended it (as a shell reports it)."""
    child = subprocess.Popen(command)
    # A timer, not a wait in the handler: the handler runs inside child.wait(), which
    # holds the lock a second wait needs to see the child exit.
    killer = threading.Timer(grace_s, child.kill)
    killer.daemon = True

    def stop(_signum: int, _frame: object) -> None:
        if killer.ident is None:
            child.terminate()
            killer.start()
        else:
            child.kill()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = child.wait()
    finally:
        killer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:  # leaving on an exception: take the child along
            child.kill()
            child.wait()
    return 128 - code if code < 0 else code


def cmd_app(args: argparse.Namespace) -> int:
    return serve_app(args.port)


def cmd_user_add(args: argparse.Namespace) -> int:
    from avtale.repository.auth import create_user
    from avtale.repository.db import database_url, make_engine, migrate, session_scope
    from avtale.repository.validation import ValidationError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Again: ") != password:
            _say("error: the passwords differ")
            return 2
    url = database_url(paths().ensure())
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            user = create_user(session, "cli", args.username, password, args.role)
            print(f"created {user.username} ({user.role})")
    except ValidationError as exc:
        for field, message in exc.errors.items():
            _say(f"error: {field}: {message}")
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from avtale.repository.auth import unlock
    from avtale.repository.db import database_url, make_engine, migrate, session_scope
    from avtale.repository.models import User

    url = database_url(paths().ensure())
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.username == args.username.lower()))
            if user is None:
                _say(f"error: there is no user {args.username}")
                return 1
            was_locked = unlock(session, "cli", user)
            print(f"unlocked {user.username}" if was_locked else f"{user.username} was not locked")
    finally:
        engine.dispose()
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from avtale.notify.reminders import set_contact_details
    from avtale.repository.db import database_url, make_engine, migrate, session_scope
    from avtale.repository.models import User
    from avtale.repository.validation import ValidationError

    details = {
        name: value
        for name, value in (
            ("email", args.email),
            ("manager", args.manager),
            ("crm_owner", args.crm_owner),
        )
        if value is not None
    }
    if not details:
        _say("error: give --email, --manager or --crm-owner (an empty value clears it)")
        return 2
    url = database_url(paths().ensure())
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            user = session.scalar(select(User).where(User.username == args.username.lower()))
            if user is None:
                _say(f"error: there is no user {args.username}")
                return 1
            set_contact_details(session, "cli", user, details)
            print(
                f"{user.username}: e-mail {user.email or '-'}, manager {user.manager or '-'}, "
                f"CRM owner {user.crm_owner or '-'}"
            )
    except ValidationError as exc:
        for field, message in exc.errors.items():
            _say(f"error: {field}: {message}")
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    from avtale.dates import today
    from avtale.notify.mail import MailConfigError
    from avtale.notify.run import remind
    from avtale.rules.loading import RuleError
    from avtale.serving import NotPublishedError

    try:
        day = date.fromisoformat(args.today) if args.today else today()
    except ValueError:
        _say(f"error: --today must be a date such as 2026-03-31, not {args.today!r}")
        return 2
    try:
        report = remind(paths().ensure(), day, log=_say if args.verbose else lambda _m: None)
    except (NotPublishedError, RuleError, MailConfigError) as exc:
        _say(f"error: {exc}")
        return 2
    for line in report.lines():
        print(line)
    return 1 if report.sent.failed else 0


def cmd_renew(args: argparse.Namespace) -> int:
    from avtale.dates import today
    from avtale.repository.db import database_url, make_engine, migrate
    from avtale.repository.renewals import run_auto_renewals

    try:
        day = date.fromisoformat(args.today) if args.today else today()
    except ValueError:
        _say(f"error: --today must be a date such as 2026-03-31, not {args.today!r}")
        return 2
    url = database_url(paths().ensure())
    migrate(url)
    engine = make_engine(url)
    try:
        report = run_auto_renewals(engine, day, log=_say if args.verbose else lambda _m: None)
    finally:
        engine.dispose()
    for name, count in report.counts().items():
        print(f"{name}: {count}")
    for number, reason in report.failed.items():
        print(f"not renewed {number}: {reason}")
    return 1 if report.failed else 0


DEMO_USERS = {
    "leader": "leadership",
    "analyst": "analyst",
    "salesops": "sales_ops",
    "admin": "admin",
}


def create_demo_users(p: Paths) -> dict[str, tuple[str, str]]:
    """One user per role with a fresh random password: {username: (role, password)}; and
    on an empty operational database the built-in library and a few demo agreements."""
    from avtale.demo_agreements import seed_agreements
    from avtale.repository.auth import create_user
    from avtale.repository.db import database_url, make_engine, migrate, session_scope
    from avtale.repository.library import install_defaults
    from avtale.repository.models import User

    url = database_url(p)
    migrate(url)
    engine = make_engine(url)
    created: dict[str, tuple[str, str]] = {}
    try:
        with session_scope(engine) as session:
            install_defaults(session)
            added = seed_agreements(session, owner="salesops")
            for username, role in DEMO_USERS.items():
                if session.query(User).filter_by(username=username).first() is None:
                    password = secrets.token_urlsafe(12)
                    create_user(session, "demo", username, password, role)
                    created[username] = (role, password)
        if added:
            _say(f"added {added} demo customers with contracts to the operational database")
    finally:
        engine.dispose()
    return created


def cmd_demo(args: argparse.Namespace) -> int:
    from avtale.demo_data import write_demo_data
    from avtale.pipeline import ingest

    p = paths().ensure()
    demo_dir = p.home / "demo-data"
    _say(f"writing a demo portfolio of {args.companies} companies to {demo_dir}")
    write_demo_data(demo_dir, companies=args.companies, seed=args.seed, progress=_say)
    report = ingest(p, [demo_dir], progress=_say)
    print(report.format(max_problems=3))
    # Users and a few agreements in the operational database before the refresh, so the
    # app's own contracts are in the marts from the start.
    users = create_demo_users(p)
    if not refresh(p):
        return 1
    if users:
        print("Demo users (log in to the app with these; shown once):")
        for username, (role, password) in users.items():
            print(f"  {username:<10} {role:<11} {password}")
    else:
        print("Demo users exist already (leader, analyst, salesops, admin).")
    return 0 if args.no_serve else serve_app(args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avtale", description="Contracts and subscription analytics. Data: $AVTALE_HOME."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="demo data in, warehouse built, app served")
    demo.add_argument("--companies", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--port", type=int, default=8501)
    demo.add_argument("--no-serve", action="store_true", help="build everything, do not serve")
    demo.set_defaults(func=cmd_demo)

    data = sub.add_parser("demo-data", help="write a demo portfolio as export files")
    data.add_argument("dir")
    data.add_argument("--companies", type=int, default=500)
    data.add_argument("--seed", type=int, default=42)
    data.add_argument("--as-of", help="the demo's today (YYYY-MM-DD); default today")
    data.set_defaults(func=cmd_demo_data)

    ingest = sub.add_parser("ingest", help="load files or folders; prints the load report")
    ingest.add_argument("paths", nargs="+")
    ingest.set_defaults(func=cmd_ingest)

    refresh_ = sub.add_parser("refresh", help="ingest the inbox, dbt build, publish")
    refresh_.set_defaults(func=cmd_refresh)

    sql = sub.add_parser("sql", help="read-only SQL against the published marts, CSV out")
    sql.add_argument("query")
    sql.set_defaults(func=cmd_sql)

    user = sub.add_parser("user", help="manage app users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_add = user_sub.add_parser("add", help="create a user (asks for the password)")
    user_add.add_argument("username")
    user_add.add_argument("--role", required=True, choices=ROLES)
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.set_defaults(func=cmd_user_add)
    user_set = user_sub.add_parser(
        "set", help="set where a user's reminders go (an empty value clears it)"
    )
    user_set.add_argument("username")
    user_set.add_argument("--email", help="the address reminders are mailed to")
    user_set.add_argument("--manager", help="the username unacknowledged reminders go to")
    user_set.add_argument(
        "--crm-owner", help="the owner name or id CRM exports give this user's contracts"
    )
    user_set.set_defaults(func=cmd_user_set)
    user_unlock = user_sub.add_parser(
        "unlock", help="let a user locked by failed logins log in again"
    )
    user_unlock.add_argument("username")
    user_unlock.set_defaults(func=cmd_user_unlock)

    remind_ = sub.add_parser(
        "remind", help="queue, escalate and send the reminders due (as the daily job does)"
    )
    remind_.add_argument("--today", help="the day to run for (YYYY-MM-DD); default today")
    remind_.add_argument("-v", "--verbose", action="store_true", help="log every message")
    remind_.set_defaults(func=cmd_remind)

    renew_ = sub.add_parser(
        "renew", help="renew the auto-renewing contracts whose term has ended (as the daily job)"
    )
    renew_.add_argument("--today", help="the day to run for (YYYY-MM-DD); default today")
    renew_.add_argument("-v", "--verbose", action="store_true", help="log every renewal")
    renew_.set_defaults(func=cmd_renew)

    app = sub.add_parser("app", help="serve the Streamlit app")
    app.add_argument("--port", type=int, default=8501)
    app.set_defaults(func=cmd_app)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # What this run and the app or Dagster it starts write is private (avtale.settings);
    # put back after, for a caller running main() in its own process.
    umask = os.umask(PRIVATE_UMASK)
    try:
        return int(args.func(args))
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
