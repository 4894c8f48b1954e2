-- Where customer_months keeps the fingerprints it was last built from (a copy of
-- int_customer_months_inputs taken in the same transaction as its rows), next to the
-- intermediate models: not a mart, so it is never published.
{% macro customer_months_built() -%}
    {{ return(customer_months_kept('customer_months_built_from')) }}
{%- endmacro %}
