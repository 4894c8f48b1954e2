-- App contracts change by new versions (SPEC R4): each version's terms and
-- lines apply from its effective date until the day before the next version's.
with

versions as (
    select * from {{ ref('stg_app__contract_versions') }}
),

windowed as (
    select
        versions.*,
        lead(versions.effective_date) over (
            partition by versions.app_contract_id order by versions.version_no
        ) - interval 1 day as applies_until,
        versions.version_no = max(versions.version_no) over (
            partition by versions.app_contract_id
        ) as is_current
    from versions
)

select * from windowed
