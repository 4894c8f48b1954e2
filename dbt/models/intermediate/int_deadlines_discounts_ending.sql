-- Time-limited discounts that end (SPEC II R2, VI A1): one row per contract and
-- last day of a discount, with the MRR the contract gains the day after. A line
-- that is gone by then gains nothing, so it is left out; an app line is one row
-- per version, and only the version in force on that day counts.
with

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
    where is_recurring
        and discount_percent > 0
        and discount_end_date is not null
),

lines_rising as (
    select
        lines.contract_id,
        lines.discount_end_date,
        lines.product,
        lines.discount_percent,
        lines.line_mrr_undiscounted - lines.line_mrr as mrr_gained
    from lines
    -- Active on the first day without the discount.
    where lines.start_date <= lines.discount_end_date + interval 1 day
        and (lines.end_date is null or lines.end_date > lines.discount_end_date)
),

discounts_ending as (
    select
        lines_rising.contract_id,
        'discount_end' as deadline_type,
        lines_rising.discount_end_date as deadline_date,
        sum(lines_rising.mrr_gained)::double as mrr_at_stake,
        'Discount ends: ' || {{ ordered_string_agg(
            "lines_rising.product || ' (' || " ~ number_text('lines_rising.discount_percent::double', '{:g}') ~ " || ' %)'",
            "', '", 'lines_rising.product, lines_rising.discount_percent'
        ) }} as detail
    from lines_rising
    group by lines_rising.contract_id, lines_rising.discount_end_date
)

select * from discounts_ending
