"""SQL that turns raw text columns into typed values and says why a value is bad.

Everything here runs inside DuckDB over whole files; Python only writes the SQL.
For each field, ``typed_columns`` gives the typed output columns and ``checks``
the conditions under which a row cannot be used, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from avtale.vocabulary import BILLING_PERIODS, PERIOD_MONTHS
from ingestion.kinds import Field, FieldType

# The macros, but for the spellings of billing periods (``billing_cases``).
MACROS_TEMPLATE = r"""
-- Spaces, tabs and no-break spaces around a value are not part of it.
CREATE OR REPLACE TEMP MACRO avt_trim(s) AS (trim(s, ' ' || chr(9) || chr(160) || chr(8239)));
CREATE OR REPLACE TEMP MACRO avt_blank(s) AS (s IS NULL OR avt_trim(s) = '');

-- Numbers. A value is read by its own shape wherever that is unambiguous:
-- '1234', '12.50', '12,5', '1.234,50', '12,500.00', '1 234,50', '1''234.50',
-- '1.234.567', '1e3', '12 %', 'kr 1 250,-'. Only a single separator followed by
-- exactly three digits ('1,234', '1.234') can be either a decimal or a thousands
-- separator; the file's other numbers decide it (`locale`: 'comma' when they use
-- a decimal comma, 'point' when a decimal point, NULL when they say nothing or
-- contradict each other, and then the value is quarantined rather than guessed).
--
-- avt_num_text: the value without spaces around it, currency, percent sign or a
-- trailing ',-', its sign (if negative) a leading '-'; computed once per value (a
-- column `<raw>_num`), so the macros below read a plain column.
CREATE OR REPLACE TEMP MACRO avt_num_text(s) AS (
    CASE WHEN regexp_matches(s, '^-?\d+([.,]\d+)?$') THEN s ELSE
    regexp_replace(regexp_replace(
        regexp_replace(
            regexp_replace(
                regexp_replace(s, '^[\s\x{00A0}]*(?i:kr\.?|nok|sek|dkk|eur|usd|€|\$|£)?[\s\x{00A0}]*', ''),
                '[\s\x{00A0}]*(?i:kr\.?|nok|sek|dkk|eur|usd|€|\$|£|%)?[\s\x{00A0}]*$', ''),
            '[,.]-$', ''),
        '^\+[\s\x{00A0}]*', ''), '^[-−][\s\x{00A0}]*', '-')
    END
);
-- The unsigned digits and separators of a cleaned value.
CREATE OR REPLACE TEMP MACRO avt_num_body(t) AS (CASE WHEN t[1] = '-' THEN t[2:] ELSE t END);
CREATE OR REPLACE TEMP MACRO avt_num_sign(t) AS (CASE WHEN t[1] = '-' THEN -1 ELSE 1 END);
CREATE OR REPLACE TEMP MACRO avt_num_ambiguous(t) AS (
    regexp_matches(avt_num_body(t), '^[1-9]\d{0,2}[.,]\d{3}$')
);
-- Which decimal separator an unambiguous value shows: 'comma', 'point' or NULL.
CREATE OR REPLACE TEMP MACRO avt_num_evidence(t) AS (
    CASE
        WHEN t IS NULL OR t = '' OR avt_num_ambiguous(t) THEN NULL
        WHEN regexp_matches(avt_num_body(t), '^(\d+,\d+|\d{1,3}(\.\d{3})+(,\d*)?|\d{1,3}([ ''\x{00A0}\x{202F}\x{2009}]\d{3})+,\d*)$') THEN 'comma'
        WHEN regexp_matches(avt_num_body(t), '^(\d*\.\d+|\d{1,3}(,\d{3})+(\.\d*)?|\d{1,3}([ ''\x{00A0}\x{202F}\x{2009}]\d{3})+\.\d*)$') THEN 'point'
    END
);
CREATE OR REPLACE TEMP MACRO avt_num_unsigned(b, locale) AS (
    CASE
        WHEN regexp_matches(b, '^\d+(\.\d{1,2})?$') THEN TRY_CAST(b AS DOUBLE)
        WHEN regexp_matches(b, '^[1-9]\d{0,2}[.,]\d{3}$') THEN CASE
            WHEN locale = 'comma' THEN TRY_CAST(replace(replace(b, '.', ''), ',', '.') AS DOUBLE)
            WHEN locale = 'point' THEN TRY_CAST(replace(b, ',', '') AS DOUBLE)
        END
        WHEN regexp_matches(b, '^(\d+\.\d*|\.\d+)$') THEN TRY_CAST(b AS DOUBLE)
        WHEN regexp_matches(b, '^(\d+,\d*|,\d+)$') THEN TRY_CAST(replace(b, ',', '.') AS DOUBLE)
        WHEN regexp_matches(b, '^\d{1,3}(,\d{3})+(\.\d*)?$') THEN TRY_CAST(replace(b, ',', '') AS DOUBLE)
        WHEN regexp_matches(b, '^\d{1,3}(\.\d{3})+(,\d*)?$') THEN
            TRY_CAST(replace(replace(b, '.', ''), ',', '.') AS DOUBLE)
        WHEN regexp_matches(b, '^\d{1,3}([ ''\x{00A0}\x{202F}\x{2009}]\d{3})+([.,]\d*)?$') THEN
            TRY_CAST(replace(regexp_replace(b, '[ ''\x{00A0}\x{202F}\x{2009}]', '', 'g'), ',', '.') AS DOUBLE)
        -- Two exponent digits at most: never beyond a double, and the range checks
        -- reject what is absurd for the column.
        WHEN regexp_matches(b, '^(\d+\.?\d*|\.\d+)[eE][-+]?\d{1,2}$') THEN TRY_CAST(b AS DOUBLE)
    END
);
CREATE OR REPLACE TEMP MACRO avt_number(t, locale) AS (
    CASE WHEN t IS NULL OR t = '' THEN NULL ELSE
        avt_num_sign(t) * avt_num_unsigned(avt_num_body(t), locale)
    END
);
-- Why a non-blank value gave no number.
CREATE OR REPLACE TEMP MACRO avt_num_problem(t, shown) AS (
    CASE
        WHEN avt_num_ambiguous(t) THEN 'ambiguous number: ' || shown || ' could be ' ||
            replace(replace(avt_num_body(t), ',', ''), '.', '') || ' or ' ||
            replace(avt_num_body(t), ',', '.') ||
            ', and no other number in the file shows which separator is the decimal one'
        WHEN regexp_matches(lower(avt_num_body(t)), '^(nan|inf|infinity)$') THEN
            'not a finite number: ' || shown
        WHEN regexp_matches(avt_num_body(t), '^(\d+\.?\d*|\.\d+)[eE][-+]?\d+$') THEN
            'out of range: ' || shown
        ELSE 'not a number: ' || shown
    END
);

