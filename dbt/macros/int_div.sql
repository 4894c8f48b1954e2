-- Whole-number division, truncated toward zero: DuckDB's //, Spark's div.
{% macro int_div(dividend, divisor) -%}
    {{ return(adapter.dispatch('int_div')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__int_div(dividend, divisor) -%}
    {{ dividend }} // {{ divisor }}
{%- endmacro %}

{% macro spark__int_div(dividend, divisor) -%}
    ({{ dividend }}) div ({{ divisor }})
{%- endmacro %}
