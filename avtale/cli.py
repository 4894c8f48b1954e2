"""`avtale`: the one command line (SPEC XI). Data lives under `$AVTALE_HOME`."""

from __future__ import annotations

import argparse
import getpass
import itertools
import os
import signal
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import duckdb

from avtale.repository import ROLES
from avtale.settings import (
    PRIVATE_UMASK,
    PROJECT_ROOT,
    STREAMLIT_SERVER,
    Paths,
    SettingsError,
    load_settings,
    paths,
)
from avtale.vocabulary import USER_LOCALES


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


def refresh(p: Paths) -> bool:
    """Materialise every asset in this process (inbox, dbt build, publish)."""
    from dagster_project.refresh import refresh_here

    return refresh_here(p, say=_say)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Handed to the folder's warm worker when one runs (`avtale worker`), else done here."""
    from avtale.worker import hand_refresh

    p = paths()
    if args.rebuild:  # the next build may not be skipped as "nothing new"
        p.last_build.unlink(missing_ok=True)
    handed = None if args.here else hand_refresh(p, say=_say)
    if handed is None:
        handed = refresh(p)
    return 0 if handed else 1


def cmd_worker(args: argparse.Namespace) -> int:
    from dagster_project.worker import serve

    serve(paths().ensure(), refresh_first=args.refresh_first)
    return 0


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
        str(STREAMLIT_SERVER),
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
    # The app gets the data folder in its own environment; ours stays as it was.
    return run_child(command, env={**os.environ, "AVTALE_HOME": str(paths().home)})


PORTAL_APP = "apps.portal.app:app_from_environment"


