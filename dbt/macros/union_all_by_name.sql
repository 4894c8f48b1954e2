-- The rows of several relations under the union of their columns, matched by name, a
-- column empty where a relation lacks it. `parts` maps each relation to its columns.
-- DuckDB's `union all by name`; Spark SQL has none, so each part lists every column.
{% macro union_all_by_name(parts) -%}
    {{ return(adapter.dispatch('union_all_by_name')(parts)) }}
{%- endmacro %}

{% macro default__union_all_by_name(parts) -%}
    {%- for relation in parts %}
    {% if not loop.first %}union all by name
    {% endif %}select * from {{ relation }}
    {%- endfor %}
{%- endmacro %}

{% macro spark__union_all_by_name(parts) -%}
    {%- set columns = [] -%}
    {%- for relation_columns in parts.values() -%}
        {%- for column in relation_columns if column not in columns -%}
            {%- do columns.append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for relation, relation_columns in parts.items() %}
    {% if not loop.first %}union all
    {% endif %}select
        {%- for column in columns %}
        {% if column in relation_columns %}{{ relation }}.{{ column }}{% else %}null as {{ column }}{% endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {%- endfor %}
{%- endmacro %}
