"""The file kinds Avtale recognises, declared as data.

Each kind names its target table (``schema.table``, the dbt source), its fields
with the header names that may carry them (labels and internal names alike,
matched case-insensitively), how each field is parsed, and which fields must
point at rows of another kind. ``recognise`` picks the kind from a header row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"
    ID = "id"  # text; of a list like "101;102" the first id is kept
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"
    CURRENCY = "currency"  # must have a planning FX rate
    CURRENCY_CODE = "currency_code"  # any three-letter code (the FX file defines them)
    BOOLEAN = "boolean"
    DEAL_STAGE = "deal_stage"
    HUBSPOT_FREQUENCY = "hubspot_frequency"  # -> billing_period, billing_interval_months
    BILLING_PERIOD = "billing_period"  # generic CSV spelling of the same
    ISO_DURATION = "iso_duration"  # -> <name>_months, <name>_days
    ODOO_PLAN = "odoo_plan"  # Odoo's recurring plan -> billing_period, billing_interval_months
    ODOO_SUBSCRIPTION_STATE = "odoo_subscription_state"  # -> subscription_state
    ODOO_LOG_EVENT = "odoo_log_event"  # sale.order.log event type -> event_type


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...]
    type: FieldType = FieldType.TEXT
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def matches(self, header: str) -> bool:
        return normalise(header) in {normalise(a) for a in self.aliases}


@dataclass(frozen=True)
class Reference:
    """``field`` must match ``target_field`` of a row already in ``target_table``."""

    field: str
    target_table: str
    target_field: str
    noun: str  # for the message: "no deal with id 42"


@dataclass(frozen=True)
class RowRule:
    """A condition on a row's typed values that makes the row unusable (SQL)."""

    field: str
    condition: str
    reason: str


@dataclass(frozen=True)
class Kind:
    name: str
    # What a reader calls the file: "HubSpot deals", "Odoo MRR history".
    title: str
    table: str
    fields: tuple[Field, ...]
    # Header names (lower case) of which at least one must be present.
    markers: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    # Kinds are loaded in this order so references point at rows loaded first.
    order: int = 0
    # Header names whose presence rules the kind out.
    excluded_by: tuple[str, ...] = field(default=())
    rules: tuple[RowRule, ...] = ()

    def field_for(self, header: str) -> Field | None:
        return next((f for f in self.fields if f.matches(header)), None)


