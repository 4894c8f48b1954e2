-- The dates that matter per contract (SPEC VI A1): the end of the current term
-- (expiry) and the last day to give notice before it.
with

contracts as (
    select * from {{ ref('contracts') }}
    where end_date is not null
),

current_terms as (
    select
        contracts.*,
        -- An auto-renewing contract's current term is the first renewal term
        -- that ends on or after today: end_k = (end + 1 day) + k * renewal - 1 day.
        case
            when contracts.auto_renew and contracts.terminated_date is null
                then greatest(
                    0,
                    floor(
                        datediff('month', contracts.end_date, {{ as_of_date() }})
                        / contracts.renewal_term_months
                    )
                )::integer
            else 0
        end as renewals_before,
    from contracts
),

term_ends as (
    select
        current_terms.*,
        case
            when current_terms.auto_renew and current_terms.terminated_date is null then
                case
                    when (current_terms.end_date + interval 1 day
                        + to_months(current_terms.renewals_before * current_terms.renewal_term_months)
                        - interval 1 day)::date >= {{ as_of_date() }}
                        then (current_terms.end_date + interval 1 day
                            + to_months(current_terms.renewals_before * current_terms.renewal_term_months)
                            - interval 1 day)::date
                    else (current_terms.end_date + interval 1 day
                        + to_months((current_terms.renewals_before + 1) * current_terms.renewal_term_months)
                        - interval 1 day)::date
                end
            else coalesce(least(current_terms.terminated_date, current_terms.end_date), current_terms.end_date)
        end as term_end,
    from current_terms
),

expiries as (
    select
        term_ends.contract_id,
        term_ends.customer_id,
        term_ends.owner,
        'expiry' as deadline_type,
        term_ends.term_end as deadline_date,
        term_ends.auto_renew,
        term_ends.current_mrr as contract_mrr,
    from term_ends
),

notices as (
    select
        term_ends.contract_id,
        term_ends.customer_id,
        term_ends.owner,
        'notice' as deadline_type,
        (term_ends.term_end + interval 1 day - to_months(term_ends.notice_months) - interval 1 day)::date
            as deadline_date,
        term_ends.auto_renew,
        term_ends.current_mrr as contract_mrr,
    from term_ends
    where term_ends.notice_months is not null
        and term_ends.terminated_date is null
),

unioned as (
    select * from expiries
    union all
    select * from notices
)

select * from unioned
