-- The dates of each contract's current term (SPEC VI A1): one row per contract
-- and deadline type. Expiry is the last day of the current term, with
-- auto-renewal rolled forward to today; the notice deadline is the last day to
-- give notice before it; the renegotiation window opens
-- `renegotiation_window_days` before that; an auto-renewing contract that is not
-- terminated renews the day after expiry. MRR at stake is the contract's MRR.
with

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

current_terms as (
    select
        contracts.*,
        contracts.auto_renew and contracts.terminated_date is null as renews,
        -- An auto-renewing contract's current term is the first renewal term
        -- that ends on or after today: end_k = (end + 1 day) + k * renewal - 1 day.
        case
            when contracts.auto_renew and contracts.terminated_date is null
                then greatest(
                        0,
                        floor(
                            {{ date_diff('month', 'contracts.end_date', as_of_date()) }}
                            / contracts.renewal_term_months
                        )
                    )::integer
            else 0
        end as renewals_before
    from contracts
    -- A contract the app took over has its deadlines on the app's copy.
    where contracts.end_date is not null and contracts.superseded_by is null
),

term_ends as (
    select
        current_terms.*,
        case
            when not current_terms.renews
                then coalesce(least(current_terms.terminated_date, current_terms.end_date), current_terms.end_date)
            when {{ term_end_date(
                'current_terms.end_date + interval 1 day',
                'current_terms.renewals_before * current_terms.renewal_term_months'
            ) }} >= {{ as_of_date() }}
                then {{ term_end_date(
                    'current_terms.end_date + interval 1 day',
                    'current_terms.renewals_before * current_terms.renewal_term_months'
                ) }}
            else {{ term_end_date(
                'current_terms.end_date + interval 1 day',
                '(current_terms.renewals_before + 1) * current_terms.renewal_term_months'
            ) }}
        end as term_end
    from current_terms
),

notice_dates as (
    -- Notice of n months before a term ending on e: the day before (e + 1 day) - n
    -- months, so a term ending 31 January with 1 month's notice gives 31 December.
    select
        term_ends.*,
        case when term_ends.terminated_date is null then
                (
                    term_ends.term_end + interval 1 day
                    - {{ to_months('term_ends.notice_months') }} - interval 1 day
                )::date
        end as notice_date
    from term_ends
),

expiries as (
    select
        notice_dates.contract_id,
        'expiry' as deadline_type,
        notice_dates.term_end as deadline_date,
        notice_dates.current_mrr as mrr_at_stake,
        case
            when notice_dates.renews
                then 'Term ends; renews for a ' || notice_dates.renewal_term_months || '-month term'
            when notice_dates.terminated_date is not null then 'Terminated; last day'
            else 'Term ends; does not renew'
        end as detail
    from notice_dates
),

notices as (
    select
        notice_dates.contract_id,
        'notice' as deadline_type,
        notice_dates.notice_date as deadline_date,
        notice_dates.current_mrr as mrr_at_stake,
        'Last day to give notice (' || notice_dates.notice_months || '-month notice period); the term ends '
        || {{ format_date('notice_dates.term_end', '%Y-%m-%d') }} as detail
    from notice_dates
    where notice_dates.notice_date is not null
),

renegotiation_windows as (
    select
        notice_dates.contract_id,
        'renegotiation_window' as deadline_type,
        (notice_dates.notice_date - {{ to_days(var('renegotiation_window_days')) }})::date as deadline_date,
        notice_dates.current_mrr as mrr_at_stake,
        'Renegotiation window opens; notice deadline '
        || {{ format_date('notice_dates.notice_date', '%Y-%m-%d') }} as detail
    from notice_dates
    where notice_dates.notice_date is not null
),

next_renewals as (
    select
        notice_dates.contract_id,
        'next_renewal' as deadline_type,
        (notice_dates.term_end + interval 1 day)::date as deadline_date,
        notice_dates.current_mrr as mrr_at_stake,
        'Renews for a ' || notice_dates.renewal_term_months || '-month term'
        || coalesce(
            ' unless notice is given by ' || {{ format_date('notice_dates.notice_date', '%Y-%m-%d') }}, ''
        ) as detail
    from notice_dates
    where notice_dates.renews
),

unioned as (
    select * from expiries
    union all
    select * from notices
    union all
    select * from renegotiation_windows
    union all
    select * from next_renewals
)

select * from unioned
