-- The materialisation of the models computed per customer (customer_months and the
-- rest): incremental where rows can be deleted (DuckDB), a table built whole on Spark,
-- whose Parquet tables take no `delete` (that needs Delta Lake, which Spark cannot use
-- here without downloading it).
{% macro incremental_or_table() -%}
    {{ return(adapter.dispatch('incremental_or_table')()) }}
{%- endmacro %}

{% macro default__incremental_or_table() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_or_table() -%}
    {{ return('table') }}
{%- endmacro %}
