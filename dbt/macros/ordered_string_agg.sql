-- The values joined by a separator in a given order: DuckDB's string_agg(... order by),
-- Spark's listagg(...) within group (order by).
{% macro ordered_string_agg(value, separator, order_by, distinct=false) -%}
    {{ return(adapter.dispatch('ordered_string_agg')(value, separator, order_by, distinct)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(value, separator, order_by, distinct) -%}
    string_agg({% if distinct %}distinct {% endif %}{{ value }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(value, separator, order_by, distinct) -%}
    {%- if distinct -%}
        {#- Spark 4.3 fails on listagg(distinct ...) within group; distinct values are
            ordered by themselves (as DuckDB requires too). -#}
        array_join(array_sort(collect_set({{ value }})), {{ separator }})
    {%- else -%}
        listagg({{ value }}, {{ separator }}) within group (order by {{ order_by }})
    {%- endif -%}
{%- endmacro %}
