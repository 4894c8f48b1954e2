"""Where Avtale keeps its data, and its settings as one typed, checked object.

Everything lives under ``$AVTALE_HOME``. The settings come from the environment and from
the files in ``avtale/config/``, each replaced by a file of the same name in the data
folder: ``load_settings`` reads and checks them all, so a mistake stops a command or the
app at start, naming its file and entry or its variable, instead of a reminder run at
07:00 or the first invoice. ``dbt_vars`` hands the ones the marts use to dbt.

| setting | source |
|---|---|
| data folder | ``$AVTALE_HOME`` (default ``./.avtale``) |
| reporting currency | ``$AVTALE_REPORTING_CURRENCY`` (default NOK) |
| business time zone | ``$AVTALE_TIMEZONE`` (default Europe/Oslo) |
| upload limit | ``$AVTALE_MAX_UPLOAD_MB`` (default 20) |
| the engine dbt builds on | ``$AVTALE_ENGINE``: ``duckdb`` (default) or ``spark`` (docs/spark.md) |
| CPI assumption, renewal horizon | ``renewals.yaml`` |
| form bounds | ``limits.yaml`` |
| VAT rates and wording | ``vat.yaml`` |
| the sending company | ``seller.yaml`` |
| reminder lead times, escalation | ``reminders.yaml`` |
| invoice numbers, payment terms and references, bank accounts, books | ``billing.yaml`` |
"""

from __future__ import annotations

import importlib.util
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from avtale.billing.config import BillingSettings, load_billing
from avtale.dates import business_zone
from avtale.notify.config import ReminderConfig, load_config
from avtale.rules.loading import Entry, RuleError, config_file, document, read_yaml
from avtale.rules.vat import VatRules, country_code, load_vat_rules

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
STREAMLIT_APP = PROJECT_ROOT / "apps" / "streamlit" / "streamlit_app.py"
# What `avtale app` serves: the app, and the routes that keep a login across reloads.
STREAMLIT_SERVER = STREAMLIT_APP.parent / "server.py"

HOME_ENV = "AVTALE_HOME"
CURRENCY_ENV = "AVTALE_REPORTING_CURRENCY"
UPLOAD_ENV = "AVTALE_MAX_UPLOAD_MB"
ENGINE_ENV = "AVTALE_ENGINE"
# The engines dbt builds the warehouse on (the dbt profile's targets of the same names).
ENGINES = ("duckdb", "spark")
DEFAULT_REPORTING_CURRENCY = "NOK"
DEFAULT_MAX_UPLOAD_MB = 20
CURRENCY_CODE = re.compile(r"[A-Z]{3}")

# The file of the marts dbt builds on DuckDB, beside the warehouse (dbt/profiles.yml).
MARTS_FILE = "marts.duckdb"

# The data folder holds contracts, customers and password hashes: only its owner may read it.
# The folders are made 0700 (and tightened when found looser); that alone shuts everyone
# else out, whatever the files inside say. The files Avtale writes itself are also made
# 0600 where they are written (SQLite database, documents, outbox, DuckDB files, inbox
# archive), so a file copied or moved out keeps its privacy. The `avtale` command sets the
# umask below for its run, which covers what libraries write there (SQLite -wal and -shm,
# DuckDB .wal, dbt artifacts, Dagster's run storage) and is inherited by the app and Dagster
# it starts. The Streamlit frame and the Dagster definitions do not set it: test runners and
# tools import them, and a process-wide umask changed on import would leak into those.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def private_dir(folder: Path) -> Path:
    """``folder`` made (with missing parents) or tightened to be its owner's alone."""
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return tighten(folder, PRIVATE_DIR)


def tighten(path: Path, mode: int = PRIVATE_FILE) -> Path:
    """``path`` without the permissions ``mode`` leaves out; nothing if it is not there.

    A symbolic link is left alone: its own mode means nothing, and the file it points to
    (a link dropped into the inbox, say) is not Avtale's to change.
    """
    try:
        status = path.lstat()
    except FileNotFoundError:
        return path
    current = stat.S_IMODE(status.st_mode)
    if not stat.S_ISLNK(status.st_mode) and current & ~mode:
        path.chmod(current & mode)
    return path


