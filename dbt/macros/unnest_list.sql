-- A row per element of a list, as a select item: DuckDB's unnest; with `structs`, a
-- list of structs becomes a column per field (DuckDB's unnest recursive, Spark's inline).
{% macro unnest_list(list, structs=false) -%}
    {{ return(adapter.dispatch('unnest_list')(list, structs)) }}
{%- endmacro %}

{% macro default__unnest_list(list, structs) -%}
    unnest({{ list }}{% if structs %}, recursive := true{% endif %})
{%- endmacro %}

{% macro spark__unnest_list(list, structs) -%}
    {% if structs %}inline{% else %}explode{% endif %}({{ list }})
{%- endmacro %}
