-- Customer MRR split by product (SPEC IX M7), at the months it changes: one row
-- per customer, product and month where the product's MRR differs from the
-- month before (0 before its first month with MRR, and after it stops), up to
-- the horizon. A dense customer x product x month spine costs most of a 100k
-- refresh, while a product's MRR only moves where one of its lines starts,
-- ends or leaves its discount, so only those months are valued.
--
-- Incremental, as customer_months and from the same fingerprints: a refresh after new
-- loads or app writes deletes and computes again only the customers whose
-- int_customer_months_inputs changed; a whole build passes --full-refresh. On Spark a
-- table built whole.
-- depends_on: {{ ref('int_customer_months_inputs') }}
{{ config(
    materialized=incremental_or_table(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ computed_again('customer_id', 'int_customer_months_inputs') }}{% endif %}",
    post_hook="{{ keep_built_from('int_customer_months_inputs') }}",
) }}

with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring and start_date is not null
    {%- if is_incremental() %}
        and {{ computed_again('customer_id', 'int_customer_months_inputs') }}
    {%- endif %}
),

months as (
    select * from {{ ref('int_months') }}
),

horizon as (
    -- The first month past the spine: lines running on are cut there.
    select (max(months.month) + interval 1 month)::date as beyond_month
    from months
),

line_spans as (
    -- The month-end snapshot of int_line_months per line instead of per month:
    -- a line counts in month M when it is active on M's last day, so it stops
    -- counting in the month after the one its end date falls in, or in that
    -- month when the end date is not a month end; same for its discount. A
    -- line without a product name (HubSpot does not require one) still counts,
    -- under 'Unknown', so products add up to the customer's MRR.
    select
        lines.customer_id,
        coalesce(nullif(trim(lines.product), ''), 'Unknown') as product,
        date_trunc('month', lines.start_date)::date as start_month,
        least(
            coalesce({{ first_month_without('lines.end_date') }}, horizon.beyond_month),
            horizon.beyond_month
        ) as end_month,
        {{ first_month_without('lines.discount_end_date') }} as discount_end_month,
        lines.line_mrr,
        lines.line_mrr_undiscounted
    from lines
    cross join horizon
),

segments as (
    -- Spans of months, start included and end not, over which a line's MRR is
    -- constant: discounted until its discount ends, undiscounted after.
    select
        line_spans.customer_id,
        line_spans.product,
        line_spans.start_month,
        least(line_spans.end_month, coalesce(line_spans.discount_end_month, line_spans.end_month))
            as end_month,
        line_spans.line_mrr as mrr
    from line_spans

    union all

    select
        line_spans.customer_id,
        line_spans.product,
        greatest(line_spans.start_month, line_spans.discount_end_month) as start_month,
        line_spans.end_month,
        line_spans.line_mrr_undiscounted as mrr
    from line_spans
    where line_spans.discount_end_month is not null
),

kept_segments as (
    select segments.* from segments
    where segments.start_month < segments.end_month
),

change_months as (
    -- The only months a product's MRR can differ from the month before.
    select
        kept_segments.customer_id,
        kept_segments.product,
        kept_segments.start_month as month
    from kept_segments

    union

    select
        kept_segments.customer_id,
        kept_segments.product,
        kept_segments.end_month as month
    from kept_segments
),

valued as (
    -- The product's MRR in the month and in the month before, summed over its
    -- lines and rounded far below a cent, as customer_months is, so an
    -- unchanged product MRR compares equal from month to month.
    select
        change_months.customer_id,
        change_months.product,
        change_months.month,
        coalesce(
            {{ mrr_denoised(
                'sum(kept_segments.mrr) filter (
                    where kept_segments.start_month <= change_months.month
                    and kept_segments.end_month > change_months.month
                )'
            ) }},
            0
        ) as mrr,
        coalesce(
            {{ mrr_denoised(
                'sum(kept_segments.mrr) filter (
                    where kept_segments.start_month < change_months.month
                    and kept_segments.end_month >= change_months.month
                )'
            ) }},
            0
        ) as month_before_mrr
    from change_months
    inner join kept_segments
        on change_months.customer_id = kept_segments.customer_id
        and change_months.product = kept_segments.product
    group by change_months.customer_id, change_months.product, change_months.month
),

first_months as (
    select
        valued.*,
        min(valued.month) filter (where valued.mrr > 0) over (
            partition by valued.customer_id, valued.product
        ) as first_month
    from valued
),

compared as (
    -- Nothing counts before the product's first month with MRR, so the month
    -- before that one counts as 0.
    select
        first_months.customer_id,
        first_months.product,
        first_months.month,
        first_months.mrr,
        case
            when first_months.month = first_months.first_month then 0
            else first_months.month_before_mrr
        end as previous_mrr,
        first_months.month = first_months.first_month as is_first_month,
        months.is_future
    from first_months
    inner join months
        on first_months.month = months.month
    where first_months.month >= first_months.first_month
),

changed as (
    select compared.* from compared
    where compared.mrr <> compared.previous_mrr
)

select * from changed
