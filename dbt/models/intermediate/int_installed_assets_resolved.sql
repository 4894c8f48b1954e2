-- Installed assets (SPEC I1, R2) of both kinds in one shape: the asset registers' rows
-- (stg_generic__assets) and the assets added by hand on an app contract. A register
-- names its contract, line and customer by any source's id, as written; here they are
-- resolved to the warehouse's ids. An id several sources use is taken from the source
-- of the row's own customer (then an exact `hubspot:456` wins); one that stays
-- ambiguous, or matches nothing, is left empty and its `problem_*` columns say why
-- (data_quality_findings publishes them).
with

generic_assets as (
    select * from {{ ref('stg_generic__assets') }}
),

app_assets as (
    select * from {{ ref('stg_app__installed_assets') }}
),

app_contracts as (
    select * from {{ ref('stg_app__contracts') }}
),

app_customers as (
    select * from {{ ref('stg_app__customers') }}
),

contracts as (
    select * from {{ ref('int_contracts_unioned') }}
),

customers as (
    select * from {{ ref('int_customers_unioned') }}
),

lines as (
    select * from {{ ref('int_contract_lines_normalised') }}
),

-- Every id a customer is known by, one row each: its warehouse id, its source's id, and
-- the app number of an app customer that took over a CRM customer. (One row per id, so
-- that an asset finds its candidates by an equality join: `ref in (id, source_id)` here
-- and for contracts compared every asset with every customer and contract, 20 s at 100k.)
customer_ids as (
    select
        customers.customer_id,
        customers.customer_id as known_id
    from customers
    union
    select
        customers.customer_id,
        customers.source_id as known_id
    from customers
    union
    select
        app_customers.customer_id,
        app_customers.customer_id as known_id
    from app_customers
    union
    select
        app_customers.customer_id,
        app_customers.customer_number as known_id
    from app_customers
),

customer_matches as (
    select distinct
        generic_assets.serial_number,
        customer_ids.customer_id,
        customer_ids.customer_id = generic_assets.customer_ref as is_exact
    from generic_assets
    inner join customer_ids
        on generic_assets.customer_ref = customer_ids.known_id
),

customer_ranked as (
    select
        customer_matches.*,
        rank() over (
            partition by customer_matches.serial_number
            order by customer_matches.is_exact desc
        ) as match_rank
    from customer_matches
),

customer_best as (
    select
        customer_ranked.serial_number,
        min(customer_ranked.customer_id) as customer_id,
        count(*) as candidates,
        {{ ordered_string_agg('customer_ranked.customer_id', "', '", 'customer_ranked.customer_id') }}
            as candidate_ids
    from customer_ranked
    where customer_ranked.match_rank = 1
    group by customer_ranked.serial_number
),

-- Every id a contract is known by, one row each (as customer_ids).
contract_ids as (
    select
        contracts.contract_id,
        contracts.contract_id as known_id
    from contracts
    union
    select
        contracts.contract_id,
        contracts.source_id as known_id
    from contracts
),

contract_matches as (
    select
        generic_assets.serial_number,
        contracts.contract_id,
        contracts.customer_id,
        contracts.superseded_by,
        contracts.contract_id = generic_assets.contract_ref as is_exact,
        customer_matches.customer_id is not null as is_own_customer
    from generic_assets
    inner join contract_ids
        on generic_assets.contract_ref = contract_ids.known_id
    inner join contracts
        on contract_ids.contract_id = contracts.contract_id
    left join customer_matches
        on
        generic_assets.serial_number = customer_matches.serial_number
        and contracts.customer_id = customer_matches.customer_id
),

contract_ranked as (
    select
        contract_matches.*,
        rank() over (
            partition by contract_matches.serial_number
            order by contract_matches.is_exact desc, contract_matches.is_own_customer desc
        ) as match_rank
    from contract_matches
),

contract_best as (
    select
        contract_ranked.serial_number,
        min(contract_ranked.contract_id) as contract_id,
        min(contract_ranked.customer_id) as customer_id,
        min(contract_ranked.superseded_by) as superseded_by,
        count(*) as candidates,
        {{ ordered_string_agg('contract_ranked.contract_id', "', '", 'contract_ranked.contract_id') }}
            as candidate_ids
    from contract_ranked
    where contract_ranked.match_rank = 1
    group by contract_ranked.serial_number
),

