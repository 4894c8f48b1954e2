-- An interval of n days to add to a day (DuckDB: to_days; Spark: make_interval).
{% macro to_days(n) -%}
    {{ return(adapter.dispatch('to_days')(n)) }}
{%- endmacro %}

{% macro default__to_days(n) -%}
    to_days({{ n }})
{%- endmacro %}

{% macro spark__to_days(n) -%}
    make_interval(0, 0, 0, {{ n }})
{%- endmacro %}
