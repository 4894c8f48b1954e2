-- customer_months is incremental: these are the customers whose rows it deletes and
-- computes again. Those whose fingerprint (int_customer_months_inputs) differs from
-- the one it was last built from, appeared or vanished; every customer when the month
-- spine changed or no fingerprints were kept (a table built before it was incremental).
{% macro changed_customers() -%}
    {%- set built = customer_months_built() -%}
    {%- set inputs = ref('int_customer_months_inputs') -%}
    {%- if adapter.get_relation(built.database, built.schema, built.identifier) is none -%}
        select customer_id from {{ this }}
        union
        select customer_id from {{ inputs }}
    {%- else -%}
        with differing as (
            select coalesce(now.customer_id, before.customer_id) as customer_id
            from {{ inputs }} as now
            full outer join {{ built }} as before
                on now.customer_id = before.customer_id
            where now.fingerprint is distinct from before.fingerprint
        ),

        spine_changed as (
            select count(*) > 0 as changed from differing where differing.customer_id = ''
        )

        select differing.customer_id from differing
        union
        select all_customers.customer_id
        from (
            -- Every customer in customer_months was built from a fingerprint kept.
            select customer_id from {{ built }}
            union
            select customer_id from {{ inputs }}
        ) as all_customers
        where (select spine_changed.changed from spine_changed)
    {%- endif %}
{%- endmacro %}
