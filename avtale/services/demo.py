"""The demo's operational data: one user per role with a fresh random password, the
built-in library, and on an empty database a few agreements to try the flow on."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.demo_agreements import ACTOR, seed_agreements
from avtale.repository import auth, library
from avtale.repository.models import User
from avtale.services.database import Database
from avtale.services.unit_of_work import MANAGE_USERS, Outcome, System, write


@dataclass(frozen=True)
class DemoSeed:
    agreements: int  # demo customers added, each with a contract
    # username -> (role, password) of the users made now; existing ones keep theirs.
    users: dict[str, tuple[str, str]]


def seed(db: Database, users: Mapping[str, str], owner: str) -> DemoSeed:
    """The users (username -> role) that do not exist yet, the built-in library and the demo
    agreements (owned by ``owner``), in one transaction."""

    def work(session: Session) -> Outcome:
        library.install_defaults(session)
        added = seed_agreements(session, owner=owner)
        created: dict[str, tuple[str, str]] = {}
        for username, role in users.items():
            if session.scalar(select(User.id).where(User.username == username)) is None:
                password = secrets.token_urlsafe(12)
                auth.create_user(session, ACTOR, username, password, role)
                created[username] = (role, password)
        return Outcome(detail={"seed": DemoSeed(added, created)})

    outcome = write(db, System(ACTOR), MANAGE_USERS, work)
    if not outcome.ok:  # a built-in user or role the rules refuse: a bug, not user input
        raise RuntimeError(f"demo data refused: {outcome.errors}")
    seeded: DemoSeed = outcome.detail["seed"]
    return seeded
