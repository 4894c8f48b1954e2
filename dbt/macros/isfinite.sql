-- Whether a number is finite (not NaN, not infinite; NULL stays NULL): DuckDB's
-- isfinite; Spark has none.
{% macro isfinite(value) -%}
    {{ return(adapter.dispatch('isfinite')(value)) }}
{%- endmacro %}

{% macro default__isfinite(value) -%}
    isfinite({{ value }})
{%- endmacro %}

{% macro spark__isfinite(value) -%}
    (not isnan({{ value }}) and abs({{ value }}) != double('infinity'))
{%- endmacro %}