-- Dates: ISO with or without a time, dd.mm.yyyy, dd/mm/yyyy, dd-mm-yyyy, epoch ms.
CREATE OR REPLACE TEMP MACRO avt_date(s) AS (
    CASE
        WHEN avt_blank(s) THEN NULL
        WHEN regexp_matches(avt_trim(s), '^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$') THEN
            TRY_CAST(regexp_extract(avt_trim(s), '^(\d{4}-\d{1,2}-\d{1,2})', 1) AS DATE)
        WHEN regexp_matches(avt_trim(s), '^\d{1,2}[./-]\d{1,2}[./-]\d{4}( .*)?$') THEN
            TRY_CAST(
                regexp_extract(avt_trim(s), '^\d{1,2}[./-]\d{1,2}[./-](\d{4})', 1) || '-' ||
                regexp_extract(avt_trim(s), '^\d{1,2}[./-](\d{1,2})', 1) || '-' ||
                regexp_extract(avt_trim(s), '^(\d{1,2})', 1)
            AS DATE)
        WHEN regexp_matches(avt_trim(s), '^\d{12,13}$') THEN
            CAST(make_timestamp(TRY_CAST(avt_trim(s) AS BIGINT) * 1000) AS DATE)
        ELSE NULL
    END
);

CREATE OR REPLACE TEMP MACRO avt_boolean(s) AS (
    CASE
        WHEN avt_blank(s) THEN NULL
        WHEN lower(avt_trim(s)) IN ('true', 'yes', 'y', 'ja', 'j', '1', 'x', 'sant') THEN TRUE
        WHEN lower(avt_trim(s)) IN ('false', 'no', 'n', 'nei', 'nej', '0', 'falsk') THEN FALSE
    END
);

