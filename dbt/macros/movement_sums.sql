-- The sum and count of each movement type (SPEC IX M4), as the columns of the
-- additive marts (monthly_segments, monthly_product_segments): every dashboard and
-- monthly_metrics then only add these up, so no one repeats which movement is what.
{% macro movement_sums(movement, amount) -%}
    coalesce(sum({{ amount }}) filter (where {{ movement }} = 'new'), 0) as new_mrr,
    coalesce(sum({{ amount }}) filter (where {{ movement }} = 'expansion'), 0) as expansion_mrr,
    coalesce(sum({{ amount }}) filter (where {{ movement }} = 'contraction'), 0) as contraction_mrr,
    coalesce(sum({{ amount }}) filter (where {{ movement }} = 'churn'), 0) as churn_mrr,
    coalesce(sum({{ amount }}) filter (where {{ movement }} = 'reactivation'), 0) as reactivation_mrr,
    coalesce(sum({{ amount }}), 0) as net_new_mrr,
    count(*) filter (where {{ movement }} = 'new') as new_customers,
    count(*) filter (where {{ movement }} = 'churn') as churned_customers,
    count(*) filter (where {{ movement }} = 'reactivation') as reactivated_customers,
    count(*) as moved_customers
{%- endmacro %}
