-- The reference day for "current month", "future" and deadlines: today in the
-- business's time zone ($AVTALE_TIMEZONE, default Europe/Oslo), not the server's,
-- so the marts agree with the app's forms and reminders just after midnight.
-- Pinned by `--vars 'as_of_date: 2025-06-30'` in tests so results do not depend on today.
{% macro as_of_date() -%}
    {{ return(adapter.dispatch('as_of_date')()) }}
{%- endmacro %}

{% macro default__as_of_date() -%}
    {%- if var('as_of_date') -%}
        date '{{ var("as_of_date") }}'
    {%- else -%}
        timezone('{{ env_var("AVTALE_TIMEZONE", "Europe/Oslo") }}', current_timestamp)::date
    {%- endif -%}
{%- endmacro %}

{% macro spark__as_of_date() -%}
    {%- if var('as_of_date') -%}
        date '{{ var("as_of_date") }}'
    {%- else -%}
        to_date(from_utc_timestamp(current_timestamp(), '{{ env_var("AVTALE_TIMEZONE", "Europe/Oslo") }}'))
    {%- endif -%}
{%- endmacro %}
