with

contracts as (
    {{ latest_per_key(source('generic', 'contracts'), 'contract_id') }}
),

renamed as (
    select
        contract_id,
        customer_id,
        name,
        owner,
        signed_date,
        start_date,
        term_months,
        coalesce(
            end_date,
            start_date + {{ to_months('term_months') }} - interval 1 day
        )::date as end_date,
        coalesce(auto_renew, false) as auto_renew,
        coalesce(renewal_term_months, term_months, 12) as renewal_term_months,
        notice_months,
        currency,
        terminated_date,
        termination_reason
    from contracts
)

select * from renamed