def portal_command(port: int) -> list[str]:
    """uvicorn serving the public pages (signing links, the customer portal) of the data
    folder, apart from the staff app: only these pages are reachable on this port."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        PORTAL_APP,
        "--factory",
        "--app-dir",
        str(PROJECT_ROOT),
        "--host",
        os.environ.get("AVTALE_PORTAL_HOST", "127.0.0.1"),
        "--port",
        str(port),
        "--no-server-header",
        "--log-level",
        "warning",
    ]


def cmd_portal(args: argparse.Namespace) -> int:
    _say(f"serving the signing and portal pages on http://127.0.0.1:{args.port} (Ctrl+C stops it)")
    return run_child(
        portal_command(args.port), env={**os.environ, "AVTALE_HOME": str(paths().home)}
    )


def run_child(command: list[str], grace_s: float = 10.0, env: dict[str, str] | None = None) -> int:
    """Run ``command`` (in ``env``, else ours) until it exits. SIGTERM or SIGINT to us stops
    it too (terminate, kill after ``grace_s`` or at a second signal), so no server outlives
    `avtale app`. Returns its exit code, 128 + N if signal N ended it (as a shell reports it)."""
    child = subprocess.Popen(command, env=env)
    # A timer, not a wait in the handler: the handler runs inside child.wait(), which
    # holds the lock a second wait needs to see the child exit.
    killer = threading.Timer(grace_s, child.kill)
    killer.daemon = True
    signals = itertools.count()

    def stop(_signum: int, _frame: object) -> None:
        # A second signal can arrive inside this handler (`timeout make demo` signals make,
        # uv and us at once), and its handler then runs nested in this one, in this thread.
        # So nothing here may take a lock the outer handler could hold (a threading.Event
        # did, and deadlocked): next() on a count is one C call, and only the handler that
        # drew 0 starts the timer.
        if next(signals):
            child.kill()
            return
        child.terminate()
        killer.start()

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
    from avtale.services.database import open_database
    from avtale.services.users import create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("Again: ") != password:
            _say("error: the passwords differ")
            return 2
    db = open_database(paths().ensure())
    outcome = create_user(db, _cli(), args.username, password, args.role)
    if not outcome.ok:
        return _refused(outcome.errors)
    print(f"created {outcome.detail['username']} ({outcome.detail['role']})")
    return 0


def _cli() -> str:
    from avtale.services.unit_of_work import System

    # The command line is run by the owner of the data folder: no role to check.
    return System("cli")


def _refused(errors: dict[str, str]) -> int:
    for field, message in errors.items():
        _say(f"error: {message}" if field in ("form", "user") else f"error: {field}: {message}")
    return 1


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from avtale.services.database import open_database
    from avtale.services.users import unlock_user

    outcome = unlock_user(open_database(paths().ensure()), _cli(), args.username)
    if outcome.detail.get("locked") is False:
        print(f"{outcome.detail['username']} was not locked")
    elif not outcome.ok:
        return _refused(outcome.errors)
    else:
        print(f"unlocked {outcome.detail['username']}")
    return 0


def cmd_user_set(args: argparse.Namespace) -> int:
    from avtale.services.database import open_database
    from avtale.services.users import set_contact_details

    details = {
        name: value
        for name, value in (
            ("email", args.email),
            ("manager", args.manager),
            ("crm_owner", args.crm_owner),
            ("locale", args.locale),
        )
        if value is not None
    }
    if not details:
        _say("error: give --email, --manager, --crm-owner (an empty value clears it) or --locale")
        return 2
    db = open_database(paths().ensure())
    outcome = set_contact_details(db, _cli(), args.username, details)
    if not outcome.ok:
        return _refused(outcome.errors)
    saved = outcome.detail
    print(
        f"{saved['username']}: e-mail {saved['email'] or '-'}, manager {saved['manager'] or '-'}, "
        f"CRM owner {saved['crm_owner'] or '-'}, locale {saved['locale']}"
    )
    return 0


def cmd_remind(args: argparse.Namespace) -> int:
    from avtale.dates import today
    from avtale.notify.mail import MailConfigError
    from avtale.rules.loading import RuleError
    from avtale.services.database import open_database
    from avtale.services.notifications import run_reminders
    from avtale.serving import NotPublishedError

    try:
        day = date.fromisoformat(args.today) if args.today else today()
    except ValueError:
        _say(f"error: --today must be a date such as 2026-03-31, not {args.today!r}")
        return 2
    p = paths().ensure()
    try:
        report = run_reminders(
            open_database(p), p, day, log=_say if args.verbose else lambda _m: None
        )
    except (NotPublishedError, RuleError, MailConfigError) as exc:
        _say(f"error: {exc}")
        return 2
    for line in report.lines():
        print(line)
    from avtale.services.signing import remind_signatories

    signing = remind_signatories(open_database(p), load_settings(p))
    for line in signing.lines():
        print(line)
    return 1 if report.sent.failed or signing.problems else 0


def cmd_renew(args: argparse.Namespace) -> int:
    from avtale.dates import today
    from avtale.services.database import open_database
    from avtale.services.renewals import run_auto_renewals

    try:
        day = date.fromisoformat(args.today) if args.today else today()
    except ValueError:
        _say(f"error: --today must be a date such as 2026-03-31, not {args.today!r}")
        return 2
    db = open_database(paths().ensure())
    report = run_auto_renewals(db, day, log=_say if args.verbose else lambda _m: None)
    for name, count in report.counts().items():
        print(f"{name}: {count}")
    for number, reason in report.failed.items():
        print(f"not renewed {number}: {reason}")
    return 1 if report.failed else 0


def _day_option(value: str | None) -> date | None:
    """The day an option gives, None if none; ValueError if it is not a date."""
    return date.fromisoformat(value) if value else None


def _fail(message: str) -> int:
    _say(f"error: {message}")
    return 2


def cmd_invoice_run(args: argparse.Namespace) -> int:
    from avtale.services.database import open_database
    from avtale.services.invoices import BillingSetupError, run_invoices

    try:
        through = _day_option(args.through)
    except ValueError:
        return _fail(f"--through must be a date such as 2026-03-31, not {args.through!r}")
    p = paths().ensure()
    try:
        report = run_invoices(open_database(p), p, through, log=_say if args.verbose else _quiet)
    except BillingSetupError as exc:
        return _fail(str(exc))
    for line in report.lines():
        print(line)
    return 1 if report.failed else 0


def _quiet(_message: str) -> None:
    pass


def cmd_invoice_export(args: argparse.Namespace) -> int:
    from avtale.services.database import open_database
    from avtale.services.invoices import export_ubl

    if args.format != "ubl":
        return _fail(f"unknown format {args.format!r}: use ubl")
    try:
        since = _day_option(args.since)
    except ValueError:
        return _fail(f"--since must be a date such as 2026-03-31, not {args.since!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"{out}: is not a folder")
    export = export_ubl(open_database(paths().ensure()), out, since)
    print(f"wrote {len(export.written)} e-invoices to {out}")
    for number, why in export.skipped.items():
        print(f"skipped {number}: {why}")
    return 0


def cmd_invoice_payments(args: argparse.Namespace) -> int:
    from avtale.services.database import open_database
    from avtale.services.invoices import StatementError, import_payments

    statement = Path(args.file)
    try:
        data = statement.read_bytes()
    except OSError as exc:
        return _fail(f"{statement}: cannot be read ({exc.strerror})")
    try:
        report = import_payments(open_database(paths().ensure()), _cli(), statement.name, data)
    except StatementError as exc:
        return _fail(f"{statement}: {exc}")
    for line in report.lines():
        print(line)
    return 0


def cmd_catalogue_import(args: argparse.Namespace) -> int:
    from avtale.services.catalogue import import_catalogue
    from avtale.services.database import open_database

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _fail(f"{path}: cannot be read ({exc.strerror})")
    outcome = import_catalogue(
        open_database(paths().ensure()), _cli(), path.name, data, dry_run=args.dry_run
    )
    if not outcome.ok:
        for where, problem in outcome.errors.items():
            _say(f"error: {where}: {problem}")
        _say(f"error: {path.name}: nothing imported ({len(outcome.errors)} problems)")
        return 1
    report = outcome.detail["report"]
    print(f"{report.file} ({report.read_as}): {report.rows} rows")
    for change in report.changes:
        before = "" if change.before is None else f"{_shown(change.before)} -> "
        print(f"  {change.code} {change.what} {change.item}: {before}{_shown(change.after)}")
    print(outcome.message)
    for note in report.notes():
        print(note)
    if args.dry_run and report.changed:
        print("dry run: nothing changed")
    return 0


def _shown(value: object) -> str:
    from avtale.repository.audit import jsonable

    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(jsonable(value))


def cmd_invoice_journal(args: argparse.Namespace) -> int:
    from avtale.billing.accounting import AccountingError
    from avtale.billing.exports import write_file
    from avtale.services.database import open_database
    from avtale.services.invoices import BillingError, BillingSetupError, journal

    out = Path(args.out)
    if not out.parent.is_dir():
        return _fail(f"{out}: its folder does not exist")
    p = paths().ensure()
    try:
        content = journal(open_database(p), p, args.period, sie=args.sie)
    except (ValueError, AccountingError, BillingError, BillingSetupError) as exc:
        return _fail(str(exc))
    write_file(out, content)
    print(f"wrote the {'SIE 4 file' if args.sie else 'journal'} of {args.period} to {out}")
    return 0


DEMO_USERS = {
    "leader": "leadership",
    "analyst": "analyst",
    "salesops": "sales_ops",
    "admin": "admin",
}


def create_demo_users(p: Paths) -> dict[str, tuple[str, str]]:
    """One user per role with a fresh random password: {username: (role, password)}; and
    on an empty operational database the built-in library and a few demo agreements."""
    from avtale.services import demo
    from avtale.services.database import open_database

    seeded = demo.seed(open_database(p), DEMO_USERS, owner="salesops")
    if seeded.agreements:
        _say(f"added {seeded.agreements} demo customers with contracts to the operational database")
    return seeded.users


def bill_demo(p: Paths) -> None:
    """The demo customers' invoices, payments and e-invoices, on a register without any."""
    from avtale.services import demo
    from avtale.services.database import open_database

    billed = demo.bill(open_database(p), p)
    if billed is None:
        return
    _say(f"issued {len(billed.invoices)} demo invoices; e-invoices for {billed.einvoices} in "
         f"{p.home / 'outgoing'}")  # fmt: skip
    for line in billed.payments:
        _say(line)


