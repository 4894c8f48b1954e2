"""Local users: argon2 password hashes, roles and what each role may do (SPEC X2); logins
throttled per name tried and per client, a name locked after too many failures."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from avtale.repository.audit import record, snapshot
from avtale.repository.models import ROLES, AppSession, LoginThrottle, User, utcnow
from avtale.repository.validation import raise_if, require_actor
from avtale.signing.tokens import digest, new_token
from avtale.vocabulary import USER_LOCALES

Permission = Literal[
    "read",
    "edit_agreements",
    "approve_discounts",
    "manage_users",
    "manage_settings",
    "upload_files",
]

# Discounts above the threshold are approved by sales leadership (seed 001, SPEC C3),
# never by sales ops who made the proposal.
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "leadership": frozenset({"read", "approve_discounts"}),
    "analyst": frozenset({"read", "upload_files"}),
    "sales_ops": frozenset({"read", "edit_agreements", "upload_files"}),
    "admin": frozenset(
        {
            "read",
            "edit_agreements",
            "approve_discounts",
            "manage_users",
            "manage_settings",
            "upload_files",
        }
    ),
}
ALL_PERMISSIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())

USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{1,63}")
MIN_PASSWORD_LENGTH = 10
# zxcvbn's 3 is "safely unguessable" (about 10^8 guesses): out of reach of online guessing
# even without the throttle below, and of an offline attack on one argon2 hash for months.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input, and its time grows with the length; the first 72 characters
# of a longer password are judged (a strong start is strong enough).
ZXCVBN_MAX_LENGTH = 72
# zxcvbn keeps the user inputs of a call in a module global: one call at a time.
_zxcvbn_lock = threading.Lock()

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


def _password_problem(password: str, username: str, email: str | None = None) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.lower() == username.lower():
        return "must not be the username"
    # The user's own name and address are the first words a guesser tries.
    personal = [username, *([email, *re.split(r"[^a-z0-9]+", email.lower())] if email else [])]
    with _zxcvbn_lock:
        verdict = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[w for w in personal if w])
    if verdict["score"] >= MIN_PASSWORD_SCORE:
        return None
    feedback = verdict["feedback"]
    advice = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
    return "is too easy to guess" + (f" ({advice.rstrip('.')})" if advice else "")


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
    # Failures counted against the name before it was anyone's must not lock its new owner.
    old = _throttle(session, "user", _name_key(name))
    if old is not None:
        session.delete(old)
    session.flush()
    record(session, actor, "user.create", "user", user.id, None, snapshot(user))
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else ``None`` (no reason is given).

    Not throttled: a login form calls ``log_in``, which counts the failures.
    """
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
    problem = _password_problem(password or "", user.username, user.email)
    raise_if({"password": problem} if problem else {})
    user.password_hash = hash_password(password)
    session.flush()
    record(session, actor, "user.set_password", "user", user.id, None, {"password": "changed"})
    # Whoever had the old password may have had a session too: every one of them ends.
    for live in session.scalars(
        select(AppSession).where(AppSession.user_id == user.id, AppSession.revoked_at.is_(None))
    ):
        end_session(session, live.id, utcnow())
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


def set_locale(session: Session, actor: str, user: User, locale: str) -> User:
    """How the app shows ``user`` numbers, dates and product names (one of USER_LOCALES)."""
    actor = require_actor(actor)
    if locale not in USER_LOCALES:
        raise_if({"locale": "must be one of: " + ", ".join(USER_LOCALES)})
    if user.locale != locale:
        before = snapshot(user)
        user.locale = locale
        session.flush()
        record(session, actor, "user.update", "user", user.id, before, snapshot(user))
    return user


# --- failed logins --------------------------------------------------------------------
#
# Failures are counted per name tried and per client, in the database, so every app process
# and a restart see the same counts. What an answer reveals: each depends only on the
# attempts made with that name and from that client, never on whether the user exists. An
# unknown name is counted, made to wait and locked exactly like a real one; an attempt
# refused for waiting or a lock is answered without checking the password (so it tells
# nothing, by content or by time); a wrong password and an unknown or deactivated name share
# one message. The lock message names the lock, so that a real user calls an admin instead
# of trying on; to a guesser it says only what its own failures already did.

