"""The schema of the operational database, portable across SQLite and PostgreSQL.

Choice columns are plain strings guarded by CHECK constraints (no native enums), so adding
a value is one migration on either database. Money and quantities are ``Numeric``
(``Decimal`` in Python), dates ``Date``; timestamps are stored and returned in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from avtale.vocabulary import (
    APP_BILLING_PERIODS,
    DEFAULT_LOCALE,
    PRICE_ADJUSTMENT_RULES,
    ROLES,
    USER_LOCALES,
)

CUSTOMER_STATUSES = ("active", "terminated", "archived")
CONTRACT_STATUSES = ("draft", "active", "terminated", "expired")
CONTRACT_ORIGINS = ("app", "counterparty_paper", "adopted")
# The contracts Avtale renews, re-prices and indexes on its own terms: those made in the app
# and those taken over from an export. A counterparty paper's terms are the customer's text.
KEPT_ORIGINS = ("app", "adopted")
DOCUMENT_KINDS = ("counterparty_paper", "attachment", "generated", "signed")
TEMPLATE_PURPOSES = ("agreement", "renegotiation", "invoice")
TEMPLATE_FORMATS = ("html", "docx")
PROPOSAL_KINDS = ("new", "renegotiation")
PROPOSAL_STATUSES = ("draft", "sent", "signed", "declined", "cancelled")
APPROVAL_STATUSES = ("pending", "approved", "rejected")
TASK_STATUSES = ("open", "done")
REMINDER_KINDS = ("reminder", "escalation")
REMINDER_STATUSES = ("pending", "sent", "acknowledged")
SIGNING_SIDES = ("customer", "seller")
SIGNATORY_STATUSES = ("waiting", "signed", "declined", "withdrawn")
LINK_PURPOSES = ("sign", "portal")
# What a customer may change in the portal (SPEC P2): nothing, add only, add and remove.
PORTAL_ACCESS = ("restricted", "upgrade", "upgrade_downgrade")

# Stable constraint names, so later migrations can alter them (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both databases (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give the time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL so custom terms can be indexed and queried there later.
JSONType = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(18, 4)
Percent = Numeric(7, 4)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money, dict[str, Any]: JSONType}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES), one_of("locale", USER_LOCALES))

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where reminders go (SPEC A2): the address, the username escalations go to, and the
    # owner as CRM exports write it, so a CRM contract's owner finds this user.
    email: Mapped[str | None] = mapped_column(String(254))
    manager: Mapped[str | None] = mapped_column(String(64))
    crm_owner: Mapped[str | None] = mapped_column(String(100))
    # How the app shows this user numbers, dates and product names (not its own words).
    locale: Mapped[str] = mapped_column(String(5), default=DEFAULT_LOCALE)


LOGIN_SCOPES = ("user", "client")


class LoginThrottle(Base):
    """Consecutive failed logins of one name tried, or from one client (``auth.log_in``).

    A row exists only while there are failures: a good login or an admin's unlock deletes it.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (one_of("scope", LOGIN_SCOPES), UniqueConstraint("scope", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    # scope "user": the SHA-256 (hex) of the name as typed, lower-cased, whether or not such a
    # user exists (a password typed into the name field is never stored); scope "client":
    # "ip:<address>" or "session:<id>".
    key: Mapped[str] = mapped_column(String(100))
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    # Set when a name reaches auth.LOCK_AFTER failures; only an admin's unlock clears it.
    locked_at: Mapped[datetime | None]


