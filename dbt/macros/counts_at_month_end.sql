-- The month-end snapshot (SPEC IX M2): a line counts in a month when it is active on
-- the month's last day. Every model that spreads lines over months (int_line_months,
-- the forecast's contract months) joins with this, so they cannot drift apart.
{% macro counts_at_month_end(start_date, end_date, month_end) -%}
    {{ start_date }} <= {{ month_end }}
    and ({{ end_date }} is null or {{ end_date }} >= {{ month_end }})
{%- endmacro %}
