-- Issue 14: a CRM or accounting contract the app took over counts until the day before
-- its adoption; from that day the app's copy does. One rule for its lines and for the
-- contract itself; `adopted_on` is null for a contract not taken over.
{% macro end_before_adoption(end_date, adopted_on) -%}
    case
        when {{ adopted_on }} is null then {{ end_date }}
        else least(coalesce({{ end_date }}, {{ adopted_on }} - 1), {{ adopted_on }} - 1)
    end::date
{%- endmacro %}
