"""A proposal ready to sign in a data folder of its own, and the mail it sends: shared by
the signing service tests and the browser test of the public pages."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from sqlalchemy import select

from avtale.repository import agreements, auth, generation, library
from avtale.repository.db import session_scope
from avtale.repository.models import User
from avtale.repository.service import add_contact, create_customer
from avtale.services.database import Database
from avtale.settings import Paths, Settings, load_settings
from tests.test_agreements import TODAY, assist_lines

SALES = "sally"
CUSTOMER_SIGNER = "ase.berg@fjordkraft.example"
SELLER_SIGNER = "kari.nordmann@avtale.example"
LINK = re.compile(r"(https?://[^/\s]+)/sign/([A-Za-z0-9_-]{20,100})")
CODE = re.compile(r"one-time code is (\d{6})")


@dataclass(frozen=True)
class Sent:
    to: str
    subject: str
    body: str
    attachments: dict[str, bytes]


def settings_for(home: Path) -> Settings:
    return load_settings(Paths(home).ensure(), {})


def ready_proposal(db: Database, paths: Paths) -> str:
    """A new agreement for a customer whose CEO may sign, its final PDF made: its number."""
    with session_scope(db.engine) as session:
        if session.scalar(select(User).where(User.username == SALES)) is None:
            auth.create_user(session, "setup", SALES, "fjord-contracts-2026", "sales_ops")
        library.install_defaults(session)
        customer = create_customer(
            session, SALES, {"name": "Fjordkraft Regnskap AS", "org_number": "912 345 688"}
        )
        add_contact(
            session,
            SALES,
            customer,
            {"name": "Åse Berg", "email": CUSTOMER_SIGNER, "phone": "912 34 568", "may_sign": True},
        )
        add_contact(session, SALES, customer, {"name": "Per Regnskap", "email": "per@x.example"})
        proposal = agreements.start_proposal(session, SALES, customer, today=TODAY)
        agreements.update_proposal(session, SALES, proposal, lines=assist_lines(5))
        generation.generate_for_proposal(session, SALES, paths, proposal, "pdf")
        return proposal.number


def outbox(paths: Paths) -> list[Sent]:
    """Every message in the data folder's outbox, oldest first."""
    found = []
    for path in sorted((paths.home / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes())
        found.append(_sent(message))
    return found


def _sent(message: Message) -> Sent:
    body, attachments = "", {}
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            body += part.get_payload(decode=True).decode()
        elif part.get_filename():
            attachments[part.get_filename()] = part.get_payload(decode=True)
    return Sent(str(message["To"]), str(message["Subject"]), body, attachments)


def link_for(paths: Paths, to: str) -> str:
    """The token of the newest signing link mailed to ``to``."""
    tokens = [m.group(2) for s in outbox(paths) if s.to == to for m in [LINK.search(s.body)] if m]
    assert tokens, f"no signing link was mailed to {to}"
    return tokens[-1]


def code_for(paths: Paths, to: str) -> str:
    codes = [m.group(1) for s in outbox(paths) if s.to == to for m in [CODE.search(s.body)] if m]
    assert codes, f"no code was mailed to {to}"
    return codes[-1]