-- Billing frequencies as HubSpot writes them (internal values and labels) and
-- as the generic format writes them, to one canonical period.
CREATE OR REPLACE TEMP MACRO avt_billing(s, blank_means) AS (
    CASE regexp_replace(lower(avt_trim(coalesce(s, ''))), '[\s_-]+', ' ', 'g')
        WHEN '' THEN blank_means
{billing_spellings}
    END
);

-- Odoo: a value as its spellings below are written (lower case, runs of spaces, '_'
-- and '-' as one space), so `3_progress`, `In Progress` and `in-progress` are one.
CREATE OR REPLACE TEMP MACRO avt_spelling(s) AS (
    regexp_replace(lower(avt_trim(coalesce(s, ''))), '[\s_-]+', ' ', 'g')
);
-- A recurring plan named by its length, `3 Months`, `1 Year`: the months it covers
-- (at most 120, as billing_interval_months), else NULL.
CREATE OR REPLACE TEMP MACRO avt_plan_length(s) AS (
    TRY_CAST(regexp_extract(avt_spelling(s), '^(\d{1,3}) (month|year)s?$', 1) AS INTEGER)
        * CASE WHEN regexp_matches(avt_spelling(s), ' years?$') THEN 12 ELSE 1 END
);
CREATE OR REPLACE TEMP MACRO avt_plan_months(s) AS (
    CASE WHEN avt_plan_length(s) BETWEEN 1 AND 120 THEN avt_plan_length(s) END
);
-- The plan's billing period: by its name (`Monthly`, `Yearly`, `2 Weeks`) or its
-- length in months (a length the vocabulary has no period for is every_n_months).
CREATE OR REPLACE TEMP MACRO avt_odoo_plan(s) AS (
    CASE
        WHEN avt_plan_months(s) IS NOT NULL THEN CASE avt_plan_months(s)
{plan_months}
            ELSE 'every_n_months' END
        WHEN avt_spelling(s) IN ('week', '1 week') THEN 'weekly'
        WHEN avt_spelling(s) = '2 weeks' THEN 'biweekly'
        WHEN avt_spelling(s) = 'month' THEN 'monthly'
        WHEN avt_spelling(s) = 'year' THEN 'yearly'
        WHEN avt_spelling(s) IN ('biennial', 'biennially') THEN 'two_yearly'
        -- A plan is recurring: neither one-off nor an every-n-months without its n.
        WHEN avt_billing(s, NULL) IN ('one_off', 'every_n_months') THEN NULL
        ELSE avt_billing(s, NULL)
    END
);
CREATE OR REPLACE TEMP MACRO avt_odoo_state(s) AS (
    CASE avt_spelling(s)
{odoo_states}
    END
);
CREATE OR REPLACE TEMP MACRO avt_odoo_event(s) AS (
    CASE avt_spelling(s)
{odoo_events}
    END
);