def normalise(header: str) -> str:
    """Header names compare without case, spaces or punctuation:
    `Associated Deal IDs`, `associated_deal_ids` and `associateddealids` are one."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


T = FieldType

# Sane ranges: a value outside them is a typing or export error, and loading it would
# only make every total wrong. Credits and discounts are a discount percentage, not a
# negative price or quantity.
MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = 1_000_000_000
MAX_AMOUNT = 1_000_000_000_000
MAX_MONTHS = 1200
EVERY_N_MONTHS_NEEDS_INTERVAL = RowRule(
    "billing_interval_months",
    "billing_period = 'every_n_months' AND billing_interval_months IS NULL",
    "'billing_period every_n_months needs billing_interval_months (the N)'",
)

HUBSPOT_COMPANIES = Kind(
    name="hubspot_companies",
    title="HubSpot companies",
    table="hubspot.companies",
    order=0,
    markers=("company name", "name"),
    excluded_by=(
        "deal name",
        "dealname",
        "associated deal ids",
        "quantity",
        "price",
        "unit price",
        "customer_id",
        "contract_id",
    ),
    fields=(
        Field("record_id", ("record id", "hs_object_id", "company id"), T.ID, required=True),
        Field("name", ("company name", "name"), T.TEXT, required=True),
        Field("owner", ("company owner", "hubspot_owner_id"), T.TEXT),
        Field("created_date", ("create date", "createdate"), T.DATE),
        Field("country", ("country/region", "country"), T.TEXT),
        Field("industry", ("industry",), T.TEXT),
    ),
)

HUBSPOT_DEALS = Kind(
    name="hubspot_deals",
    title="HubSpot deals",
    table="hubspot.deals",
    order=1,
    markers=("deal name", "dealname"),
    references=(Reference("company_id", "hubspot.companies", "record_id", "company"),),
    fields=(
        Field("record_id", ("record id", "hs_object_id", "deal id"), T.ID, required=True),
        Field("name", ("deal name", "dealname"), T.TEXT),
        Field("stage", ("deal stage", "dealstage"), T.DEAL_STAGE, required=True),
        Field("pipeline", ("pipeline",), T.TEXT),
        Field("close_date", ("close date", "closedate"), T.DATE),
        Field("amount", ("amount",), T.NUMBER, minimum=-MAX_AMOUNT, maximum=MAX_AMOUNT),
        Field("owner", ("deal owner", "hubspot_owner_id"), T.TEXT),
        Field("created_date", ("create date", "createdate"), T.DATE),
        Field("deal_type", ("deal type", "dealtype"), T.TEXT),
        Field("currency", ("currency", "deal_currency_code"), T.CURRENCY),
        Field(
            "company_id",
            (
                "associated company ids",
                "associated company id",
                "associated company ids (primary)",
                "associatedcompanyid",
                "associatedcompanyids",
                "associations.company",
            ),
            T.ID,
            required=True,
        ),
    ),
)

HUBSPOT_LINE_ITEMS = Kind(
    name="hubspot_line_items",
    title="HubSpot line items",
    table="hubspot.line_items",
    order=2,
    markers=(
        "associated deal ids",
        "associated deal id",
        "associateddealid",
        "billing frequency",
        "recurringbillingfrequency",
    ),
    excluded_by=("deal name", "dealname", "contract_id"),
    references=(Reference("deal_id", "hubspot.deals", "record_id", "deal"),),
    rules=(
        RowRule(
            "billing",
            "billing_period = 'every_n_months'",
            "'every n months needs an interval, which a HubSpot line item does not carry'",
        ),
    ),
    fields=(
        Field("record_id", ("record id", "hs_object_id", "line item id"), T.ID, required=True),
        Field("name", ("name", "product name"), T.TEXT),
        Field("quantity", ("quantity",), T.NUMBER, minimum=0, maximum=MAX_QUANTITY),
        Field("unit_price", ("unit price", "price"), T.NUMBER, minimum=0, maximum=MAX_UNIT_PRICE),
        Field(
            "discount_percent",
            ("discount percentage", "hs_discount_percentage"),
            T.NUMBER,
            minimum=0,
            maximum=100,
        ),
        Field("billing", ("billing frequency", "recurringbillingfrequency"), T.HUBSPOT_FREQUENCY),
        Field("term", ("term", "hs_recurring_billing_period"), T.ISO_DURATION),
        Field(
            "billing_start_date",
            ("billing start date", "hs_recurring_billing_start_date"),
            T.DATE,
        ),
        Field("currency", ("currency", "hs_line_item_currency_code"), T.CURRENCY),
        Field(
            "deal_id",
            ("associated deal ids", "associated deal id", "associateddealid", "associations.deal"),
            T.ID,
            required=True,
        ),
    ),
)

GENERIC_CUSTOMERS = Kind(
    name="generic_customers",
    title="Accounting customers",
    table="generic.customers",
    order=0,
    markers=("customer_id",),
    excluded_by=("contract_id",),
    fields=(
        Field("customer_id", ("customer_id",), T.ID, required=True),
        Field("name", ("name",), T.TEXT, required=True),
        Field("org_number", ("org_number",), T.TEXT),
        Field("country", ("country",), T.TEXT),
        Field("owner", ("owner",), T.TEXT),
        Field("industry", ("industry",), T.TEXT),
        Field("created_date", ("created_date",), T.DATE),
    ),
)

GENERIC_CONTRACTS = Kind(
    name="generic_contracts",
    title="Accounting contracts",
    table="generic.contracts",
    order=1,
    markers=("contract_id",),
    excluded_by=("line_id",),
    references=(Reference("customer_id", "generic.customers", "customer_id", "customer"),),
    rules=(
        RowRule("end_date", "end_date < start_date", "'ends before it starts (start_date)'"),
        RowRule(
            "terminated_date",
            "terminated_date < start_date",
            "'terminated before it starts (start_date)'",
        ),
    ),
    fields=(
        Field("contract_id", ("contract_id",), T.ID, required=True),
        Field("customer_id", ("customer_id",), T.ID, required=True),
        Field("name", ("name",), T.TEXT),
        Field("owner", ("owner",), T.TEXT),
        Field("signed_date", ("signed_date",), T.DATE),
        Field("start_date", ("start_date",), T.DATE, required=True),
        Field("term_months", ("term_months",), T.INTEGER, minimum=1, maximum=MAX_MONTHS),
        Field("end_date", ("end_date",), T.DATE),
        Field("auto_renew", ("auto_renew",), T.BOOLEAN),
        Field("renewal_term_months", ("renewal_term_months",), T.INTEGER, minimum=1, maximum=120),
        Field("notice_months", ("notice_months",), T.INTEGER, minimum=0, maximum=120),
        Field("currency", ("currency",), T.CURRENCY),
        Field("terminated_date", ("terminated_date",), T.DATE),
        Field("termination_reason", ("termination_reason",), T.TEXT),
    ),
)

GENERIC_CONTRACT_LINES = Kind(
    name="generic_contract_lines",
    title="Accounting contract lines",
    table="generic.contract_lines",
    order=2,
    markers=("line_id",),
    references=(Reference("contract_id", "generic.contracts", "contract_id", "contract"),),
    rules=(
        EVERY_N_MONTHS_NEEDS_INTERVAL,
        RowRule("end_date", "end_date < start_date", "'ends before it starts (start_date)'"),
    ),
    fields=(
        Field("line_id", ("line_id",), T.ID, required=True),
        Field("contract_id", ("contract_id",), T.ID, required=True),
        Field("product", ("product",), T.TEXT, required=True),
        Field("quantity", ("quantity",), T.NUMBER, required=True, minimum=0, maximum=MAX_QUANTITY),
        Field(
            "unit_price",
            ("unit_price",),
            T.NUMBER,
            required=True,
            minimum=0,
            maximum=MAX_UNIT_PRICE,
        ),
        Field("discount_percent", ("discount_percent",), T.NUMBER, minimum=0, maximum=100),
        Field("discount_end_date", ("discount_end_date",), T.DATE),
        Field("billing", ("billing_period",), T.BILLING_PERIOD),
        Field(
            "billing_interval_months",
            ("billing_interval_months",),
            T.INTEGER,
            minimum=1,
            maximum=120,
        ),
        Field("start_date", ("start_date",), T.DATE),
        Field("end_date", ("end_date",), T.DATE),
        Field("currency", ("currency",), T.CURRENCY),
    ),
)

# An equipment register (SPEC I1, R2; issue 14): the installed assets a contract covers.
# The contract may be of any source (a generic contract id, a HubSpot deal id, an Odoo
# order reference, an app contract number): dbt resolves it, and an asset whose contract
# is unknown stays in the installed_assets mart and in data_quality_findings. Registers
# are exported again and again, so a later file's row replaces an earlier one's by serial
# number; within one file a serial number twice is a mistake, and the later rows go to
# quarantine naming the first.
DUPLICATE_SERIAL = (
    "EXISTS (SELECT 1 FROM _parsed AS first WHERE first.serial_number = _parsed.serial_number "
    "AND first._row < _parsed._row)"
)
GENERIC_ASSETS = Kind(
    name="generic_assets",
    title="Installed assets",
    table="generic.assets",
    order=3,
    markers=("serial_number", "serial number", "serienummer", "serial no", "serienr"),
    excluded_by=(
        "quantity",
        "unit_price",
        "unit price",
        "price_unit",
        "product_uom_qty",
        "deal name",
        "dealname",
    ),
    rules=(
        RowRule(
            "serial_number",
            DUPLICATE_SERIAL,
            "'serial number ' || serial_number || ' is also in row ' || "
            "(SELECT min(first._row) FROM _parsed AS first "
            "WHERE first.serial_number = _parsed.serial_number) || ' of this file'",
        ),
        RowRule(
            "contract_id",
            "contract_id IS NULL AND customer_id IS NULL",
            "'needs the contract that covers it (contract_id) or its customer (customer_id)'",
        ),
    ),
    fields=(
        Field(
            "serial_number",
            ("serial_number", "serial number", "serial no", "serienummer", "serienr"),
            T.TEXT,
            required=True,
        ),
        Field("model", ("model", "modell", "model name"), T.TEXT),
        Field("location", ("location", "plassering", "placering", "site", "lokasjon"), T.TEXT),
        Field("customer_id", ("customer_id", "customer id", "kundenr", "kundenummer"), T.TEXT),
        Field(
            "contract_id",
            ("contract_id", "contract id", "contract", "contract number", "avtalenr", "avtale"),
            T.TEXT,
        ),
        Field("line_id", ("line_id", "line id", "contract line", "line item id"), T.TEXT),
        Field(
            "install_date",
            ("install_date", "install date", "installed", "installation date", "installert"),
            T.DATE,
        ),
    ),
)

# Odoo 17 subscriptions (sale.order), their lines (sale.order.line) and their MRR history
# (sale.order.log), exported with field labels or, for an import-compatible export, with
# technical names. A many2one is exported as its display name: the customer's name, the
# plan's name ("Monthly", "3 Months"), the currency's code.
ODOO_SUBSCRIPTIONS = Kind(
    name="odoo_subscriptions",
    title="Odoo subscriptions",
    table="odoo.subscriptions",
    order=0,
    markers=("recurring plan", "plan_id", "subscription status", "subscription_state"),
    excluded_by=("product", "product_id", "mrr change", "amount_signed", "event_type"),
    rules=(
        RowRule(
            "start_date",
            "start_date IS NULL AND subscription_state IN ('in_progress', 'paused', 'renewed', 'churned')",
            "'a confirmed subscription needs a start date'",
        ),
        RowRule("end_date", "end_date < start_date", "'ends before it starts (start_date)'"),
        # Else nothing would say when its MRR stopped.
        RowRule(
            "end_date",
            "subscription_state IN ('renewed', 'churned') AND end_date IS NULL "
            "AND next_invoice_date IS NULL",
            "'a closed subscription needs an end date or a date of next invoice'",
        ),
    ),
    fields=(
        Field("order_ref", ("order reference", "name"), T.ID, required=True),
        Field("customer", ("customer", "partner_id"), T.TEXT, required=True),
        Field("plan", ("recurring plan", "plan_id"), T.ODOO_PLAN, required=True),
        Field(
            "status",
            ("subscription status", "subscription_state"),
            T.ODOO_SUBSCRIPTION_STATE,
            required=True,
        ),
        Field("start_date", ("start date", "start_date"), T.DATE),
        Field("end_date", ("end date", "end_date"), T.DATE),
        Field("next_invoice_date", ("date of next invoice", "next_invoice_date"), T.DATE),
        Field("close_reason", ("close reason", "close_reason_id"), T.TEXT),
        Field(
            "recurring_monthly",
            ("monthly recurring", "recurring_monthly", "mrr"),
            T.NUMBER,
            minimum=-MAX_AMOUNT,
            maximum=MAX_AMOUNT,
        ),
        Field("salesperson", ("salesperson", "user_id"), T.TEXT),
        Field("currency", ("currency", "currency_id"), T.CURRENCY),
    ),
)

ODOO_SUBSCRIPTION_LINES = Kind(
    name="odoo_subscription_lines",
    title="Odoo subscription lines",
    table="odoo.subscription_lines",
    order=1,
    markers=("product", "product_id", "price_unit", "product_uom_qty"),
    excluded_by=(
        "recurring plan",
        "plan_id",
        "subscription status",
        "subscription_state",
        "associated deal ids",
        "line_id",
        "contract_id",
    ),
    references=(Reference("order_ref", "odoo.subscriptions", "order_ref", "subscription"),),
    fields=(
        # The line's external ID, when the export has one ("ID", `id`); else the line is
        # known by its order and its place in the file.
        Field("line_ref", ("id", "external id"), T.ID),
        Field("order_ref", ("order reference", "order_id"), T.ID, required=True),
        Field("product", ("product", "product_id"), T.TEXT),
        Field(
            "quantity",
            ("quantity", "product_uom_qty"),
            T.NUMBER,
            required=True,
            minimum=0,
            maximum=MAX_QUANTITY,
        ),
        Field(
            "unit_price",
            ("unit price", "price_unit"),
            T.NUMBER,
            required=True,
            minimum=0,
            maximum=MAX_UNIT_PRICE,
        ),
        Field("discount_percent", ("discount", "discount (%)"), T.NUMBER, minimum=0, maximum=100),
    ),
)

ODOO_MRR_LOG = Kind(
    name="odoo_mrr_log",
    title="Odoo MRR history",
    table="odoo.mrr_log",
    order=1,
    markers=("mrr change", "amount_signed", "event_type", "type of event"),
    excluded_by=("recurring plan", "plan_id", "product", "product_id"),
    references=(Reference("order_ref", "odoo.subscriptions", "order_ref", "subscription"),),
    rules=(
        RowRule(
            "amount_signed",
            "amount_signed IS NULL AND recurring_monthly IS NULL",
            "'needs the MRR change or the recurring monthly after it'",
        ),
    ),
    fields=(
        Field(
            "order_ref",
            ("subscription", "order_id", "sale order", "order reference"),
            T.ID,
            required=True,
        ),
        Field("event_date", ("date", "event_date", "event date"), T.DATE, required=True),
        Field("event_type", ("type", "event_type", "type of event"), T.ODOO_LOG_EVENT),
        Field(
            "amount_signed",
            ("mrr change", "amount_signed"),
            T.NUMBER,
            minimum=-MAX_AMOUNT,
            maximum=MAX_AMOUNT,
        ),
        Field("currency", ("currency", "currency_id"), T.CURRENCY),
        Field(
            "recurring_monthly",
            ("recurring monthly", "recurring_monthly", "mrr after change"),
            T.NUMBER,
            minimum=-MAX_AMOUNT,
            maximum=MAX_AMOUNT,
        ),
    ),
)

FX_RATES = Kind(
    name="fx_rates",
    title="Exchange rates",
    table="planning.fx_rates",
    order=0,
    markers=("rate",),
    fields=(
        Field("currency", ("currency",), T.CURRENCY_CODE, required=True),
        Field("rate", ("rate",), T.NUMBER, required=True, minimum=0.000001, maximum=1_000_000),
    ),
)

KINDS: tuple[Kind, ...] = (
    GENERIC_ASSETS,
    HUBSPOT_DEALS,
    HUBSPOT_LINE_ITEMS,
    GENERIC_CONTRACT_LINES,
    GENERIC_CONTRACTS,
    GENERIC_CUSTOMERS,
    ODOO_SUBSCRIPTIONS,
    ODOO_SUBSCRIPTION_LINES,
    ODOO_MRR_LOG,
    FX_RATES,
    HUBSPOT_COMPANIES,
)


def recognise(headers: list[str]) -> Kind | None:
    """The kind whose markers the header has and whose required fields it all carries."""
    present = {normalise(h) for h in headers}

    def any_of(names: tuple[str, ...]) -> bool:
        return bool(present & {normalise(n) for n in names})

    for kind in KINDS:
        if not any_of(kind.markers) or any_of(kind.excluded_by):
            continue
        if all(any_of(f.aliases) for f in kind.fields if f.required):
            return kind
    return None


def title_of(name: str) -> str:
    """The reader's name of a file kind (a mapping file's kind goes by its own name)."""
    known = {kind.name: kind.title for kind in KINDS}
    return known.get(name) or name.replace("_", " ")


def describe(kind: Kind) -> str:
    required = ", ".join(f.aliases[0] for f in kind.fields if f.required)
    return f"{kind.name} (required columns: {required})"
