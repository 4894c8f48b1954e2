-- Use the folder's schema name as is (staging, intermediate, marts) instead of
-- dbt's default <target>_<custom>. On DuckDB the marts are the tables of a file of
-- their own (the database `marts`, dbt_project.yml), in its default schema `main`:
-- that file copied is the serving copy, which the app reads without a schema.
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif custom_schema_name | trim == 'marts' and target.type == 'duckdb' -%}
        main
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