@dataclass(frozen=True)
class Paths:
    """The files and folders of one Avtale data folder."""

    home: Path

    @property
    def warehouse(self) -> Path:
        """Build database: written by ingestion and dbt only."""
        return self.home / "warehouse.duckdb"

    @property
    def marts(self) -> Path:
        """The marts as dbt builds them on DuckDB (attached to the warehouse as `marts`)."""
        return self.warehouse.with_name(MARTS_FILE)

    @property
    def serving(self) -> Path:
        """Published copy of the marts: read by the app and ``avtale sql``."""
        return self.home / "serving.duckdb"

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def mappings(self) -> Path:
        """Mapping files for CSV layouts no known kind recognises (``ingestion.mapping``)."""
        return self.home / "mappings"

    @property
    def archive(self) -> Path:
        """Inbox files move here once loaded."""
        return self.home / "archive"

    @property
    def rejected(self) -> Path:
        """Inbox files that could not be read, each beside a note saying why."""
        return self.home / "rejected"

    @property
    def uploading(self) -> Path:
        """Files uploaded in the app while they load (then in the archive or rejected)."""
        return self.home / "uploading"

    @property
    def lake(self) -> Path:
        """The dbt sources as Parquet files, one per table, for dbt on Spark (avtale.lake)."""
        return self.home / "lake"

    @property
    def spark_home(self) -> Path:
        """dbt on Spark's tables (``warehouse/``) and their catalogue (``metastore/``)."""
        return self.home / "spark"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def dbt_target(self) -> Path:
        """dbt's artifacts and partial-parse state for this folder (dagster_project/dbt_runs.py)."""
        return self.home / "dbt-target"

    @property
    def last_build(self) -> Path:
        """The inputs of the last whole dbt build (a refresh with the same skips dbt)."""
        return self.dbt_target / "avtale_last_build.json"

    @property
    def pending_build(self) -> Path:
        """The inputs of a whole build not yet published (``last_build`` once it is)."""
        return self.last_build.with_suffix(".pending")

    def ensure(self) -> Paths:
        """The folders made, or tightened, to be the owner's alone (see PRIVATE_DIR)."""
        for folder in (self.home, self.inbox, self.archive, self.dagster_home):
            private_dir(folder)
        return self


def paths() -> Paths:
    """The data folder named by ``$AVTALE_HOME`` (default ``./.avtale``)."""
    return Paths(Path(os.environ.get(HOME_ENV, ".avtale")).resolve())


# --- the settings -------------------------------------------------------------------------


