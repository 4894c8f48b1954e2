-- The customers a model computed per customer deletes and computes again in an incremental
-- build: those whose fingerprint in `inputs` (int_customer_months_inputs,
-- int_forecast_inputs) differs from the one the model was last built from, appeared or
-- vanished; every customer when the spine changed (the fingerprint under the empty
-- customer_id) or no fingerprints were kept (a table built before it was incremental).
{% macro changed_customers(inputs) -%}
    {%- set built = kept_about(inputs, this.identifier, 'built_from') -%}
    {%- set now = ref(inputs) -%}
    {%- if adapter.get_relation(built.database, built.schema, built.identifier) is none -%}
        select customer_id from {{ this }}
        union
        select customer_id from {{ now }}
    {%- else -%}
        with differing as (
            select coalesce(now.customer_id, before.customer_id) as customer_id
            from {{ now }} as now
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
            -- Every customer in the model was built from a fingerprint kept.
            select customer_id from {{ built }}
            union
            select customer_id from {{ now }}
        ) as all_customers
        where (select spine_changed.changed from spine_changed)
    {%- endif %}
{%- endmacro %}