CREATE OR REPLACE TEMP MACRO avt_duration_part(s, unit) AS (
    coalesce(TRY_CAST(regexp_extract(upper(avt_trim(s)), '(\d+)' || unit, 1) AS INTEGER), 0)
);
CREATE OR REPLACE TEMP MACRO avt_is_duration(s) AS (
    regexp_matches(upper(avt_trim(s)), '^P(\d{1,5}Y)?(\d{1,5}M)?(\d{1,5}W)?(\d{1,5}D)?$') AND upper(avt_trim(s)) <> 'P'
);
"""


def install_macros(con) -> None:  # type: ignore[no-untyped-def]
    con.execute(MACROS)


def quote(value: str) -> str:
    """A SQL string literal (for header names, which come from the file)."""
    return "'" + value.replace("'", "''") + "'"


# How the sources spell each billing period (lower case, runs of spaces, '_' and '-' as one
# space): HubSpot's internal values and labels and the generic format's names.
BILLING_SPELLINGS: dict[str, tuple[str, ...]] = {
    "one_off": ("one off", "one time", "setup fee"),
    "weekly": ("weekly",),
    "biweekly": ("biweekly", "every two weeks"),
    "monthly": ("monthly",),
    "quarterly": ("quarterly",),
    "half_yearly": ("per six months", "every six months", "semi annually", "half yearly"),
    "yearly": ("annually", "annual", "yearly"),
    "two_yearly": ("per two years", "every two years", "two yearly"),
    "three_yearly": ("per three years", "every three years", "three yearly"),
    "four_yearly": ("per four years", "every four years", "four yearly"),
    "five_yearly": ("per five years", "every five years", "five yearly"),
    "every_n_months": ("every n months",),
}


def billing_cases() -> str:
    """The WHEN arms of ``avt_billing``: every period of the vocabulary from its spellings."""
    return "\n".join(
        f"        WHEN {quote(spelling)} THEN {quote(period)}"
        for period in BILLING_PERIODS
        for spelling in BILLING_SPELLINGS[period]
    )


# Odoo 17's subscription states (sale.order.subscription_state): the codes and the
# labels, plus "Closed" as older versions and hand-made exports say for churned.
ODOO_STATE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "quotation": ("1 draft", "draft", "quotation"),
    "renewal_quotation": ("2 renewal", "renewal", "renewal quotation", "ongoing renewal"),
    "in_progress": ("3 progress", "progress", "in progress"),
    "paused": ("4 paused", "paused"),
    "renewed": ("5 renewed", "renewed"),
    "churned": ("6 churn", "churn", "churned", "closed"),
    "upsell": ("7 upsell", "upsell"),
}
# Odoo 17's MRR log events (sale.order.log.event_type): the codes and the labels.
ODOO_EVENT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "new": ("0 creation", "creation", "new"),
    "expansion": ("1 expansion", "expansion"),
    "contraction": ("15 contraction", "contraction"),
    "churn": ("2 churn", "churn"),
    "transfer": ("3 transfer", "transfer"),
}


def spelling_cases(spellings: dict[str, tuple[str, ...]]) -> str:
    """WHEN arms mapping each spelling to its canonical value."""
    return "\n".join(
        f"        WHEN {quote(spelling)} THEN {quote(value)}"
        for value, spelled in spellings.items()
        for spelling in spelled
    )


def plan_month_cases() -> str:
    """WHEN arms of ``avt_odoo_plan``: a plan of n months is the vocabulary's period of n
    months where there is one (3 Months is quarterly), so it values as that period."""
    return "\n".join(
        f"            WHEN {int(months)} THEN {quote(period)}"
        for period, months in PERIOD_MONTHS.items()
        if months.denominator == 1
    )


# Macros are created once per connection (``install_macros``).
MACROS = (
    MACROS_TEMPLATE.replace("{billing_spellings}", billing_cases())
    .replace("{plan_months}", plan_month_cases())
    .replace("{odoo_states}", spelling_cases(ODOO_STATE_SPELLINGS))
    .replace("{odoo_events}", spelling_cases(ODOO_EVENT_SPELLINGS))
)


@dataclass(frozen=True)
class Check:
    field: str
    condition: str
    reason: str  # a SQL expression


# Dates outside these years are typing errors (0025 for 2025), and would make the
# month spines of the marts absurdly long.
FIRST_DATE, LAST_DATE = "1900-01-01", "2199-12-31"
# An ISO 8601 term longer than this many months is a typing error too.
MAX_TERM_MONTHS = 1200


def number_column(raw: str) -> str:
    """The column holding ``raw``'s cleaned number text (see ``avt_num_text``)."""
    return f"{raw}_num"


