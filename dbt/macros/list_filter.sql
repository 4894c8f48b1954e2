-- The elements of a list for which `predicate` (over the element named `element`) holds:
-- DuckDB's list_filter with a lambda, Spark's filter with an arrow function.
{% macro list_filter(list, element, predicate) -%}
    {{ return(adapter.dispatch('list_filter')(list, element, predicate)) }}
{%- endmacro %}

{% macro default__list_filter(list, element, predicate) -%}
    list_filter({{ list }}, lambda {{ element }}: {{ predicate }})
{%- endmacro %}

{% macro spark__list_filter(list, element, predicate) -%}
    filter({{ list }}, {{ element }} -> {{ predicate }})
{%- endmacro %}
