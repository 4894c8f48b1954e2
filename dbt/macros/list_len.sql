-- The number of elements of a list: DuckDB's len, Spark's size.
{% macro list_len(list) -%}
    {{ return(adapter.dispatch('list_len')(list)) }}
{%- endmacro %}

{% macro default__list_len(list) -%}
    len({{ list }})
{%- endmacro %}

{% macro spark__list_len(list) -%}
    size({{ list }})
{%- endmacro %}
