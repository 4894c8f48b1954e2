"""SQL that turns raw text columns into typed values and says why a value is bad.

Everything here runs inside DuckDB over whole files; Python only writes the SQL.
For each field, ``typed_columns`` gives the typed output columns and ``checks``
the conditions under which a row cannot be used, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.kinds import Field, FieldType

# Macros are created once per connection (``install_macros``).
MACROS = r"""
CREATE OR REPLACE TEMP MACRO avt_blank(s) AS (s IS NULL OR trim(s) = '');

-- Numbers: '1.234,50', '1234,5', '1 234.50', '12 %'. A column is read with a
-- decimal comma when any of its values has one (decided per file and column).
CREATE OR REPLACE TEMP MACRO avt_number(s, decimal_comma) AS (
    CASE WHEN avt_blank(s) THEN NULL ELSE TRY_CAST(
        CASE WHEN decimal_comma
            THEN replace(replace(regexp_replace(trim(s), '[\s\x{00A0}%'']', '', 'g'), '.', ''), ',', '.')
            ELSE replace(regexp_replace(trim(s), '[\s\x{00A0}%'']', '', 'g'), ',', '')
        END AS DOUBLE) END
);

CREATE OR REPLACE TEMP MACRO avt_has_decimal_comma(s) AS (
    regexp_matches(trim(s), '^[-+]?[\d .\x{00A0}]*,\d+\s*%?$')
);

-- Dates: ISO with or without a time, dd.mm.yyyy, dd/mm/yyyy, dd-mm-yyyy, epoch ms.
CREATE OR REPLACE TEMP MACRO avt_date(s) AS (
    CASE
        WHEN avt_blank(s) THEN NULL
        WHEN regexp_matches(trim(s), '^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$') THEN
            TRY_CAST(regexp_extract(trim(s), '^(\d{4}-\d{1,2}-\d{1,2})', 1) AS DATE)
        WHEN regexp_matches(trim(s), '^\d{1,2}[./-]\d{1,2}[./-]\d{4}( .*)?$') THEN
            TRY_CAST(
                regexp_extract(trim(s), '^\d{1,2}[./-]\d{1,2}[./-](\d{4})', 1) || '-' ||
                regexp_extract(trim(s), '^\d{1,2}[./-](\d{1,2})', 1) || '-' ||
                regexp_extract(trim(s), '^(\d{1,2})', 1)
            AS DATE)
        WHEN regexp_matches(trim(s), '^\d{12,13}$') THEN
            CAST(make_timestamp(TRY_CAST(trim(s) AS BIGINT) * 1000) AS DATE)
        ELSE NULL
    END
);

CREATE OR REPLACE TEMP MACRO avt_boolean(s) AS (
    CASE
        WHEN avt_blank(s) THEN NULL
        WHEN lower(trim(s)) IN ('true', 'yes', 'y', 'ja', 'j', '1', 'x', 'sant') THEN TRUE
        WHEN lower(trim(s)) IN ('false', 'no', 'n', 'nei', 'nej', '0', 'falsk') THEN FALSE
    END
);

-- Billing frequencies as HubSpot writes them (internal values and labels) and
-- as the generic format writes them, to one canonical period.
CREATE OR REPLACE TEMP MACRO avt_billing(s, blank_means) AS (
    CASE regexp_replace(lower(trim(coalesce(s, ''))), '[\s_-]+', ' ', 'g')
        WHEN '' THEN blank_means
        WHEN 'one off' THEN 'one_off'
        WHEN 'one time' THEN 'one_off'
        WHEN 'setup fee' THEN 'one_off'
        WHEN 'weekly' THEN 'weekly'
        WHEN 'biweekly' THEN 'biweekly'
        WHEN 'every two weeks' THEN 'biweekly'
        WHEN 'monthly' THEN 'monthly'
        WHEN 'quarterly' THEN 'quarterly'
        WHEN 'per six months' THEN 'half_yearly'
        WHEN 'every six months' THEN 'half_yearly'
        WHEN 'semi annually' THEN 'half_yearly'
        WHEN 'half yearly' THEN 'half_yearly'
        WHEN 'annually' THEN 'yearly'
        WHEN 'annual' THEN 'yearly'
        WHEN 'yearly' THEN 'yearly'
        WHEN 'per two years' THEN 'two_yearly'
        WHEN 'every two years' THEN 'two_yearly'
        WHEN 'two yearly' THEN 'two_yearly'
        WHEN 'per three years' THEN 'three_yearly'
        WHEN 'every three years' THEN 'three_yearly'
        WHEN 'three yearly' THEN 'three_yearly'
        WHEN 'per four years' THEN 'four_yearly'
        WHEN 'every four years' THEN 'four_yearly'
        WHEN 'per five years' THEN 'five_yearly'
        WHEN 'every five years' THEN 'five_yearly'
        WHEN 'every n months' THEN 'every_n_months'
    END
);