def _number(raw: str | None, locale: str | None) -> str:
    if raw is None:
        return "NULL::DOUBLE"
    return f"avt_number({number_column(raw)}, {quote(locale) if locale else 'NULL'})"


def typed_columns(f: Field, raw: str | None, locale: str | None) -> list[tuple[str, str, str]]:
    """(column name, SQL type, SQL expression) for the field read from column ``raw``.

    ``locale`` is the file's decimal separator ('comma', 'point' or None when the file
    does not tell), used only for values that could be read either way."""
    src = raw if raw is not None else "NULL::VARCHAR"
    t = f.type
    if t is FieldType.NUMBER:
        return [(f.name, "DOUBLE", _number(raw, locale))]
    if t is FieldType.INTEGER:
        number = _number(raw, locale)
        whole = (
            f"CASE WHEN {number} = floor({number}) AND abs({number}) < 2e9 "
            f"THEN {number}::INTEGER END"
        )
        return [(f.name, "INTEGER", whole)]
    if t is FieldType.TEXT:
        return [(f.name, "VARCHAR", f"nullif(avt_trim({src}), '')")]
    if t is FieldType.ID:
        first = f"split_part(regexp_replace(avt_trim({src}), '[,|]', ';', 'g'), ';', 1)"
        return [(f.name, "VARCHAR", f"nullif(avt_trim({first}), '')")]
    if t is FieldType.DATE:
        return [(f.name, "DATE", f"avt_date({src})")]
    if t in (FieldType.CURRENCY, FieldType.CURRENCY_CODE):
        return [(f.name, "VARCHAR", f"nullif(upper(avt_trim({src})), '')")]
    if t is FieldType.BOOLEAN:
        return [(f.name, "BOOLEAN", f"avt_boolean({src})")]
    if t is FieldType.DEAL_STAGE:
        return [
            (f.name, "VARCHAR", f"nullif(avt_trim({src}), '')"),
            (
                "is_closed_won",
                "BOOLEAN",
                f"regexp_replace(lower(coalesce({src}, '')), '[^a-z]', '', 'g') = 'closedwon'",
            ),
        ]
    if t is FieldType.HUBSPOT_FREQUENCY:
        return [("billing_period", "VARCHAR", f"avt_billing({src}, 'one_off')")]
    if t is FieldType.BILLING_PERIOD:
        return [("billing_period", "VARCHAR", f"avt_billing({src}, 'monthly')")]
    if t is FieldType.ODOO_PLAN:
        return [
            (f.name, "VARCHAR", f"nullif(avt_trim({src}), '')"),
            ("billing_period", "VARCHAR", f"avt_odoo_plan({src})"),
            (
                "billing_interval_months",
                "INTEGER",
                f"CASE WHEN avt_odoo_plan({src}) = 'every_n_months' THEN avt_plan_months({src}) END",
            ),
        ]
    if t is FieldType.ODOO_SUBSCRIPTION_STATE:
        return [
            (f.name, "VARCHAR", f"nullif(avt_trim({src}), '')"),
            ("subscription_state", "VARCHAR", f"avt_odoo_state({src})"),
        ]
    if t is FieldType.ODOO_LOG_EVENT:
        return [(f.name, "VARCHAR", f"avt_odoo_event({src})")]
    if t is FieldType.ISO_DURATION:
        valid = f"(NOT avt_blank({src}) AND avt_is_duration({src}))"
        months = f"avt_duration_part({src}, 'Y') * 12 + avt_duration_part({src}, 'M')"
        days = f"avt_duration_part({src}, 'W') * 7 + avt_duration_part({src}, 'D')"
        return [
            (f"{f.name}_months", "INTEGER", f"CASE WHEN {valid} THEN {months} END"),
            (f"{f.name}_days", "INTEGER", f"CASE WHEN {valid} THEN {days} END"),
        ]
    raise ValueError(f"unknown field type {t}")


def _shown(raw: str) -> str:
    """The value as a reason quotes it: in quotes, cut short when long."""
    cut = f"CASE WHEN length({raw}) > 60 THEN left({raw}, 57) || '...' ELSE {raw} END"
    return f"'''' || {cut} || ''''"


