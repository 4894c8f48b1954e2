-- An interval of n months to add to a day (DuckDB: to_months; Spark: a year-month interval).
{% macro to_months(n) -%}
    {{ return(adapter.dispatch('to_months')(n)) }}
{%- endmacro %}

{% macro default__to_months(n) -%}
    to_months({{ n }})
{%- endmacro %}

{% macro spark__to_months(n) -%}
    make_ym_interval(0, {{ n }})
{%- endmacro %}
