-- A term of n months from s runs through s + n months - 1 day (SPEC XI), so a year
-- from 1 March ends on the last day of February, 29 February in a leap year. Line
-- terms, lock-ins and renewal terms all end by this rule.
{% macro term_end_date(start_date, months, days=none) -%}
    ({{ start_date }} + {{ to_months(months) }}
    {%- if days is not none %} + {{ to_days(days) }}{% endif %} - interval 1 day)::date
{%- endmacro %}
