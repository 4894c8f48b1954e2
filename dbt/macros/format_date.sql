-- A day or month as text in a strftime format (%Y, %m, %d): DuckDB's strftime;
-- Spark's date_format with the same pattern in its own letters.
{% macro format_date(value, format) -%}
    {{ return(adapter.dispatch('format_date')(value, format)) }}
{%- endmacro %}

{% macro default__format_date(value, format) -%}
    strftime({{ value }}, '{{ format }}')
{%- endmacro %}

{% macro spark__format_date(value, format) -%}
    date_format({{ value }}, '{{ format | replace("%Y", "yyyy") | replace("%m", "MM") | replace("%d", "dd") }}')
{%- endmacro %}
