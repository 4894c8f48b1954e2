-- The month-end rule (SPEC IX M2) seen from a last day: the first month that no
-- longer counts something that ends on `last_day`. It is the month after the one
-- the day falls in when the day is a month end, else that month itself; models that
-- work with spans of months (product movements) use it instead of a month join.
{% macro first_month_without(last_day) -%}
    date_trunc('month', {{ last_day }} + 1)::date
{%- endmacro %}
