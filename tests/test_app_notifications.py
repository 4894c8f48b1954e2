"""The bell and the Notifications page as a user sees them (SPEC A2)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from avtale.notify import reminders
from avtale.notify.config import ReminderConfig
from avtale.notify.mail import MailSettings, OutboxMailer
from avtale.repository.db import make_engine, session_scope
from avtale.repository.models import Reminder, User
from avtale.settings import STREAMLIT_APP
from tests.app_ops_fixtures import log_in, make_template, use_database

TODAY = date(2026, 3, 2)
# (what the frame has, what it gets in front of it)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def app(tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app's copy, on a database where sally has one reminder sent to her."""
    home = tmp_path / "home"
    home.mkdir()
    url = use_database(home, monkeypatch, template)
    engine = make_engine(url)
    config = ReminderConfig(
        lead_days={"notice": (30,)}, escalate_after_days=3, fallback_recipient="ada"
    )
    with session_scope(engine) as session:
        sally = session.scalar(select(User).where(User.username == "sally"))
        assert sally is not None
        reminders.set_contact_details(session, "ada", sally, {"email": "sally@example.no"})
        row = {
            "contract_id": "hubspot:7",
            "customer_id": "hubspot:c7",
            "customer_name": "Fjordkraft Regnskap AS",
            "owner": "sally",
            "deadline_type": "notice",
            "deadline_date": TODAY + timedelta(days=20),
        }
        reminders.queue_due(session, [row], TODAY, config)
    reminders.send_pending(engine, OutboxMailer(MailSettings(outbox=home / "outbox")), today=TODAY)
    engine.dispose()
    return STREAMLIT_APP


def bell_label(at: AppTest) -> str:
    links = [link for link in at.sidebar.get("page_link") if "Notifications" in link.proto.label]
    assert len(links) == 1
    return str(links[0].proto.label)


def test_the_bell_counts_the_unread_and_acknowledging_clears_it(app: Path) -> None:
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "sally")
    assert not at.exception, at.exception
    assert bell_label(at) == "Notifications (1 unread)"

    at.switch_page("operations/pages/notifications.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Notifications (1 unread)"
    assert any(md.value.startswith("**Notice deadline 22 Mar 2026") for md in at.markdown)
    (acknowledge,) = [button for button in at.button if button.label == "Acknowledge"]
    acknowledge.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Notifications"
    assert any("Acknowledged" in message.value for message in at.success)
    assert bell_label(at) == "Notifications"
    assert not [button for button in at.button if button.label == "Acknowledge"]
    engine = make_engine(os.environ["AVTALE_DATABASE_URL"])
    with session_scope(engine, readonly=True) as session:
        (reminder,) = session.scalars(select(Reminder))
        assert (reminder.status, reminder.acknowledged_by) == ("acknowledged", "sally")
    engine.dispose()


def test_mark_all_read_reads_but_does_not_acknowledge(app: Path) -> None:
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "sally")
    at.switch_page("operations/pages/notifications.py").run()
    at.button(key="notifications_all_submit").click().run()
    assert not at.exception, at.exception
    assert any("Marked 1 notification read" in message.value for message in at.success)
    assert bell_label(at) == "Notifications"
    # Read is not "in hand": the reminder can still be acknowledged, and escalates if not.
    assert [button.label for button in at.main.button] == ["Acknowledge"]


def test_others_see_no_notifications_of_sally(app: Path) -> None:
    at = log_in(AppTest.from_file(str(app), default_timeout=30).run(), "leo")
    assert bell_label(at) == "Notifications"
    at.switch_page("operations/pages/notifications.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Notifications"
    assert "Nothing yet" in at.caption[0].value
