-- One row per customer per month from the customer's first month with MRR to
-- the horizon, zero-filled, so churn and reactivation are rows too. With the MRR of
-- the month before (movements) and of twelve months before (NRR, SPEC IX M5): both
-- computed here, for the changed customers only, so monthly_segments sums NRR's base
-- and retained MRR in one pass instead of joining 5.6M customer months to themselves
-- at 100k companies on every refresh (docs/benchmarks.md, eleventh part).
--
-- Incremental: a refresh after new loads or app writes deletes and computes again only
-- the customers whose inputs changed (computed_again); a whole build (another day,
-- project or setting) passes --full-refresh. tests/test_pipeline.py holds the result
-- equal to a full build's on random change sets. On Spark it is a table built whole
-- (incremental_or_table). Its post-hook writes the warehouse, this model the marts file:
-- DuckDB writes one attached file per transaction, so the hook runs after the commit.
-- depends_on: {{ ref('int_customer_months_inputs') }}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ computed_again('customer_id', 'int_customer_months_inputs') }}{% endif %}",
    post_hook={"sql": "{{ keep_built_from('int_customer_months_inputs') }}", "transaction": false},
) }}

with

line_months as (
    select * from {{ ref('int_line_months') }}
    {% if is_incremental() -%}
        where {{ computed_again('customer_id', 'int_customer_months_inputs') }}
    {%- endif %}
),

months as (
    select * from {{ ref('int_months') }}
),

customer_mrr as (
    select
        line_months.customer_id,
        line_months.month,
        {{ mrr_denoised('sum(line_months.mrr)') }} as mrr
    from line_months
    group by line_months.customer_id, line_months.month
),

first_months as (
    select
        customer_mrr.customer_id,
        min(customer_mrr.month) as first_month
    from customer_mrr
    where customer_mrr.mrr > 0
    group by customer_mrr.customer_id
),

spined as (
    select
        first_months.customer_id,
        months.month,
        months.is_future,
        months.month = first_months.first_month as is_first_month
    from first_months
    inner join months
        on first_months.first_month <= months.month
),

filled as (
    select
        spined.customer_id,
        spined.month,
        coalesce(customer_mrr.mrr, 0) as mrr,
        spined.is_first_month,
        spined.is_future
    from spined
    left join customer_mrr
        on spined.customer_id = customer_mrr.customer_id
        and spined.month = customer_mrr.month
)

-- The month before and twelve months before by one window over the spine, which runs
-- without gaps from the first month (so the row one back is the month before, 0 in
-- the first month, and twelve back the same month a year before, 0 before the first
-- month). Two more equality joins instead held three hash tables of customer months
-- at once: 2.7 s and 1.4 GB for this query at 100k companies against 2.9 s and
-- 0.9-1.0 GB (docs/benchmarks.md, twelfth part).
select
    filled.customer_id,
    filled.month,
    filled.mrr,
    coalesce(lag(filled.mrr, 1) over customer_history, 0) as previous_mrr,
    coalesce(lag(filled.mrr, 12) over customer_history, 0) as mrr_12m_before,
    filled.is_first_month,
    filled.is_future
from filled
window customer_history as (partition by filled.customer_id order by filled.month)
