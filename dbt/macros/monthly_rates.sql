-- The portfolio rates of SPEC IX M5 from a month's summed components (one row per
-- month, in order, with the columns of monthly_segments summed). monthly_metrics
-- applies it to every segment; the app applies avtale/metrics.py, the same
-- definitions in Python, to the segments a user selects, and a test holds the two
-- equal. A rate is empty where its denominator is 0.
{% macro monthly_rates(components) -%}
    with

    previous as (
        select
            {{ components }}.*,
            coalesce(lag({{ components }}.mrr) over (order by {{ components }}.month), 0)
                as previous_mrr,
            coalesce(lag({{ components }}.customers) over (order by {{ components }}.month), 0)
                as previous_customers
        from {{ components }}
    ),

    churn_rated as (
        select
            previous.*,
            previous.churned_customers / nullif(previous.previous_customers, 0) as logo_churn_rate,
            previous.mrr / nullif(previous.customers, 0) as arpa
        from previous
    ),

    rated as (
        select
            churn_rated.month,
            churn_rated.mrr,
            12 * churn_rated.mrr as arr,
            churn_rated.customers,
            churn_rated.new_mrr,
            churn_rated.expansion_mrr,
            churn_rated.contraction_mrr,
            churn_rated.churn_mrr,
            churn_rated.reactivation_mrr,
            churn_rated.net_new_mrr,
            churn_rated.new_customers,
            churn_rated.churned_customers,
            churn_rated.reactivated_customers,
            churn_rated.previous_mrr,
            churn_rated.previous_customers,
            churn_rated.logo_churn_rate,
            -(churn_rated.churn_mrr + churn_rated.contraction_mrr)
                / nullif(churn_rated.previous_mrr, 0) as gross_revenue_churn_rate,
            churn_rated.arpa,
            churn_rated.is_future,
            churn_rated.retained_mrr_12m / nullif(churn_rated.base_mrr_12m, 0) as nrr_12m,
            -- ARPA over the average logo churn rate of this month and the two before
            -- (a month without a rate is left out of the average).
            churn_rated.arpa / nullif(
                avg(churn_rated.logo_churn_rate) over (
                    order by churn_rated.month rows between 2 preceding and current row
                ),
                0
            ) as ltv,
            (churn_rated.new_mrr + churn_rated.expansion_mrr + churn_rated.reactivation_mrr)
                / nullif(abs(churn_rated.churn_mrr + churn_rated.contraction_mrr), 0)
                as quick_ratio,
            churn_rated.non_recurring_revenue
        from churn_rated
    )

    select * from rated
{%- endmacro %}
