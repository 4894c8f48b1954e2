-- Every column of a relation alias, some replaced by expressions ({column: SQL}):
-- DuckDB's `alias.* replace (expression as column)` keeps each in its place; Spark has
-- no replace, so there the replaced columns come last (every reader selects by name).
{% macro star_replace(alias, replacements) -%}
    {{ return(adapter.dispatch('star_replace')(alias, replacements)) }}
{%- endmacro %}

{% macro default__star_replace(alias, replacements) -%}
    {{ alias }}.* replace (
        {%- for column, expression in replacements.items() %}
            {{ expression }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        )
{%- endmacro %}

{% macro spark__star_replace(alias, replacements) -%}
    {{ alias }}.* except ({{ replacements.keys() | map('string') | join(', ') }}),
        {%- for column, expression in replacements.items() %}
        {{ expression }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
{%- endmacro %}