class SettingsError(ValueError):
    """Settings that cannot be used: one line per problem, each naming its file and entry or
    its environment variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class RenewalSettings:
    cpi_percent: Decimal  # applied at renewal under the `cpi` rule, and assumed by the forecast
    horizon_days: int  # a manual renewal is queued this many days before its term ends


@dataclass(frozen=True)
class Limits:
    max_unit_price: Decimal  # per unit, in the reporting currency
    max_quantity: Decimal
    max_term_months: int
    max_lock_in_months: int
    max_notice_months: int

    @property
    def max_period_amount(self) -> Decimal:
        """The most a line can be worth per billing period (quantity x unit price, in the
        reporting currency): more is a typing or export error, in a form or a CRM file."""
        return self.max_unit_price * self.max_quantity


@dataclass(frozen=True)
class Seller:
    """The company that sends the agreements and invoices."""

    name: str
    country: str  # where it is registered for VAT: decides every invoice's VAT
    signatory_name: str
    signatory_title: str
    org_number: str | None = None
    address: str | None = None  # one line, as documents print it
    email: str | None = None
    phone: str | None = None
    signatory_email: str | None = None  # where the seller's signing links go
    signatory_phone: str | None = None
    # The address in parts, as the e-invoice carries it (avtale.billing).
    street: str | None = None
    postcode: str | None = None
    city: str | None = None

    def context(self) -> dict[str, str]:
        """What templates see as ``seller``: the fields the file gives."""
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class IdentityProviderSetting:
    """An OpenID Connect broker for Nordic eID; its secret stays in the environment."""

    key: str
    label: str
    issuer: str
    client_id: str
    client_secret_env: str
    acr_values: str | None = None


@dataclass(frozen=True)
class SigningSettings:
    link_days: int
    code_minutes: int
    code_attempts: int
    codes_per_window: int
    code_window_minutes: int
    remind_days_before: int
    portal_link_days: int
    cancellation_reasons: tuple[str, ...]
    identity_providers: tuple[IdentityProviderSetting, ...] = ()

    def provider(self, key: str) -> IdentityProviderSetting | None:
        return next((p for p in self.identity_providers if p.key == key), None)


@dataclass(frozen=True)
class Settings:
    paths: Paths
    reporting_currency: str
    timezone: ZoneInfo
    max_upload_bytes: int
    engine: str
    renewals: RenewalSettings
    limits: Limits
    vat: VatRules
    seller: Seller
    reminders: ReminderConfig
    billing: BillingSettings
    signing: SigningSettings
    # File name -> the file it was read from (the data folder's own, or the shipped one).
    files: Mapping[str, Path]


def reporting_currency(environ: Mapping[str, str] = os.environ) -> str:
    """The currency the marts and figures across currencies report in."""
    value = environ.get(CURRENCY_ENV) or DEFAULT_REPORTING_CURRENCY
    if not CURRENCY_CODE.fullmatch(value):
        raise SettingsError(
            [f"{CURRENCY_ENV}={value!r} is not a currency code; use three capitals such as NOK"]
        )
    return value


def max_upload_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """The largest file an upload may be: ``$AVTALE_MAX_UPLOAD_MB`` megabytes."""
    value = environ.get(UPLOAD_ENV) or str(DEFAULT_MAX_UPLOAD_MB)
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = float("nan")
    if not 0 < megabytes < 1024 * 1024:  # also refuses NaN
        raise SettingsError(
            [f"{UPLOAD_ENV}={value!r} is not a size; give megabytes, more than 0, such as 20"]
        )
    return int(megabytes * 1024 * 1024)


def engine(environ: Mapping[str, str] = os.environ) -> str:
    """The engine dbt builds the warehouse on: ``$AVTALE_ENGINE``, default ``duckdb``.
    Spark needs the optional extra (``make setup AVTALE_EXTRAS=spark``) and Java."""
    value = environ.get(ENGINE_ENV) or ENGINES[0]
    if value not in ENGINES:
        raise SettingsError([f"{ENGINE_ENV}={value!r} is not an engine; use one of {ENGINES}"])
    if value == "spark" and importlib.util.find_spec("pyspark") is None:
        raise SettingsError(
            [f"{ENGINE_ENV}=spark needs the spark extra: run `make setup AVTALE_EXTRAS=spark`"]
        )
    return value


def load_renewals(path: Path | str) -> RenewalSettings:
    """The renewal settings in ``path``; a mistake raises ``RuleError`` naming the entry."""
    source, content = read_yaml(path)
    fields = Entry(source, "", content).fields(required=("cpi_percent", "horizon_days"))
    return RenewalSettings(
        cpi_percent=fields["cpi_percent"].number(minimum=-100, maximum=100),
        horizon_days=fields["horizon_days"].integer(minimum=0),
    )


def load_limits(path: Path | str) -> Limits:
    """The bounds in ``path``; a mistake raises ``RuleError`` naming the file and entry."""
    source, content = read_yaml(path)
    _, fields = document(
        source,
        content,
        required=(
            "max_unit_price",
            "max_quantity",
            "max_term_months",
            "max_lock_in_months",
            "max_notice_months",
        ),
    )
    return Limits(
        max_unit_price=fields["max_unit_price"].number(minimum=1),
        max_quantity=fields["max_quantity"].number(minimum=1),
        max_term_months=fields["max_term_months"].integer(minimum=1),
        max_lock_in_months=fields["max_lock_in_months"].integer(minimum=1),
        max_notice_months=fields["max_notice_months"].integer(minimum=1),
    )


SELLER_TEXTS = ("name", "signatory_name", "signatory_title")
SELLER_OPTIONAL = (
    "org_number",
    "address",
    "email",
    "phone",
    "signatory_email",
    "signatory_phone",
    "street",
    "postcode",
    "city",
)


def seller_country(path: Path | str, vat: VatRules) -> str:
    """The country the seller in ``path`` is registered for VAT in, checked against the VAT
    rules: every invoice is taxed by it."""
    source, content = read_yaml(path)
    if not isinstance(content, dict) or "country" not in content:
        raise RuleError(source, "country", 'is required: where the seller pays VAT, e.g. "NO"')
    entry = Entry(source, "country", content["country"])
    code = country_code(entry)
    if code not in vat.rates:
        entry.fail(f"vat.yaml has no standard rate for {code}")
    return code


def _text(entry: Entry) -> str:
    # An org number or a phone number written without quotes is read as a number.
    if isinstance(entry.value, int) and not isinstance(entry.value, bool):
        return str(entry.value)
    return entry.text()


def load_seller(path: Path | str, vat: VatRules) -> Seller:
    """The sending company in ``path``, its VAT country first (as an invoice needs it)."""
    country = seller_country(path, vat)
    source, content = read_yaml(path)
    fields = Entry(source, "", content).fields(
        required=("name", "country", "signatory_name", "signatory_title"),
        optional=SELLER_OPTIONAL,
    )
    texts = {key: _text(entry) for key, entry in fields.items() if key != "country"}
    return Seller(country=country, **texts)


SIGNING_NUMBERS = (
    "link_days",
    "code_minutes",
    "code_attempts",
    "codes_per_window",
    "code_window_minutes",
    "remind_days_before",
    "portal_link_days",
)
PROVIDER_KEY = re.compile(r"[a-z][a-z0-9_]{1,30}")


def load_signing(path: Path | str) -> SigningSettings:
    """Signing links, codes, reminders, portal links and identity providers in ``path``."""
    source, content = read_yaml(path)
    _, fields = document(
        source,
        content,
        required=(*SIGNING_NUMBERS, "cancellation_reasons"),
        optional=("identity_providers",),
    )
    providers = []
    listed = fields.get("identity_providers")
    if listed is not None and listed.value:
        for key, value in listed.fields(optional=tuple(listed.value)).items():
            if not PROVIDER_KEY.fullmatch(key) or key == "email_code":
                value.fail("must be a lower-case name such as mitid (not email_code)")
            entry = value.fields(
                required=("label", "issuer", "client_id", "client_secret_env"),
                optional=("acr_values",),
            )
            issuer = entry["issuer"].text(max_length=300)
            local = re.match(r"http://(localhost|127\.0\.0\.1)(:\d+)?(/|$)", issuer)
            if not issuer.startswith("https://") and not local:
                entry["issuer"].fail("must be an https:// address (http only on this machine)")
            providers.append(
                IdentityProviderSetting(
                    key=key,
                    label=entry["label"].text(),
                    issuer=issuer,
                    client_id=entry["client_id"].text(),
                    client_secret_env=entry["client_secret_env"].text(),
                    acr_values=entry["acr_values"].text() if "acr_values" in entry else None,
                )
            )
    numbers = {name: fields[name].integer(minimum=1) for name in SIGNING_NUMBERS}
    return SigningSettings(
        **numbers,
        cancellation_reasons=fields["cancellation_reasons"].texts(),
        identity_providers=tuple(providers),
    )


def load_settings(home: Paths | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting, read and checked; ``SettingsError`` lists every problem found."""
    env = os.environ if environ is None else environ
    home = home or Paths(Path(env.get(HOME_ENV, ".avtale")).resolve())
    problems: list[str] = []
    files = {
        name: config_file(home.home, name)
        for name in (
            "renewals.yaml",
            "limits.yaml",
            "vat.yaml",
            "seller.yaml",
            "reminders.yaml",
            "billing.yaml",
            "signing.yaml",
        )
    }

    def checked(load: Callable[..., Any], *args: Any) -> Any:
        try:
            return load(*args)
        except RuleError as problem:  # named by its file's full path: the own or the shipped
            where = f"{problem.path}: " if problem.path else ""
            problems.append(f"{files[problem.source]}: {where}{problem.message}")
        except ValueError as problem:  # a variable, named by the message
            problems.append(str(problem))
        return None

    vat = checked(load_vat_rules, files["vat.yaml"])  # the seller's country is checked by it
    values = {
        "reporting_currency": checked(reporting_currency, env),
        "timezone": checked(business_zone, env),
        "max_upload_bytes": checked(max_upload_bytes, env),
        "engine": checked(engine, env),
        "renewals": checked(load_renewals, files["renewals.yaml"]),
        "limits": checked(load_limits, files["limits.yaml"]),
        "vat": vat,
        "seller": checked(load_seller, files["seller.yaml"], vat) if vat else None,
        "reminders": checked(load_config, files["reminders.yaml"]),
        "billing": checked(load_billing, files["billing.yaml"]),
        "signing": checked(load_signing, files["signing.yaml"]),
    }
    if problems:
        raise SettingsError(problems)
    return Settings(paths=home, files=files, **values)


def dbt_vars(settings: Settings) -> dict[str, str | int | float]:
    """The settings the marts use, as dbt vars (``dbt build --vars``); their defaults in
    ``dbt/dbt_project.yml`` are those of the shipped files."""
    most = settings.limits.max_period_amount
    return {
        "reporting_currency": settings.reporting_currency,
        # A float always: SQL reads 3 as an integer, and 3 / 100 is 0 on PostgreSQL.
        "forecast_cpi_percent": float(settings.renewals.cpi_percent),
        # Whole, as written into the findings' reasons ("over 1000000000000 NOK").
        "max_period_amount": int(most) if most == most.to_integral_value() else float(most),
    }
