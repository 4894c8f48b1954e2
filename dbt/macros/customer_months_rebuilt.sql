-- Where customer_months keeps the customers its last build computed (again): only their
-- rows are new, so only they are checked for repeated months
-- (tests/assert_customer_months_one_row_per_month.sql).
{% macro customer_months_rebuilt() -%}
    {{ return(customer_months_kept('customer_months_rebuilt')) }}
{%- endmacro %}
