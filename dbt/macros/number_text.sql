-- A number as text in a sentence: `{:g}` (12.5, 3: no trailing zeros) or `{:.2f}`
-- (two decimals), as DuckDB's format writes them. Spark's {:g} keeps up to six
-- decimals without trailing zeros, which equals {:g} for percents and amounts under a
-- million with at most six significant digits (docs/spark.md).
{% macro number_text(value, spec) -%}
    {{ return(adapter.dispatch('number_text')(value, spec)) }}
{%- endmacro %}

{% macro default__number_text(value, spec) -%}
    format('{{ spec }}', {{ value }})
{%- endmacro %}

{% macro spark__number_text(value, spec) -%}
    {%- if spec == '{:.2f}' -%}
        format_string('%.2f', cast({{ value }} as double))
    {%- elif spec == '{:g}' -%}
        regexp_replace(regexp_replace(cast(cast({{ value }} as decimal(38, 6)) as string), '0+$', ''), '[.]$', '')
    {%- else -%}
        {{ exceptions.raise_compiler_error("number_text: no Spark form for '" ~ spec ~ "'") }}
    {%- endif -%}
{%- endmacro %}
