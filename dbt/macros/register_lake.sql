-- On Spark, every dbt command first puts a view over each source's Parquet file in the
-- lake ($AVTALE_HOME/lake/<schema>/<table>.parquet, written by avtale/lake.py), under the
-- source's own schema and name; on DuckDB the sources are the warehouse's tables: nothing.
{% macro register_lake() -%}
    {{ return(adapter.dispatch('register_lake')()) }}
{%- endmacro %}

{% macro default__register_lake() -%}
{%- endmacro %}

{% macro spark__register_lake() -%}
    {%- if execute -%}
        {%- set lake = var('avtale_home', env_var('AVTALE_HOME', '../.avtale')) ~ '/lake' -%}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if loop.first or source.schema != loop.previtem.schema -%}
                {%- do run_query('create database if not exists ' ~ source.schema) -%}
            {%- endif -%}
            {%- do run_query(
                'create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                ~ ' as select * from parquet.`' ~ lake ~ '/' ~ source.schema ~ '/'
                ~ source.identifier ~ '.parquet`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
