-- The reference day for "current month", "future" and deadlines. Pinned by
-- `--vars 'as_of_date: 2025-06-30'` in tests so results do not depend on today.
{% macro as_of_date() -%}
    {%- if var('as_of_date') -%}date '{{ var("as_of_date") }}'{%- else -%}current_date{%- endif -%}
{%- endmacro %}