class AppSession(Base):
    """A login that outlives a reload: a browser holds its token in an HttpOnly cookie
    (``auth.start_session``). Only keyed hashes are kept. The ticket lets the page that
    logged in set the cookie once, within a minute; the token it is exchanged for then
    lives until ``expires_at`` or a log-out (``revoked_at``)."""

    __tablename__ = "app_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    ticket_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (one_of("status", CUSTOMER_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    owner: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="active")
    termination_reason: Mapped[str | None] = mapped_column(String(200))
    termination_circumstances: Mapped[str | None] = mapped_column(Text)
    # The CRM or accounting customer this one took over ("hubspot:123", the marts' id), when
    # a contract of it was adopted: the marts count both as that one customer.
    source_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", order_by="Contact.id")
    contracts: Mapped[list[Contract]] = relationship(
        back_populates="customer", order_by="Contract.contract_number"
    )


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(100))
    may_sign: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Contract(Base):
    """The stable identity of an agreement; its terms live in versions."""

    __tablename__ = "contracts"
    __table_args__ = (
        one_of("status", CONTRACT_STATUSES),
        one_of("origin", CONTRACT_ORIGINS),
        one_of("portal_access", PORTAL_ACCESS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    origin: Mapped[str] = mapped_column(String(30), default="app")
    portal_access: Mapped[str] = mapped_column(String(20), default="restricted")
    # An adopted CRM or accounting contract (issue 14): its id in the marts ("hubspot:456"),
    # the load its terms were taken from, and the day from which this contract counts
    # instead of the export's rows.
    source_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    source_load_id: Mapped[int | None]
    adopted_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contracts")
    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.version_no"
    )
    assets: Mapped[list[InstalledAsset]] = relationship(
        back_populates="contract", order_by="InstalledAsset.id"
    )


class ContractVersion(Base):
    """One immutable set of terms; a change is a new row that supersedes the previous one."""

    __tablename__ = "contract_versions"
    __table_args__ = (
        UniqueConstraint("contract_id", "version_no"),
        one_of("price_adjustment_rule", PRICE_ADJUSTMENT_RULES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    version_no: Mapped[int]
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("contract_versions.id"), unique=True
    )
    effective_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    title: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))
    signed_date: Mapped[date | None]
    start_date: Mapped[date]
    term_months: Mapped[int | None]
    end_date: Mapped[date | None]
    lock_in_months: Mapped[int | None]
    notice_months: Mapped[int | None]
    auto_renew: Mapped[bool] = mapped_column(default=False)
    renewal_term_months: Mapped[int | None]
    price_adjustment_rule: Mapped[str] = mapped_column(String(20), default="none")
    price_adjustment_pct: Mapped[Decimal | None] = mapped_column(Percent)
    next_price_adjustment_date: Mapped[date | None]
    sla: Mapped[str | None] = mapped_column(Text)
    payment_terms_days: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3))
    custom_terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    terminated_date: Mapped[date | None]
    termination_reason: Mapped[str | None] = mapped_column(String(200))
    termination_circumstances: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(back_populates="versions")
    supersedes: Mapped[ContractVersion | None] = relationship(remote_side=[id])
    lines: Mapped[list[ContractLine]] = relationship(
        back_populates="version", order_by="ContractLine.line_no"
    )