def cmd_demo(args: argparse.Namespace) -> int:
    from avtale.demo_data import write_demo_data
    from avtale.pipeline import ingest

    p = paths().ensure()
    demo_dir = p.home / "demo-data"
    _say(f"writing a demo portfolio of {args.companies} companies to {demo_dir}")
    write_demo_data(demo_dir, companies=args.companies, seed=args.seed, progress=_say)
    report = ingest(p, [demo_dir], progress=_say)
    print(report.format(max_problems=3))
    # Users, a few agreements and their invoices in the operational database before the
    # refresh, so the app's own contracts and the register are in the marts from the start.
    users = create_demo_users(p)
    bill_demo(p)
    if not refresh(p):
        return 1
    if users:
        print("Demo users (log in to the app with these; shown once):")
        for username, (role, password) in users.items():
            print(f"  {username:<10} {role:<11} {password}")
    else:
        print("Demo users exist already (leader, analyst, salesops, admin).")
    if args.no_serve:
        return 0
    # The public pages beside the app, so a demo's signing links open (stopped with it).
    portal = subprocess.Popen(
        portal_command(args.portal_port), env={**os.environ, "AVTALE_HOME": str(p.home)}
    )
    _say(f"signing links and the portal on http://127.0.0.1:{args.portal_port}")
    try:
        return serve_app(args.port)
    finally:
        portal.terminate()
        try:
            portal.wait(timeout=10)
        except subprocess.TimeoutExpired:
            portal.kill()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avtale", description="Contracts and subscription analytics. Data: $AVTALE_HOME."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="demo data in, warehouse built, app served")
    demo.add_argument("--companies", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--port", type=int, default=8501)
    demo.add_argument("--portal-port", type=int, default=8502)
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

    refresh_ = sub.add_parser(
        "refresh",
        help="ingest the inbox, dbt build, publish (by the folder's warm worker when one runs)",
    )
    refresh_.add_argument(
        "--here", action="store_true", help="refresh in this process even if a worker runs"
    )
    refresh_.add_argument(
        "--rebuild",
        action="store_true",
        help="build every model even if nothing new arrived (after editing the warehouse by hand)",
    )
    refresh_.set_defaults(func=cmd_refresh)

    worker = sub.add_parser(
        "worker",
        help="keep Dagster and dbt loaded and refresh on request (`make dev` starts one)",
    )
    worker.add_argument(
        "--refresh-first", action="store_true", help="refresh once at start, then wait"
    )
    worker.set_defaults(func=cmd_worker)

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
        "set", help="set where a user's reminders go (an empty value clears it) and their locale"
    )
    user_set.add_argument("username")
    user_set.add_argument("--email", help="the address reminders are mailed to")
    user_set.add_argument("--manager", help="the username unacknowledged reminders go to")
    user_set.add_argument(
        "--crm-owner", help="the owner name or id CRM exports give this user's contracts"
    )
    user_set.add_argument(
        "--locale",
        choices=USER_LOCALES,
        help="how the app shows this user numbers, dates and product names (default nb)",
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

    invoice = sub.add_parser(
        "invoice", help="the invoice register: run, e-invoices, payments, books"
    )
    invoice_sub = invoice.add_subparsers(dest="invoice_command", required=True)
    invoice_run = invoice_sub.add_parser(
        "run", help="issue the invoices and credit notes the contracts call for (as the daily job)"
    )
    invoice_run.add_argument("--through", help="bill periods starting by this day (YYYY-MM-DD)")
    invoice_run.add_argument("-v", "--verbose", action="store_true", help="log every problem")
    invoice_run.set_defaults(func=cmd_invoice_run)
    invoice_export = invoice_sub.add_parser(
        "export", help="write one e-invoice file per invoice and credit note"
    )
    invoice_export.add_argument("--format", required=True, help="ubl (Peppol BIS Billing 3.0)")
    invoice_export.add_argument("--out", required=True, help="the folder to write to")
    invoice_export.add_argument("--since", help="issued on or after this day (YYYY-MM-DD)")
    invoice_export.set_defaults(func=cmd_invoice_export)
    invoice_payments = invoice_sub.add_parser(
        "payments", help="import a bank statement (camt.053 XML or CSV) and match its payments"
    )
    invoice_payments.add_argument("file")
    invoice_payments.set_defaults(func=cmd_invoice_payments)
    invoice_journal = invoice_sub.add_parser(
        "journal", help="the accounting export of a month: journal CSV or SIE 4"
    )
    invoice_journal.add_argument("--period", required=True, help="the month (YYYY-MM)")
    invoice_journal.add_argument("--out", required=True, help="the file to write")
    invoice_journal.add_argument("--sie", action="store_true", help="SIE 4 instead of CSV")
    invoice_journal.set_defaults(func=cmd_invoice_journal)

    catalogue = sub.add_parser("catalogue", help="the product catalogue and its price lists")
    catalogue_sub = catalogue.add_subparsers(dest="catalogue_command", required=True)
    catalogue_import = catalogue_sub.add_parser(
        "import",
        help="create or update products and prices from a CSV (docs/formats.md); all or nothing",
    )
    catalogue_import.add_argument("file")
    catalogue_import.add_argument(
        "--dry-run", action="store_true", help="say what would change, change nothing"
    )
    catalogue_import.set_defaults(func=cmd_catalogue_import)

    app = sub.add_parser("app", help="serve the Streamlit app")
    app.add_argument("--port", type=int, default=8501)
    app.set_defaults(func=cmd_app)

    portal = sub.add_parser(
        "portal", help="serve the public signing and customer-portal pages (own port)"
    )
    portal.add_argument("--port", type=int, default=8502)
    portal.set_defaults(func=cmd_portal)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:  # every command checks every setting first: a mistake stops it here, named
        load_settings()
    except SettingsError as problem:
        for line in problem.problems:
            _say(f"error: {line}")
        return 2
    # What this run and the app or Dagster it starts write is private (avtale.settings);
    # put back after, for a caller running main() in its own process.
    umask = os.umask(PRIVATE_UMASK)
    try:
        return int(args.func(args))
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
