-- On DuckDB the marts are the tables of their own file, attached as `marts`
-- (profiles.yml). A warehouse built before that still has a schema `marts` of its own:
-- dropped at the start of every build, so `marts.x` names the attached file's table
-- alone (DuckDB refuses a name that could be either) and no stale copy stays behind.
{% macro drop_old_marts_schema() -%}
    {%- if target.type == 'duckdb' -%}
        drop schema if exists "{{ target.database }}".marts cascade
    {%- endif -%}
{%- endmacro %}