generic_contracted as (
    select
        generic_assets.*,
        case when contract_best.candidates = 1 then contract_best.contract_id end as contract_id,
        case when contract_best.candidates = 1 then contract_best.superseded_by end as superseded_by,
        case
            when contract_best.candidates = 1 then contract_best.customer_id
            when customer_best.candidates = 1 then customer_best.customer_id
        end as customer_id,
        case
            when generic_assets.contract_ref is null then null
            when contract_best.candidates is null
                then 'no contract with id ' || generic_assets.contract_ref
                    || ' (not loaded, or not a contract: a HubSpot deal must be closed won)'
            when contract_best.candidates > 1
                then 'contract id ' || generic_assets.contract_ref || ' is used by '
                    || contract_best.candidate_ids || ': write one of these'
        end as contract_problem,
        case
            when generic_assets.contract_ref is not null or generic_assets.customer_ref is null
                then null
            when customer_best.candidates is null
                then 'no customer with id ' || generic_assets.customer_ref
            when customer_best.candidates > 1
                then 'customer id ' || generic_assets.customer_ref || ' is used by '
                    || customer_best.candidate_ids || ': write one of these'
        end as customer_problem
    from generic_assets
    left join contract_best
        on generic_assets.serial_number = contract_best.serial_number
    left join customer_best
        on generic_assets.serial_number = customer_best.serial_number
),

-- A line of the asset's contract by its id in the source; an app line by its number
-- (the line's identity across versions: the current version's line is taken).
line_matches as (
    select
        generic_contracted.serial_number,
        lines.line_id,
        row_number() over (
            partition by generic_contracted.serial_number
            order by lines.start_date desc, lines.line_id desc
        ) as match_rank
    from generic_contracted
    inner join lines
        on
        generic_contracted.contract_id = lines.contract_id
        and (
            generic_contracted.line_ref in (lines.line_id, lines.source_id)
            or (
                lines.source_system = 'app'
                and generic_contracted.line_ref = regexp_extract(lines.line_id, '[.]([0-9]+)$', 1)
            )
        )
),

generic_resolved as (
    select
        'generic:' || generic_contracted.serial_number as asset_key,
        'generic' as source_system,
        generic_contracted.serial_number,
        generic_contracted.model,
        generic_contracted.location,
        generic_contracted.install_date,
        generic_contracted.customer_id,
        generic_contracted.contract_id,
        line_matches.line_id,
        coalesce(generic_contracted.superseded_by, generic_contracted.contract_id)
            as covering_contract_id,
        generic_contracted.customer_ref,
        generic_contracted.contract_ref,
        generic_contracted.line_ref,
        generic_contracted.contract_problem,
        generic_contracted.customer_problem,
        case
            when
                generic_contracted.line_ref is not null
                and generic_contracted.contract_id is not null
                and line_matches.line_id is null
                then 'contract ' || generic_contracted.contract_id || ' has no valued line with id '
                    || generic_contracted.line_ref
        end as line_problem,
        generic_contracted.load_id,
        generic_contracted.source_file,
        generic_contracted.row_number
    from generic_contracted
    left join line_matches
        on
        generic_contracted.serial_number = line_matches.serial_number
        and line_matches.match_rank = 1
),

app_resolved as (
    select
        'app:' || app_assets.app_asset_id as asset_key,
        'app' as source_system,
        app_assets.serial_number,
        app_assets.model,
        app_assets.location,
        null::date as install_date,
        app_customers.customer_id,
        'app:' || app_contracts.contract_number as contract_id,
        null::string as line_id,
        'app:' || app_contracts.contract_number as covering_contract_id,
        null::string as customer_ref,
        app_contracts.contract_number as contract_ref,
        null::string as line_ref,
        null::string as contract_problem,
        null::string as customer_problem,
        null::string as line_problem,
        null::integer as load_id,
        null::string as source_file,
        null::integer as row_number
    from app_assets
    inner join app_contracts
        on app_assets.app_contract_id = app_contracts.app_contract_id
    inner join app_customers
        on app_contracts.app_customer_id = app_customers.app_customer_id
)

select * from generic_resolved
union all
select * from app_resolved
