-- The keyword a join to a table function of the row before needs: none on DuckDB,
-- `lateral` on Spark (`cross join {{ lateral() }} {{ series(...) }} as years (n)`).
{% macro lateral() -%}
    {{ return(adapter.dispatch('lateral')()) }}
{%- endmacro %}

{% macro default__lateral() -%}
{%- endmacro %}

{% macro spark__lateral() -%}
    lateral
{%- endmacro %}