class ContractLine(Base):
    """A line item of one version. ``line_no`` follows the same line from version to version."""

    __tablename__ = "contract_lines"
    __table_args__ = (
        UniqueConstraint("version_id", "line_no"),
        one_of("billing_period", APP_BILLING_PERIODS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id"))
    line_no: Mapped[int]
    product: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    discount_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    discount_end_date: Mapped[date | None]
    billing_period: Mapped[str] = mapped_column(String(20))
    billing_interval_months: Mapped[int | None]
    start_date: Mapped[date]
    end_date: Mapped[date | None]

    version: Mapped[ContractVersion] = relationship(back_populates="lines")


class InstalledAsset(Base):
    __tablename__ = "installed_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    serial_number: Mapped[str] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(200))

    contract: Mapped[Contract] = relationship(back_populates="assets")


class Document(Base):
    """A stored file; ``stored_path`` is relative to the documents folder of the data folder."""

    __tablename__ = "documents"
    __table_args__ = (one_of("kind", DOCUMENT_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    stored_path: Mapped[str] = mapped_column(String(255))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Generated documents only: the proposal they were made for, their number in its
    # sequence, and what made them (template and clause versions, proposal revision).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    doc_version: Mapped[int | None]
    source: Mapped[dict[str, Any] | None]

    contract: Mapped[Contract | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    proposal: Mapped[Proposal | None] = relationship(back_populates="documents")


class AuditLog(Base):
    """Who changed what, when, with the row before and after (JSON-able dicts)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class Template(Base):
    """One version of a document template (Jinja2 HTML for PDF, or a Word file)."""

    __tablename__ = "templates"
    __table_args__ = (
        UniqueConstraint("key", "version_no"),
        one_of("purpose", TEMPLATE_PURPOSES),
        one_of("format", TEMPLATE_FORMATS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    version_no: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(10))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Clause(Base):
    """One version of a clause in one language, with the answers it applies to."""

    __tablename__ = "clauses"
    __table_args__ = (UniqueConstraint("key", "language", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(2))
    version_no: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Alternatives share a group (governing law per country, then a general one): of a
    # group only the first matching clause by order is proposed.
    clause_group: Mapped[str | None] = mapped_column(String(60))
    sort_order: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    """The product catalogue the guided flow picks line items from."""

    __tablename__ = "products"
    __table_args__ = (one_of("billing_period", APP_BILLING_PERIODS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name per language ({"nb": ..., "en": ...}); ``name`` where a language has none.
    # Read whole with the product and never queried by language, so a column, not a table.
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    billing_period: Mapped[str] = mapped_column(String(20))
    billing_interval_months: Mapped[int | None]
    licence: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    def name_in(self, language: str | None) -> str:
        """The product's name in ``language``, or its default name."""
        named = self.names.get(language) if language and self.names else None
        return str(named or self.name)

    prices: Mapped[list[Price]] = relationship(back_populates="product", order_by="Price.id")


class Price(Base):
    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("product_id", "price_list", "currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    price_list: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    unit_price: Mapped[Decimal]

    product: Mapped[Product] = relationship(back_populates="prices")


class Proposal(Base):
    """An agreement being prepared (new, or a renegotiation of a contract) until it is
    signed: then it becomes a contract or the contract's next version. Terms and lines are
    kept as JSON so a half-finished proposal can be saved at every step of the flow."""

    __tablename__ = "proposals"
    __table_args__ = (one_of("kind", PROPOSAL_KINDS), one_of("status", PROPOSAL_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    revision: Mapped[int] = mapped_column(default=1)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    signed_version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    language: Mapped[str] = mapped_column(String(2))
    template_key: Mapped[str] = mapped_column(String(60))
    price_list: Mapped[str] = mapped_column(String(40), default="standard")
    deal_type: Mapped[str | None] = mapped_column(String(100))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lines: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # The clause keys the user kept, in order; None until chosen (the proposed ones apply).
    clauses: Mapped[list[Any] | None] = mapped_column(JSONType)
    free_text: Mapped[str | None] = mapped_column(Text)
    pricing: Mapped[dict[str, Any]] = mapped_column(default=dict)
    effective_date: Mapped[date | None]
    signing_deadline: Mapped[date | None]
    expected_close: Mapped[date | None]
    signer_name: Mapped[str | None] = mapped_column(String(200))
    signed_date: Mapped[date | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    contract: Mapped[Contract | None] = relationship()
    base_version: Mapped[ContractVersion | None] = relationship(foreign_keys=[base_version_id])
    documents: Mapped[list[Document]] = relationship(
        back_populates="proposal", order_by="Document.id"
    )
    approvals: Mapped[list[Approval]] = relationship(
        back_populates="proposal", order_by="Approval.id"
    )


class Approval(Base):
    """A request to approve a proposal's discounts, and the decision on it."""

    __tablename__ = "approvals"
    __table_args__ = (one_of("status", APPROVAL_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    # The proposal as it was when asked: a later change needs a new approval.
    proposal_revision: Mapped[int]
    reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    proposal: Mapped[Proposal] = relationship(back_populates="approvals")


class Task(Base):
    """Work a routing rule gave a team after a signature; one per version and rule."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("version_id", "rule"),
        one_of("status", TASK_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(40), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("contract_versions.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules_version: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship()


class Reminder(Base):
    """One reminder of one deadline (SPEC A2), or the escalation of an ignored one.

    The natural key (contract, deadline type and date, lead days, kind) makes queueing
    idempotent: a deadline's reminder exists at most once, however often the job runs.
    ``message_id`` is derived from it, so a mail sent twice after a crash carries the same
    Message-ID and receivers can drop the copy.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint(
            "contract_id",
            "deadline_type",
            "deadline_date",
            "lead_days",
            "kind",
            name="uq_reminders_natural_key",
        ),
        one_of("kind", REMINDER_KINDS),
        one_of("status", REMINDER_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The published mart's ids ("hubspot:123", "app:K-000001"), not foreign keys.
    contract_id: Mapped[str] = mapped_column(String(100))
    deadline_type: Mapped[str] = mapped_column(String(30))
    deadline_date: Mapped[date]
    lead_days: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20), default="reminder")
    recipient: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(100))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The run's day the reminder went out (escalation counts days from it) and the moment.
    sent_on: Mapped[date | None]
    sent_at: Mapped[datetime | None]
    emailed_to: Mapped[str | None] = mapped_column(String(254))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    escalation_of: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"))


class Notification(Base):
    """An in-app notification: the bell in the sidebar counts the unread ones."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminders.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


# --- bulk operations (SPEC A4) --------------------------------------------------------

BULK_KINDS = ("co_terminate", "price_update", "indexation", "undo")


class BulkOperation(Base):
    """One applied bulk change (SPEC A4): the new version it made of each contract, so it
    can be undone by a reverse operation (itself a ``BulkOperation`` of kind 'undo')."""

    __tablename__ = "bulk_operations"
    __table_args__ = (one_of("kind", BULK_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    effective_date: Mapped[date]
    applied_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    contract_count: Mapped[int]
    mrr_change: Mapped[Decimal]
    # [{contract_id, before_version_id, after_version_id}, ...]
    versions: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"))
    undo_of_id: Mapped[int | None] = mapped_column(ForeignKey("bulk_operations.id"))


RENEWAL_DECISIONS = ("auto_renewed", "renewed", "renegotiating", "expired")


class Renewal(Base):
    """What became of one term's end (SPEC A3): renewed (by the job or by hand), taken
    into renegotiation, or let expire. Once per contract and term end."""

    __tablename__ = "renewals"
    __table_args__ = (
        UniqueConstraint("contract_id", "term_end", name="uq_renewals_contract_term"),
        one_of("decision", RENEWAL_DECISIONS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    # The last day of the term being renewed.
    term_end: Mapped[date]
    decision: Mapped[str] = mapped_column(String(20))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship()


# --- billing (SPEC B1, B2, D5) --------------------------------------------------------

INVOICE_KINDS = ("invoice", "credit_note")
MATCHED_BY = ("reference", "invoice_number", "amount", "manual")
Rate = Numeric(18, 8)


class InvoiceSeries(Base):
    """The counter of one number series: the next number is taken, under a row lock, in the
    transaction that issues the invoice, so a rolled-back invoice leaves no gap."""

    __tablename__ = "invoice_series"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    next_number: Mapped[int]


class Invoice(Base):
    """An issued invoice or credit note (``avtale.billing.register``). Never edited: what
    it says is corrected by a credit note that names it (``corrects_id``). Only the facts
    of its delivery (``sent_at``, ``sent_via``, the stored PDF) are added later."""

    __tablename__ = "invoices"
    __table_args__ = (one_of("kind", INVOICE_KINDS), UniqueConstraint("series", "sequence"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    series: Mapped[str] = mapped_column(String(10))
    sequence: Mapped[int]
    issue_date: Mapped[date] = mapped_column(index=True)
    due_date: Mapped[date | None]
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    payment_reference: Mapped[str | None] = mapped_column(String(25), unique=True)
    payment_account: Mapped[dict[str, Any] | None]
    payment_terms: Mapped[str | None] = mapped_column(String(200))
    buyer_reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    # The parties as they were on the day of issue (``avtale.billing.stored``).
    seller: Mapped[dict[str, Any]]
    buyer: Mapped[dict[str, Any]]
    accounting_currency: Mapped[str | None] = mapped_column(String(3))
    accounting_rate: Mapped[Decimal | None] = mapped_column(Rate)
    # EN 16931 totals (``avtale.billing.model.compute_totals``), kept for queries.
    net_total: Mapped[Decimal]
    vat_total: Mapped[Decimal]
    total: Mapped[Decimal]
    vat_rules_version: Mapped[int | None]
    billing_version: Mapped[int]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    sent_via: Mapped[str | None] = mapped_column(String(20))
    pdf_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position"
    )


class InvoiceLine(Base):
    """One line as issued. A line billed from a contract line names it (``contract_line_no``)
    and its billing period (``period_key``: the period's first day, or a one-off line's
    start), the days it covers and the terms it was priced at: what the next run compares
    the contract's schedule with."""

    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(300))
    product: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    discount_percent: Mapped[Decimal] = mapped_column(Percent)
    unit_code: Mapped[str] = mapped_column(String(3))
    vat_category: Mapped[str] = mapped_column(String(2))
    vat_rate: Mapped[Decimal] = mapped_column(Percent)
    vat_reason: Mapped[str] = mapped_column(String(300))
    net_amount: Mapped[Decimal]
    contract_line_no: Mapped[int | None]
    period_key: Mapped[date | None]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    billing_period_end: Mapped[date | None]
    billing_period: Mapped[str | None] = mapped_column(String(20))
    billing_interval_months: Mapped[int | None]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class BilledPeriod(Base):
    """That a document billed (or corrected) one billing period of one contract line: the
    n-th document to touch it has ``adjustment_no`` n. Two runs racing to bill the same
    period cannot both commit."""

    __tablename__ = "billed_periods"
    __table_args__ = (
        UniqueConstraint(
            "contract_id", "line_no", "period_start", "adjustment_no", name="uq_billed_periods_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    line_no: Mapped[int]
    period_start: Mapped[date]
    adjustment_no: Mapped[int]
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)


class CustomerBilling(Base):
    """Where and how a customer is invoiced: postal address, billing e-mail, the reference
    it wants on invoices ("Deres ref") and a Peppol address other than its registry number."""

    __tablename__ = "customer_billing"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    buyer_reference: Mapped[str | None] = mapped_column(String(200))
    peppol_scheme: Mapped[str | None] = mapped_column(String(4))
    peppol_id: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BankPayment(Base):
    """One incoming payment from a bank statement, once: ``import_key`` is derived from the
    bank's own reference of the entry, so a statement imported twice adds nothing."""

    __tablename__ = "bank_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_key: Mapped[str] = mapped_column(String(64), unique=True)
    statement: Mapped[str] = mapped_column(String(255))
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    booking_date: Mapped[date] = mapped_column(index=True)
    value_date: Mapped[date | None]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    payer: Mapped[str | None] = mapped_column(String(200))
    creditor_references: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    text: Mapped[str | None] = mapped_column(Text)
    end_to_end_id: Mapped[str | None] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(String(50))
    bank_reference: Mapped[str | None] = mapped_column(String(100))


class PaymentAllocation(Base):
    """The part of a payment that pays one invoice, and how it was matched."""

    __tablename__ = "payment_allocations"
    __table_args__ = (one_of("matched_by", MATCHED_BY),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("bank_payments.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal]
    matched_by: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnmatchedPayment(Base):
    """The queue: the part of a payment no invoice took (no match, or more than was owed),
    until someone resolves it."""

    __tablename__ = "unmatched_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("bank_payments.id"), unique=True)
    amount: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class Signatory(Base):
    """One party asked to sign one revision of a proposal (SPEC S1-S2): who, how they
    identify, and what they did, with the evidence (time, IP, user agent) of each step."""

    __tablename__ = "signatories"
    __table_args__ = (one_of("side", SIGNING_SIDES), one_of("status", SIGNATORY_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    proposal_revision: Mapped[int]
    # The PDF they are asked to sign: the one the sealed copy is made from.
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    side: Mapped[str] = mapped_column(String(10))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    # "email_code" (built in) or the key of a configured identity provider.
    method: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    opened_at: Mapped[datetime | None]
    identified_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]
    # Who they proved to be: the method and what it returned (name, birth date, id hash).
    identity: Mapped[dict[str, Any] | None]
    # Each step with its time, IP and user agent, for the audit page.
    events: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # The browser that opened the link (a keyed hash of its cookie), the e-mail code
    # (hashed, expiring, attempts counted), the identity provider request under way.
    session_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0)
    codes_sent: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    pending_login: Mapped[dict[str, Any] | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[Proposal] = relationship()
    document: Mapped[Document] = relationship()
    contact: Mapped[Contact | None] = relationship()


class AccessLink(Base):
    """A link that lets someone without an account do one thing (sign, or use the portal)
    as one party. Only a keyed hash of its token is kept; it expires and can be revoked."""

    __tablename__ = "access_links"
    __table_args__ = (
        one_of("purpose", LINK_PURPOSES),
        CheckConstraint(
            "(purpose = 'sign' AND signatory_id IS NOT NULL AND contact_id IS NULL)"
            " OR (purpose = 'portal' AND contact_id IS NOT NULL AND signatory_id IS NULL)",
            name="one_party",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signatory_id: Mapped[int | None] = mapped_column(ForeignKey("signatories.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    signatory: Mapped[Signatory | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
