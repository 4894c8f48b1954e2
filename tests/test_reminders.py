"""Reminders before contract deadlines (SPEC A2) on SQLite and PostgreSQL: when each is
due, who gets it, that it is queued and sent once, escalated once when ignored, and that
acknowledging it stops the escalation. The Dagster job runs twice without sending twice."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from sqlalchemy import Engine, func, select

from avtale.notify import reminders
from avtale.notify.config import CONFIG_FILE, ReminderConfig, load_config
from avtale.notify.deadlines import COLUMNS as DEADLINE_COLUMNS
from avtale.notify.deadlines import read_deadlines
from avtale.notify.mail import MailSettings
from avtale.repository.db import session_scope
from avtale.repository.models import AuditLog, Notification, Reminder, User
from avtale.rules.loading import RuleError
from avtale.serving import NotPublishedError
from tests.conftest import Database
from tests.daily_chain import evaluate, publish, today_in, zone_where_it_is

TODAY = date(2026, 3, 2)
CONFIG = ReminderConfig(
    lead_days={"notice": (90, 30, 7), "renegotiation_window": (7, 0), "expiry": (90, 30)},
    escalate_after_days=3,
    fallback_recipient="ada",
)


def deadline(
    contract: str = "hubspot:1",
    kind: str = "notice",
    days_ahead: int = 30,
    owner: str | None = "sally",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "contract_id": contract,
        "customer_id": "hubspot:c" + contract.rsplit(":", 1)[-1],
        "customer_name": "Fjordkraft Regnskap AS",
        "owner": owner,
        "deadline_type": kind,
        "deadline_date": TODAY + timedelta(days=days_ahead),
        "auto_renew": True,
        "contract_mrr": 1200.0,
        **extra,
    }


def add_users(engine: Engine) -> None:
    # Straight into the table: hashing a real password per user costs ~0.2 s each.
    with session_scope(engine) as session:
        for username, role, email, manager, crm_owner, active in (
            ("ada", "admin", "ada@example.no", None, None, True),
            ("leo", "leadership", "leo@example.no", None, None, True),
            ("sally", "sales_ops", "sally@example.no", "leo", "Kari Nordmann", True),
            ("sam", "sales_ops", None, "leo", "owner-4711", True),
            ("olga", "sales_ops", "olga@example.no", "leo", "Olga Old", False),
        ):
            session.add(
                User(
                    username=username,
                    password_hash="not-a-hash",
                    role=role,
                    email=email,
                    manager=manager,
                    crm_owner=crm_owner,
                    active=active,
                )
            )


@dataclass
class FakeMailer:
    """Keeps what it is given; ``refuse`` names recipients the server would refuse."""

    settings: MailSettings = field(default_factory=lambda: MailSettings(outbox=Path("/nowhere")))
    sent: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    down: bool = False

    def send(self, message: EmailMessage) -> str:
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        if message["To"] in self.refuse:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})
        self.sent.append(message)
        return "memory"

    def close(self) -> None:
        return None


@pytest.fixture
def people(db: Database) -> Database:
    add_users(db.engine)
    return db


def queue(db: Database, rows: list[dict[str, Any]], today: date = TODAY) -> reminders.QueueReport:
    with session_scope(db.engine) as session:
        return reminders.queue_due(session, rows, today, CONFIG)


def escalate(db: Database, today: date) -> reminders.EscalationReport:
    with session_scope(db.engine) as session:
        return reminders.escalate(session, today, CONFIG)


def all_reminders(db: Database) -> list[Reminder]:
    with session_scope(db.engine, readonly=True) as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def count(db: Database, model: Any, *where: Any) -> int:
    with session_scope(db.engine, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- when a reminder is due --------------------------------------------------------------


@pytest.mark.parametrize(
    ("leads", "days_ahead", "due"),
    [
        ((90, 30, 7), 91, None),  # no window open yet
        ((90, 30, 7), 90, 90),  # the first day of the 90-day window
        ((90, 30, 7), 31, 90),
        ((90, 30, 7), 30, 30),
        ((90, 30, 7), 8, 30),
        ((90, 30, 7), 7, 7),
        ((90, 30, 7), 0, 7),  # the deadline itself is still in the window
        ((90, 30, 7), -1, None),  # past: too late to remind
        ((7, 0), 8, None),
        ((7, 0), 1, 7),
        ((7, 0), 0, 0),  # a lead of 0 is the day itself
        ((30,), 31, None),
        ((30,), 30, 30),
        ((), 0, None),
    ],
)
def test_the_closest_open_window_decides_which_reminder_is_due(
    leads: tuple[int, ...], days_ahead: int, due: int | None
) -> None:
    deadline_date = TODAY + timedelta(days=days_ahead)
    assert reminders.due_lead(deadline_date, TODAY, leads) == due


def test_queueing_follows_the_windows_of_each_deadline_type(people: Database) -> None:
    rows = [
        deadline("hubspot:1", "notice", 95),  # nothing yet
        deadline("hubspot:2", "notice", 60),  # 90-day window
        deadline("hubspot:3", "notice", 5),  # 7-day window only, not also 90 and 30
        deadline("hubspot:4", "renegotiation_window", 0),
        deadline("hubspot:5", "expiry", 30),
        deadline("hubspot:6", "discount_end", 1),  # no lead times configured: no reminder
        deadline("hubspot:7", "expiry", -2),  # past
    ]
    report = queue(people, rows)
    assert report.queued == 4
    assert report.by_type == {"notice": 2, "renegotiation_window": 1, "expiry": 1}
    assert {(r.contract_id, r.lead_days) for r in all_reminders(people)} == {
        ("hubspot:2", 90),
        ("hubspot:3", 7),
        ("hubspot:4", 0),
        ("hubspot:5", 30),
    }


def test_queueing_twice_gives_the_same_rows(people: Database) -> None:
    rows = [deadline("hubspot:1", "notice", 20), deadline("hubspot:2", "expiry", 70)]
    first = queue(people, rows)
    before = [(r.id, r.message_id, r.recipient, r.subject) for r in all_reminders(people)]
    audits = count(people, AuditLog)
    second = queue(people, rows)
    later = queue(people, rows, TODAY + timedelta(days=5))  # same windows, later day
    assert (first.queued, second.queued, later.queued) == (2, 0, 0)
    assert second.already == 2
    assert [(r.id, r.message_id, r.recipient, r.subject) for r in all_reminders(people)] == before
    assert count(people, AuditLog) == audits
    # The next window is a new reminder with its own Message-ID.
    assert queue(people, rows, TODAY + timedelta(days=14)).queued == 1


def test_a_concurrent_insert_of_the_same_key_is_skipped_not_an_error(people: Database) -> None:
    row = deadline("hubspot:1", "notice", 20)
    with session_scope(people.engine) as session:
        # Another run queued it after this one read the existing keys.
        session.add(
            Reminder(
                contract_id="hubspot:1",
                deadline_type="notice",
                deadline_date=row["deadline_date"],
                lead_days=30,
                kind="reminder",
                recipient="sally",
                message_id="<other-run@test>",
                subject="s",
                body="b",
            )
        )
        session.flush()
        report = reminders.queue_due(session, [row, deadline("hubspot:2")], TODAY, CONFIG)
    # Only the savepoint of the duplicate rolled back; the other row is in.
    assert (report.queued, report.already) == (1, 1)
    assert [r.contract_id for r in all_reminders(people)] == ["hubspot:1", "hubspot:2"]


@pytest.mark.parametrize(
    ("owner", "recipient"),
    [
        ("sally", "sally"),
        ("Sally ", "sally"),  # usernames are lower case; exports are not
        ("Kari Nordmann", "sally"),  # the CRM's name for sally
        ("kari nordmann", "sally"),
        ("owner-4711", "sam"),  # an owner id as HubSpot exports it
        ("Olga Old", "ada"),  # a deactivated user gets nothing: the fallback does
        ("Nobody Known", "ada"),
        (None, "ada"),
    ],
)
def test_the_owner_finds_their_user_or_the_fallback_recipient(
    people: Database, owner: str | None, recipient: str
) -> None:
    queue(people, [deadline(owner=owner)])
    assert [r.recipient for r in all_reminders(people)] == [recipient]


# --- sending -------------------------------------------------------------------------------


def test_sending_mails_each_pending_reminder_once_with_a_notification(people: Database) -> None:
    queue(people, [deadline("hubspot:1", owner="sally"), deadline("hubspot:2", owner="sam")])
    mailer = FakeMailer()
    report = reminders.send_pending(people.engine, mailer, today=TODAY)
    assert (len(report.emailed), report.in_app_only) == (1, ["sam"])  # sam has no address
    (message,) = mailer.sent
    sent = all_reminders(people)
    assert message["To"] == "sally@example.no"
    assert message["Message-ID"] == sent[0].message_id
    assert [(r.status, r.sent_on, r.emailed_to) for r in sent] == [
        ("sent", TODAY, "sally@example.no"),
        ("sent", TODAY, None),
    ]
    with session_scope(people.engine, readonly=True) as session:
        assert [n.username for n in reminders.notifications_for(session, "sally")] == ["sally"]
        assert reminders.unread_count(session, "sam") == 1
    assert count(people, AuditLog, AuditLog.action == "reminder.send") == 2
    again = reminders.send_pending(people.engine, mailer, today=TODAY)
    assert again.sent == 0 and len(mailer.sent) == 1
    assert count(people, Notification) == 2


def test_a_refused_message_stays_pending_and_an_unreachable_server_stops_the_run(
    people: Database,
) -> None:
    queue(people, [deadline("hubspot:1", owner="sally"), deadline("hubspot:2", owner="ada")])
    refusing = FakeMailer(refuse={"sally@example.no"})
    report = reminders.send_pending(people.engine, refusing, today=TODAY)
    assert list(report.failed) == [all_reminders(people)[0].message_id]
    assert report.stopped is None and len(report.emailed) == 1
    assert [r.status for r in all_reminders(people)] == ["pending", "sent"]

    queue(people, [deadline("hubspot:3", owner="ada")])
    down = reminders.send_pending(people.engine, FakeMailer(down=True), today=TODAY)
    assert down.stopped and len(down.failed) == 1  # stopped at the first, did not try on
    assert [r.status for r in all_reminders(people)] == ["pending", "sent", "pending"]
    assert count(people, Notification) == 1


# --- escalation and acknowledgement ---------------------------------------------------


def sent_day(db: Database, day: date, rows: list[dict[str, Any]]) -> FakeMailer:
    queue(db, rows, day)
    mailer = FakeMailer()
    reminders.send_pending(db.engine, mailer, today=day)
    return mailer


def test_an_ignored_reminder_is_escalated_to_the_manager_once_after_n_days(
    people: Database,
) -> None:
    sent_day(people, TODAY, [deadline("hubspot:1", owner="sally", days_ahead=30)])
    assert escalate(people, TODAY + timedelta(days=2)).escalated == 0
    assert escalate(people, TODAY + timedelta(days=3)).escalated == 1
    assert escalate(people, TODAY + timedelta(days=3)).escalated == 0
    assert escalate(people, TODAY + timedelta(days=9)).escalated == 0
    original, escalation = all_reminders(people)
    assert (escalation.kind, escalation.recipient, escalation.escalation_of) == (
        "escalation",
        "leo",
        original.id,
    )
    assert escalation.message_id != original.message_id
    assert escalation.subject.startswith("Not acknowledged by sally: Notice deadline 01 Apr 2026")
    assert "(in 27 days)" in escalation.subject and "> Hello sally," in escalation.body

    mailer = FakeMailer()
    reminders.send_pending(people.engine, mailer, today=TODAY + timedelta(days=3))
    assert [m["To"] for m in mailer.sent] == ["leo@example.no"]
    # An escalation is not escalated in turn.
    assert escalate(people, TODAY + timedelta(days=30)).escalated == 0


def test_without_a_manager_the_fallback_gets_the_escalation_and_nobody_escalates_to_itself(
    people: Database,
) -> None:
    sent_day(
        people,
        TODAY,
        [deadline("hubspot:1", owner="leo"), deadline("hubspot:2", owner="Nobody Known")],
    )
    report = escalate(people, TODAY + timedelta(days=3))
    assert (report.escalated, report.nobody_to_escalate_to) == (1, 1)
    assert [(r.kind, r.recipient) for r in all_reminders(people)][-1] == ("escalation", "ada")


def test_acknowledging_stops_the_escalation_and_reads_the_notification(people: Database) -> None:
    sent_day(people, TODAY, [deadline("hubspot:1", owner="sally")])
    (reminder,) = all_reminders(people)
    with session_scope(people.engine) as session:
        with pytest.raises(reminders.ValidationError, match="not addressed to you"):
            reminders.acknowledge(session, "sam", session.get_one(Reminder, reminder.id))
        done = reminders.acknowledge(session, "sally", session.get_one(Reminder, reminder.id))
        assert [r.status for r in done] == ["acknowledged"]
        assert reminders.unread_count(session, "sally") == 0
    with session_scope(people.engine) as session, pytest.raises(reminders.ValidationError):
        reminders.acknowledge(session, "sally", session.get_one(Reminder, reminder.id))
    assert escalate(people, TODAY + timedelta(days=3)).escalated == 0
    assert count(people, AuditLog, AuditLog.action == "reminder.acknowledge") == 1
    assert count(people, AuditLog, AuditLog.action == "notification.read") == 1


def test_the_manager_acknowledging_an_escalation_settles_the_whole_deadline(
    people: Database,
) -> None:
    sent_day(people, TODAY, [deadline("hubspot:1", owner="sally")])
    later = TODAY + timedelta(days=3)
    escalate(people, later)
    reminders.send_pending(people.engine, FakeMailer(), today=later)
    original, escalation = all_reminders(people)
    with session_scope(people.engine) as session:
        done = reminders.acknowledge(session, "leo", session.get_one(Reminder, escalation.id))
    assert {r.id for r in done} == {original.id, escalation.id}
    with session_scope(people.engine, readonly=True) as session:
        assert reminders.unread_count(session, "sally") == 0
        assert reminders.unread_count(session, "leo") == 0


def test_notifications_list_newest_first_and_mark_read_touches_only_ones_own(
    people: Database,
) -> None:
    sent_day(people, TODAY, [deadline("hubspot:1", owner="sam")])
    sent_day(people, TODAY + timedelta(days=1), [deadline("hubspot:2", owner="sam")])
    sent_day(people, TODAY, [deadline("hubspot:3", owner="sally")])
    with session_scope(people.engine) as session:
        listed = reminders.notifications_for(session, "sam")
        assert [n.body.count("hubspot:2") > 0 for n in listed] == [True, False]
        assert reminders.mark_read(session, "sam", [listed[1].id]) == 1
        assert reminders.unread_count(session, "sam") == 1
        assert reminders.mark_read(session, "sam") == 1
        assert reminders.mark_read(session, "sam") == 0
        assert reminders.unread_count(session, "sally") == 1


def test_contact_details_are_validated_and_audited(people: Database) -> None:
    with session_scope(people.engine) as session:
        sam = session.scalar(select(User).where(User.username == "sam"))
        assert sam is not None
        with pytest.raises(reminders.ValidationError) as refused:
            reminders.set_contact_details(
                session, "ada", sam, {"email": "not an address", "manager": "nobody"}
            )
        assert set(refused.value.errors) == {"email", "manager"}
        reminders.set_contact_details(
            session, "ada", sam, {"email": "sam@example.no", "manager": "Leo"}
        )
        assert (sam.email, sam.manager, sam.crm_owner) == ("sam@example.no", "leo", "owner-4711")
    assert count(people, AuditLog, AuditLog.action == "user.update") == 1


def test_the_command_line_sets_contact_details_and_reminds(
    people: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from avtale.cli import main

    home = tmp_path / "home"
    home.mkdir()
    publish_deadlines(
        home / "serving.duckdb",
        "contract_id, customer_id, owner, deadline_type, deadline_date, auto_renew, contract_mrr",
        ["('hubspot:1', 'hubspot:c1', 'owner-4711', 'notice', DATE '2026-03-20', true, 10.0)"],
    )
    monkeypatch.setenv("AVTALE_HOME", str(home))
    monkeypatch.setenv("AVTALE_DATABASE_URL", people.url)
    monkeypatch.delenv("AVTALE_SMTP_HOST", raising=False)
    assert main(["user", "set", "sam", "--email", "sam@example.no"]) == 0
    assert main(["user", "set", "sam", "--manager", "nobody"]) == 1
    assert "manager: there is no user nobody" in capsys.readouterr().err
    assert main(["remind", "--today", TODAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "queued 1 reminders (0 were queued before, 0 to the fallback recipient)" in out
    assert "sent 1: 1 by e-mail via outbox" in out
    assert main(["remind", "--today", TODAY.isoformat()]) == 0
    assert "sent 0:" in capsys.readouterr().out
    assert len(list((home / "outbox").iterdir())) == 1


# --- configuration and the published deadlines -----------------------------------------


def test_the_version_controlled_configuration_loads(tmp_path: Path) -> None:
    config = load_config(CONFIG_FILE)
    assert config.lead_days["notice"] == (90, 30, 7)
    assert config.lead_days["renegotiation_window"] == (7, 0)
    assert config.horizon == 90 and config.escalate_after_days >= 1
    bad = tmp_path / "reminders.yaml"
    bad.write_text(
        "lead_days: {notise: [30]}\nescalate_after_days: 3\nfallback_recipient: ada\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError, match="lead_days.notise: unknown key"):
        load_config(bad)


def publish_deadlines(serving: Path, columns: str, rows: list[str]) -> None:
    """A published ``contract_deadlines`` of the mart's shape, ``columns`` from ``rows`` and
    the others empty."""
    given = [column.strip() for column in columns.split(",")]
    shape = ", ".join(c if c in given else f"NULL AS {c}" for c in DEADLINE_COLUMNS)
    con = duckdb.connect(str(serving))
    con.execute(
        f"CREATE TABLE contract_deadlines AS SELECT {shape} "
        f"FROM (VALUES {', '.join(rows)}) t({columns})"
    )
    con.close()


def test_deadlines_are_read_from_the_published_mart(tmp_path: Path) -> None:
    with pytest.raises(NotPublishedError):
        read_deadlines(tmp_path / "serving.duckdb", TODAY, 90)
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(NotPublishedError, match="has no table contract_deadlines"):
        read_deadlines(tmp_path / "empty.duckdb", TODAY, 90)
    serving = tmp_path / "serving.duckdb"
    publish_deadlines(
        serving,
        "contract_id, customer_id, customer_name, owner, source_system, deadline_type, "
        "deadline_date, auto_renew, contract_mrr, mrr_at_stake, detail",
        [
            "('app:K-1', 'app:C-1', 'Øresund AS', 'sally', 'app', 'price_adjustment', "
            "DATE '2026-03-02', false, 99.5, 12.25, 'CPI 3.1 %')",
            "('app:K-2', 'app:C-1', 'Øresund AS', 'sally', 'app', 'notice', "
            "DATE '2026-09-20', true, 10.0, null, 'Notice')",
        ],
    )
    (row,) = read_deadlines(serving, TODAY, 90)  # the second is beyond the horizon
    assert row == {
        "contract_id": "app:K-1",
        "deadline_type": "price_adjustment",
        "deadline_date": date(2026, 3, 2),
        "customer_id": "app:C-1",
        "customer_name": "Øresund AS",
        "owner": "sally",
        "source_system": "app",
        "auto_renew": False,
        "contract_mrr": 99.5,
        "mrr_at_stake": 12.25,
        "detail": "CPI 3.1 %",
    }


# --- the Dagster job ------------------------------------------------------------------------


def test_the_dagster_job_run_twice_sends_nothing_more(
    people: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_project.definitions import defs
    from dagster_project.defs.resources import AvtaleHome

    home = tmp_path / "home"
    home.mkdir()
    publish_deadlines(
        home / "serving.duckdb",
        "contract_id, customer_id, owner, deadline_type, deadline_date, auto_renew, contract_mrr",
        [
            "('hubspot:1', 'hubspot:c1', 'sally', 'notice', DATE '2026-03-20', true, 10.0)",
            "('hubspot:2', 'hubspot:c2', 'Kari Nordmann', 'expiry', DATE '2026-04-20', true, 10.0)",
            "('hubspot:3', 'hubspot:c3', 'sam', 'notice', DATE '2026-03-05', true, 10.0)",
        ],
    )
    monkeypatch.setenv("AVTALE_DATABASE_URL", people.url)
    monkeypatch.delenv("AVTALE_SMTP_HOST", raising=False)
    (home / "reminders.yaml").write_text(
        "lead_days: {notice: [30, 7], expiry: [90]}\n"
        "escalate_after_days: 3\nfallback_recipient: ada\n",
        encoding="utf-8",
    )
    job = defs.resolve_job_def("reminders")
    run_config = {"ops": {"queue_reminders": {"config": {"today": TODAY.isoformat()}}}}

    def run() -> dict[str, Any]:
        result = job.execute_in_process(
            run_config=run_config, resources={"avtale": AvtaleHome(home=str(home))}
        )
        assert result.success
        return {
            str(event.step_key): event.event_specific_data.metadata  # type: ignore[union-attr]
            for event in result.all_events
            if event.event_type_value == "STEP_OUTPUT"
        }

    first = run()
    assert first["queue_reminders"]["queued"].value == 3
    assert first["send_reminders"]["sent"].value == 3
    assert first["send_reminders"]["emailed"].value == 2  # sam has no address
    outbox = sorted(p.name for p in (home / "outbox").iterdir())
    assert len(outbox) == 2

    second = run()
    assert second["queue_reminders"]["queued"].value == 0
    assert second["escalate_reminders"]["escalated"].value == 0
    assert second["send_reminders"]["sent"].value == 0
    assert sorted(p.name for p in (home / "outbox").iterdir()) == outbox
    assert count(people, Reminder, Reminder.status == "sent") == 3


def test_the_days_reminders_come_from_a_publish_after_its_renewals(
    people: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster_project.definitions import defs
    from dagster_project.defs.daily import DAY_TAG
    from dagster_project.defs.resources import AvtaleHome

    zone = zone_where_it_is(10)
    monkeypatch.setenv("AVTALE_TIMEZONE", zone)
    monkeypatch.setenv("AVTALE_DATABASE_URL", people.url)
    monkeypatch.delenv("AVTALE_SMTP_HOST", raising=False)
    day = today_in(zone)
    home = tmp_path / "home"
    home.mkdir()
    # The deadlines mart as dbt builds it, which every publish copies into the serving copy.
    publish_deadlines(
        home / "marts.duckdb",
        "contract_id, customer_id, owner, deadline_type, deadline_date, auto_renew, contract_mrr",
        [
            f"('hubspot:1', 'hubspot:c1', 'sally', 'notice', DATE '{day + timedelta(days=5)}', "
            "true, 10.0)"
        ],
    )
    (home / "reminders.yaml").write_text(
        "lead_days: {notice: [30, 7]}\nescalate_after_days: 3\nfallback_recipient: ada\n",
        encoding="utf-8",
    )
    instance = dg.DagsterInstance.ephemeral()
    remind_sensor = defs.resolve_sensor_def("remind_after_renewals_published")
    assert remind_sensor.job_name == "reminders"
    assert remind_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    resources = {"avtale": AvtaleHome(home=str(home))}
    waiting = f"waiting for a publish after the renewals of {day}"

    publish(instance, home)  # the morning refresh: the day's renewals have not run yet
    assert evaluate(remind_sensor, instance) == waiting
    renew = evaluate(defs.resolve_sensor_def("renew_after_morning_publish"), instance)
    assert isinstance(renew, dg.RunRequest)
    renewals = defs.resolve_job_def("renewals").execute_in_process(
        run_config=renew.run_config, tags=renew.tags, instance=instance, resources=resources
    )
    assert renewals.success
    # The morning's publish began before the renewals ended: still not the one.
    assert evaluate(remind_sensor, instance) == waiting

    publish(instance, home)  # the refresh the renewals started
    request = evaluate(remind_sensor, instance)
    assert isinstance(request, dg.RunRequest)
    assert (request.run_key, request.tags[DAY_TAG]) == (f"reminders-{day}", day.isoformat())
    reminders_run = defs.resolve_job_def("reminders").execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance, resources=resources
    )
    assert reminders_run.success
    assert reminders_run.output_for_node("send_reminders") == 1
    # Later publishes the same day ask for the same run: Dagster starts one per run key.
    publish(instance, home)
    again = evaluate(remind_sensor, instance)
    assert isinstance(again, dg.RunRequest) and again.run_key == request.run_key


def test_a_reminders_detail_reads_as_the_mails_english() -> None:
    """The deadline's detail comes from dbt with ISO days and plain amounts; the mail writes
    them as the rest of its English does (``31 Jan 2027``), not ``2027-01-31``."""
    from avtale.notify.texts import reminder_text

    row = {
        "contract_id": "hubspot:7",
        "customer_name": "Fjord AS",
        "deadline_type": "notice",
        "deadline_date": date(2026, 10, 31),
        "mrr_at_stake": 100.0,
        "detail": "Last day to give notice (3-month notice period); the term ends 2027-01-31",
    }
    _, body = reminder_text(row, TODAY, "sally", 3)
    assert "the term ends 31 Jan 2027" in body
    assert "2027-01-31" not in body
