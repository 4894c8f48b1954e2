-- A hash of a whole row of a relation alias, for fingerprints: DuckDB's hash(alias),
-- Spark's xxhash64 of the row as a struct.
{% macro row_hash(alias) -%}
    {{ return(adapter.dispatch('row_hash')(alias)) }}
{%- endmacro %}

{% macro default__row_hash(alias) -%}
    hash({{ alias }})
{%- endmacro %}

{% macro spark__row_hash(alias) -%}
    xxhash64(struct({{ alias }}.*))
{%- endmacro %}
