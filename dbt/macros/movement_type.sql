-- The movement of an MRR change, month M against M-1 (SPEC IX M4). One definition
-- for the customer movements and the per-product ones, so that summed over
-- products a customer month moves the same way as the customer.
{% macro movement_type(mrr, previous_mrr, is_first_month) -%}
    case
        when {{ previous_mrr }} = 0 and {{ is_first_month }} then 'new'
        when {{ previous_mrr }} = 0 then 'reactivation'
        when {{ mrr }} = 0 then 'churn'
        when {{ mrr }} > {{ previous_mrr }} then 'expansion'
        else 'contraction'
    end
{%- endmacro %}