def _bound(value: float) -> str:
    """A limit as a reason states it: `1 000 000`, `0.000001`."""
    return f"{value:,}".replace(",", " ") if value == int(value) else f"{value:f}".rstrip("0")


def checks(f: Field, raw: str | None) -> list[Check]:
    """Conditions (over the parsed row, raw columns beside typed ones) that reject a row."""
    if raw is None:
        return []  # optional column absent from the file; required ones are checked up front
    shown = _shown(raw)
    out: list[Check] = []
    if f.required:
        out.append(Check(f.name, f"avt_blank({raw})", "'required value is missing'"))
    t = f.type
    nonblank = f"NOT avt_blank({raw})"
    unparsed = f"{nonblank} AND {f.name} IS NULL"
    if t is FieldType.NUMBER:
        out.append(Check(f.name, unparsed, f"avt_num_problem({number_column(raw)}, {shown})"))
    elif t is FieldType.INTEGER:
        number = _number(raw, "point")  # any reading: only whether it is whole matters here
        problem = (
            f"CASE WHEN avt_num_ambiguous({number_column(raw)}) OR {number} IS NULL "
            f"THEN avt_num_problem({number_column(raw)}, {shown}) "
            f"WHEN {number} = floor({number}) THEN 'out of range: ' || {shown} "
            f"ELSE 'not a whole number: ' || {shown} END"
        )
        out.append(Check(f.name, unparsed, problem))
    elif t is FieldType.DATE:
        out.append(Check(f.name, unparsed, f"'not a valid date: ' || {shown}"))
        out.append(
            Check(
                f.name,
                f"{f.name} NOT BETWEEN DATE '{FIRST_DATE}' AND DATE '{LAST_DATE}'",
                f"'not a plausible date (years {FIRST_DATE[:4]}-{LAST_DATE[:4]}): ' || {shown}",
            )
        )
    elif t is FieldType.CURRENCY:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND {f.name} NOT IN (SELECT currency FROM _known_currencies)",
                f"'unknown currency: ' || {shown}",
            )
        )
    elif t is FieldType.CURRENCY_CODE:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND NOT regexp_matches({f.name}, '^[A-Z]{{3}}$')",
                f"'not a three-letter currency code: ' || {shown}",
            )
        )
    elif t is FieldType.BOOLEAN:
        out.append(Check(f.name, unparsed, f"'not yes/no (true/false): ' || {shown}"))
    elif t in (FieldType.HUBSPOT_FREQUENCY, FieldType.BILLING_PERIOD):
        out.append(
            Check(f.name, "billing_period IS NULL", f"'unknown billing frequency: ' || {shown}")
        )
    elif t is FieldType.ODOO_PLAN:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND billing_period IS NULL",
                f"'unknown recurring plan (Monthly, Yearly, 3 Months, ...): ' || {shown}",
            )
        )
    elif t is FieldType.ODOO_SUBSCRIPTION_STATE:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND subscription_state IS NULL",
                f"'unknown subscription status: ' || {shown}",
            )
        )
    elif t is FieldType.ODOO_LOG_EVENT:
        out.append(Check(f.name, unparsed, f"'unknown MRR log event type: ' || {shown}"))
    elif t is FieldType.ISO_DURATION:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND {f.name}_months IS NULL",
                f"'not an ISO 8601 duration such as P12M: ' || {shown}",
            )
        )
        out.append(
            Check(
                f.name,
                f"{f.name}_months * 31 + {f.name}_days > {MAX_TERM_MONTHS} * 31",
                f"'longer than {MAX_TERM_MONTHS // 12} years: ' || {shown}",
            )
        )
    if f.minimum is not None:
        out.append(
            Check(
                f.name,
                f"{f.name} < {f.minimum}",
                f"'must be at least {_bound(f.minimum)}: ' || {shown}",
            )
        )
    if f.maximum is not None:
        out.append(
            Check(
                f.name,
                f"{f.name} > {f.maximum}",
                f"'must be at most {_bound(f.maximum)}: ' || {shown}",
            )
        )
    return out