FREE_FAILURES = 3  # typos cost nothing ...
BACKOFF_FIRST = timedelta(seconds=1)  # ... then a wait, doubled by each further failure,
BACKOFF_CAP = timedelta(minutes=5)  # up to this: 12 tries an hour from one client at most.
# Failures in a row that lock a name until an admin unlocks it: the back-off makes the
# owner wait two minutes in all on the way, so a lock means someone is guessing.
LOCK_AFTER = 10
# A client's failures are forgotten after this long without one. A good login does not
# clear them (someone holding one account could then guess at all the others freely); the
# name's own counter is cleared by a good login.
CLIENT_MEMORY = timedelta(hours=1)

WRONG = "wrong username or password"
LOCKED = "too many failed logins: this account is locked; an administrator can unlock it"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Login:
    """A login attempt: the user, or the message that says why not."""

    user: User | None
    refusal: str | None = None


def log_in(
    session: Session, username: str, password: str, client: str, *, now: datetime | None = None
) -> Login:
    """Check a login from ``client`` ("ip:<address>" or "session:<id>"), throttled.

    Refused at once while the name or the client must wait or the name is locked; a wrong
    password counts against both and is audited (with who tried, never the password).
    """
    now = now or utcnow()
    name = (username or "").strip().lower()
    client = (client or "unknown")[:100]
    mine = _throttle(session, "user", _name_key(name))
    theirs = _throttle(session, "client", client)
    if mine is not None and mine.locked_at is not None:
        return Login(None, LOCKED)
    wait = max(_wait(mine, now), _wait(theirs, now))
    if wait:
        return Login(None, f"too many attempts; try again in {wait} s")
    user = authenticate(session, name, password)
    if user is None:
        return _failed(session, name, client, mine, theirs, now)
    if mine is not None:  # the name's count starts again
        session.delete(mine)
        session.flush()
        before = {"failures": mine.failures}
        record(session, name, "login.success", "login", name, before, {"client": client})
    return Login(user)


def _failed(
    session: Session,
    name: str,
    client: str,
    mine: LoginThrottle | None,
    theirs: LoginThrottle | None,
    now: datetime,
) -> Login:
    """Count a wrong password against the name and the client, audit it, lock at the limit."""
    mine = _count_failure(session, mine, "user", _name_key(name), now)
    _count_failure(session, theirs, "client", client, now)
    # A name that is no one's is often a password typed into the wrong field: not recorded.
    actor = name if session.scalar(select(User.id).where(User.username == name)) else ANONYMOUS
    after: dict[str, object] = {"client": client, "failures": mine.failures}
    record(session, actor, "login.failure", "login", actor, None, after)
    if mine.failures < LOCK_AFTER:
        return Login(None, WRONG)
    mine.locked_at = now
    session.flush()
    record(session, actor, "login.lock", "login", actor, None, {**after, "locked_at": now})
    return Login(None, LOCKED)


def unlock(session: Session, actor: str, user: User) -> bool:
    """Clear the failed logins of ``user`` and the lock they made; whether it was locked."""
    actor = require_actor(actor)
    row = _throttle(session, "user", _name_key(user.username))
    if row is None:
        return False
    before = {"failures": row.failures, "locked_at": row.locked_at}
    session.delete(row)
    session.flush()
    record(session, actor, "login.unlock", "login", user.username, before, None)
    return before["locked_at"] is not None


def locked_usernames(session: Session) -> list[str]:
    """The users whose name is locked, by name."""
    locked = set(
        session.scalars(
            select(LoginThrottle.key).where(
                LoginThrottle.scope == "user", LoginThrottle.locked_at.is_not(None)
            )
        )
    )
    names = session.scalars(select(User.username).order_by(User.username))
    return [name for name in names if _name_key(name) in locked]


