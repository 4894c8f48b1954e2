-- A double as text the way DuckDB casts it (100.0, 0.25, nan, inf, 11600000000000.0),
-- for a finding's value. Spark writes NaN, Infinity and 1.16E13; whole numbers from
-- ten million up are written out here, as DuckDB does below 1e16.
{% macro number_as_text(value) -%}
    {{ return(adapter.dispatch('number_as_text')(value)) }}
{%- endmacro %}

{% macro default__number_as_text(value) -%}
    {{ value }}::string
{%- endmacro %}

{% macro spark__number_as_text(value) -%}
    case
        when isnan({{ value }}) then 'nan'
        when {{ value }} = double('infinity') then 'inf'
        when {{ value }} = -double('infinity') then '-inf'
        when abs({{ value }}) >= 1e7 and abs({{ value }}) < 1e16 and {{ value }} = floor({{ value }})
            then cast(cast({{ value }} as decimal(38, 0)) as string) || '.0'
        else cast({{ value }} as string)
    end
{%- endmacro %}