CREATE OR REPLACE TEMP MACRO avt_duration_part(s, unit) AS (
    coalesce(TRY_CAST(regexp_extract(upper(trim(s)), '(\d+)' || unit, 1) AS INTEGER), 0)
);
CREATE OR REPLACE TEMP MACRO avt_is_duration(s) AS (
    regexp_matches(upper(trim(s)), '^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?$') AND upper(trim(s)) <> 'P'
);
"""


def install_macros(con) -> None:  # type: ignore[no-untyped-def]
    con.execute(MACROS)


def quote(value: str) -> str:
    """A SQL string literal (for header names, which come from the file)."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Check:
    field: str
    condition: str
    reason: str  # a SQL expression


def typed_columns(f: Field, raw: str | None, decimal_comma: bool) -> list[tuple[str, str, str]]:
    """(column name, SQL type, SQL expression) for the field read from column ``raw``."""
    src = raw if raw is not None else "NULL::VARCHAR"
    t = f.type
    if t is FieldType.TEXT:
        return [(f.name, "VARCHAR", f"nullif(trim({src}), '')")]
    if t is FieldType.ID:
        first = f"split_part(regexp_replace(trim({src}), '[,|]', ';', 'g'), ';', 1)"
        return [(f.name, "VARCHAR", f"nullif(trim({first}), '')")]
    if t is FieldType.NUMBER:
        return [(f.name, "DOUBLE", f"avt_number({src}, {str(decimal_comma).upper()})")]
    if t is FieldType.INTEGER:
        number = f"avt_number({src}, {str(decimal_comma).upper()})"
        whole = f"CASE WHEN {number} = floor({number}) THEN TRY_CAST({number} AS INTEGER) END"
        return [(f.name, "INTEGER", whole)]
    if t is FieldType.DATE:
        return [(f.name, "DATE", f"avt_date({src})")]
    if t in (FieldType.CURRENCY, FieldType.CURRENCY_CODE):
        return [(f.name, "VARCHAR", f"nullif(upper(trim({src})), '')")]
    if t is FieldType.BOOLEAN:
        return [(f.name, "BOOLEAN", f"avt_boolean({src})")]
    if t is FieldType.DEAL_STAGE:
        return [
            (f.name, "VARCHAR", f"nullif(trim({src}), '')"),
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
    if t is FieldType.ISO_DURATION:
        valid = f"(NOT avt_blank({src}) AND avt_is_duration({src}))"
        months = f"avt_duration_part({src}, 'Y') * 12 + avt_duration_part({src}, 'M')"
        days = f"avt_duration_part({src}, 'W') * 7 + avt_duration_part({src}, 'D')"
        return [
            (f"{f.name}_months", "INTEGER", f"CASE WHEN {valid} THEN {months} END"),
            (f"{f.name}_days", "INTEGER", f"CASE WHEN {valid} THEN {days} END"),
        ]
    raise ValueError(f"unknown field type {t}")


def checks(f: Field, raw: str | None) -> list[Check]:
    """Conditions (over the parsed row, raw columns beside typed ones) that reject a row."""
    out: list[Check] = []
    if raw is None:
        return out  # optional column absent from the file; required ones are checked up front
    shown = f"'''' || {raw} || ''''"
    if f.required:
        out.append(Check(f.name, f"avt_blank({raw})", "'required value is missing'"))
    t = f.type
    nonblank = f"NOT avt_blank({raw})"
    if t is FieldType.NUMBER:
        out.append(
            Check(f.name, f"{nonblank} AND {f.name} IS NULL", f"'not a number: ' || {shown}")
        )
    elif t is FieldType.INTEGER:
        out.append(
            Check(f.name, f"{nonblank} AND {f.name} IS NULL", f"'not a whole number: ' || {shown}")
        )
    elif t is FieldType.DATE:
        out.append(
            Check(f.name, f"{nonblank} AND {f.name} IS NULL", f"'not a valid date: ' || {shown}")
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
        out.append(
            Check(
                f.name,
                f"{nonblank} AND {f.name} IS NULL",
                f"'not yes/no (true/false): ' || {shown}",
            )
        )
    elif t in (FieldType.HUBSPOT_FREQUENCY, FieldType.BILLING_PERIOD):
        out.append(
            Check(f.name, "billing_period IS NULL", f"'unknown billing frequency: ' || {shown}")
        )
    elif t is FieldType.ISO_DURATION:
        out.append(
            Check(
                f.name,
                f"{nonblank} AND {f.name}_months IS NULL",
                f"'not an ISO 8601 duration such as P12M: ' || {shown}",
            )
        )
    if f.minimum is not None:
        out.append(
            Check(f.name, f"{f.name} < {f.minimum}", f"'must be at least {f.minimum}: ' || {shown}")
        )
    if f.maximum is not None:
        out.append(
            Check(f.name, f"{f.name} > {f.maximum}", f"'must be at most {f.maximum}: ' || {shown}")
        )
    return out
