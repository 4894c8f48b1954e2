-- A line's MRR on a month's last day (SPEC IX M2): a time-limited discount counts
-- while it runs on that day, so a discount ending mid-month is gone from that month.
{% macro mrr_at_month_end(line, month_end) -%}
    case
        when {{ line }}.discount_end_date is null or {{ line }}.discount_end_date >= {{ month_end }}
            then {{ line }}.line_mrr
        else {{ line }}.line_mrr_undiscounted
    end
{%- endmacro %}
