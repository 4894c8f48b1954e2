-- The keyword after `alias.*` that leaves columns out: DuckDB's exclude, Spark's except.
{% macro exclude() -%}
    {{ return(adapter.dispatch('exclude')()) }}
{%- endmacro %}

{% macro default__exclude() -%}
    exclude
{%- endmacro %}

{% macro spark__exclude() -%}
    except
{%- endmacro %}
