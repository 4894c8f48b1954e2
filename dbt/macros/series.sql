-- The rows start, start + step, ... up to stop (inclusive; none when stop < start), as
-- a select item or, after `cross join {{ lateral() }}`, a table: DuckDB's
-- unnest(generate_series(...)), cast to `cast`; Spark's explode(sequence(...)), whose
-- elements keep the type of start and stop (a cast around a generator is refused).
{% macro series(start, stop, step=none, cast=none) -%}
    {{ return(adapter.dispatch('series')(start, stop, step, cast)) }}
{%- endmacro %}

{% macro default__series(start, stop, step, cast) -%}
    unnest(generate_series({{ start }}, {{ stop }}{% if step is not none %}, {{ step }}{% endif %})){% if cast is not none %}::{{ cast }}{% endif %}
{%- endmacro %}

{% macro spark__series(start, stop, step, cast) -%}
    explode(case when {{ start }} <= {{ stop }} then sequence({{ start }}, {{ stop }}{% if step is not none %}, {{ step }}{% endif %}) end)
{%- endmacro %}