def _name_key(name: str) -> str:
    # Hashed: people type their password into the name field, and it must not be stored.
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def _throttle(session: Session, scope: str, key: str) -> LoginThrottle | None:
    """The counter of ``key``, after waiting for any other attempt on it to finish.

    Attempts on one name or client take turns, so parallel guesses cannot all slip through
    before the first failure is counted: on SQLite every write transaction takes the
    database's write lock up front (``db._sqlite_begin``); on PostgreSQL a transaction-scoped
    advisory lock on the key does it, also for names that have no row yet.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"{scope}:{key}".encode("utf-8", "surrogatepass")).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
    return session.scalar(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )


def _wait(row: LoginThrottle | None, now: datetime) -> int:
    """Whole seconds ``row``'s owner must still wait before the next attempt."""
    if row is None or row.failures < FREE_FAILURES:
        return 0
    if row.scope == "client" and now - row.last_failure_at >= CLIENT_MEMORY:
        return 0
    doublings = min(row.failures - FREE_FAILURES, 20)  # 2**20 s is past any cap
    backoff = min(BACKOFF_FIRST * 2**doublings, BACKOFF_CAP)
    return max(0, math.ceil((row.last_failure_at + backoff - now).total_seconds()))


def _count_failure(
    session: Session, row: LoginThrottle | None, scope: str, key: str, now: datetime
) -> LoginThrottle:
    if row is None:
        row = LoginThrottle(scope=scope, key=key, failures=0)
        session.add(row)
    elif scope == "client" and now - row.last_failure_at >= CLIENT_MEMORY:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    session.flush()
    return row


# --- sessions that outlive a reload ---------------------------------------------------

# A working day and then some: a session started in the morning lasts the day, and one
# left open overnight asks for the password again.
SESSION_HOURS = 12
# The page that logged in has this long to exchange its ticket for the cookie.
TICKET_SECONDS = 60
TICKET, TOKEN = "app-session-ticket", "app-session"


def start_session(session: Session, user: User, key: bytes, now: datetime) -> tuple[int, str]:
    """A new session of ``user`` and its one-time ticket (to ``claim_ticket`` once)."""
    ticket = new_token()
    started = AppSession(
        user_id=user.id,
        ticket_digest=digest(key, TICKET, ticket),
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    session.add(started)
    session.flush()
    return started.id, ticket


def claim_ticket(session: Session, ticket: str, key: bytes, now: datetime) -> str | None:
    """The session token for a ticket not yet used and less than a minute old, or None.

    The ticket passed through the page; the token goes only into the HttpOnly cookie, so
    what a script on the page could have read never works as a session."""
    started = session.scalar(
        select(AppSession).where(AppSession.ticket_digest == digest(key, TICKET, ticket or ""))
    )
    if started is None:
        return None
    started.ticket_digest = None  # used, whatever follows
    if started.revoked_at is not None or now > started.created_at + timedelta(
        seconds=TICKET_SECONDS
    ):
        return None
    token = new_token()
    started.token_digest = digest(key, TOKEN, token)
    return token


def session_of_token(session: Session, token: str, key: bytes, now: datetime) -> AppSession | None:
    """The live session the cookie's token belongs to: not expired, not revoked, its user
    still active. None for anything else."""
    found = session.scalar(
        select(AppSession).where(AppSession.token_digest == digest(key, TOKEN, token or ""))
    )
    return found if found is not None and _live(found, now) else None


def live_session(session: Session, session_id: int, now: datetime) -> AppSession | None:
    found = session.get(AppSession, session_id)
    return found if found is not None and _live(found, now) else None


def _live(found: AppSession, now: datetime) -> bool:
    return found.revoked_at is None and now < found.expires_at and found.user.active


def end_session(session: Session, session_id: int, now: datetime) -> None:
    """Log the session out: its cookie stops working in every tab at once."""
    found = session.get(AppSession, session_id)
    if found is not None and found.revoked_at is None:
        found.revoked_at = now
        found.ticket_digest = None
        record(
            session,
            found.user.username,
            "login.logout",
            "login",
            found.user.username,
            None,
            {"session": found.id},
        )
