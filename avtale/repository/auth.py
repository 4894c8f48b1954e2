"""Local users: argon2 password hashes, roles and what each role may do (SPEC X2)."""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository.audit import record, snapshot
from avtale.repository.models import ROLES, User
from avtale.repository.validation import raise_if, require_actor

Permission = Literal[
    "read", "edit_agreements", "approve_discounts", "manage_users", "manage_settings"
]

# Discounts above the threshold are approved by sales leadership (seed 001, SPEC C3),
# never by sales ops who made the proposal.
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "leadership": frozenset({"read", "approve_discounts"}),
    "analyst": frozenset({"read"}),
    "sales_ops": frozenset({"read", "edit_agreements"}),
    "admin": frozenset(
        {"read", "edit_agreements", "approve_discounts", "manage_users", "manage_settings"}
    ),
}
ALL_PERMISSIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{1,63}")
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the user does not exist, so a wrong name takes as long as a
    # wrong password and timing does not tell which usernames exist.
    return _hasher.hash("not the password of anyone")


def can(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action``; an unknown action is a bug, not a "no"."""
    if action not in ALL_PERMISSIONS:
        raise ValueError(f"unknown action {action!r}; known: {sorted(ALL_PERMISSIONS)}")
    return action in PERMISSIONS.get(role or "", frozenset())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_problem(password: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.lower() == username.lower():
        return "must not be the username"
    return None


def create_user(session: Session, actor: str, username: str, password: str, role: str) -> User:
    """A new active user; the username is stored in lower case."""
    actor = require_actor(actor)
    name = (username or "").strip().lower()
    errors: dict[str, str] = {}
    if not USERNAME.fullmatch(name):
        errors["username"] = (
            "must be 2-64 characters: letters a-z, digits, and . _ - @ after the first"
        )
    elif session.scalar(select(User.id).where(User.username == name)):
        errors["username"] = f"{name} is already taken"
    problem = _password_problem(password or "", name)
    if problem:
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    raise_if(errors)
    user = User(username=name, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, None, snapshot(user))
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else ``None`` (no reason is given)."""
    user = session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None or not user.active:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        # Stronger hashing parameters since this hash was made: upgrade it while we know
        # the password (same password, new hash).
        user.password_hash = hash_password(password)
        session.flush()
        record(
            session,
            user.username,
            "user.rehash_password",
            "user",
            user.id,
            None,
            {"password": "rehashed"},
        )
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, actor: str, user: User, password: str) -> User:
    """A new password; the audit row says it changed, never what it is."""
    actor = require_actor(actor)
    problem = _password_problem(password or "", user.username)
    raise_if({"password": problem} if problem else {})
    user.password_hash = hash_password(password)
    session.flush()
    record(session, actor, "user.set_password", "user", user.id, None, {"password": "changed"})
    return user


def update_user(
    session: Session,
    actor: str,
    user: User,
    *,
    role: str | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's role or switch them on or off (users are never deleted)."""
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    if role is not None and role not in ROLES:
        errors["role"] = "must be one of: " + ", ".join(ROLES)
    if actor == user.username and (active is False or (role not in (None, "admin"))):
        errors["user"] = "you cannot lock yourself out; ask another admin"
    raise_if(errors)
    before = snapshot(user)
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    session.flush()
    record(session, actor, "user.update", "user", user.id, before, snapshot(user))
    return user
