-- One row per active contract and health condition that holds (SPEC IX M9):
-- the measures of int_contract_health_measured against the thresholds of the
-- health_conditions seed; a disabled condition gives no signal.
with

measured as (
    select * from {{ ref('int_contract_health_measured') }}
),

health_conditions as (
    select * from {{ ref('health_conditions') }}
    where enabled
),

thresholded as (
    -- Drops and ages hold from the threshold up, deadlines from today to it, an
    -- invoice overdue beyond it.
    select
        measured.*,
        health_conditions.label
    from measured
    inner join health_conditions
        on measured.condition = health_conditions.condition
    where case measured.condition
            when 'mrr_drop' then measured.measure >= health_conditions.threshold
            when 'price_not_adjusted' then measured.measure >= health_conditions.threshold
            when 'discount_ending' then measured.measure between 0 and health_conditions.threshold
            when 'notice_deadline_soon' then measured.measure between 0 and health_conditions.threshold
            when 'invoice_overdue' then measured.measure > health_conditions.threshold
        end
),

per_contract as (
    -- Several discounted lines of one contract make one signal.
    select
        thresholded.contract_id,
        thresholded.customer_id,
        thresholded.condition,
        thresholded.label,
        min(thresholded.due_date) as due_date,
        {{ ordered_string_agg('thresholded.detail', "'; '", 'thresholded.due_date, thresholded.detail') }} as detail,
        sum(thresholded.amount) as amount
    from thresholded
    group by
        thresholded.contract_id,
        thresholded.customer_id,
        thresholded.condition,
        thresholded.label
)

select * from per_contract
