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

-- The condition that picks the customers customer_months computes again, on `column`. When
-- they are few it names them: DuckDB then filters the lines before int_line_months spreads
-- them over the months, where `in (changed_customers)` filtered the 5.3M line months after
-- the spreading (1.2 s at 100k companies even for no customer at all; 0.02 s named). Many
-- customers (a new day's spine, a large load) keep the subquery: then most lines are needed.
{% macro computed_again(column, most_named=1000) -%}
    {%- set changed = changed_customers() -%}
    {%- if not execute -%}
        {{ column }} in ({{ changed }})
    {%- else -%}
        {%- set found = run_query(
            'select customer_id from (' ~ changed ~ ') as changed limit ' ~ (most_named + 1)
        ).columns[0].values() -%}
        {%- if found | length > most_named -%}
            {{ column }} in ({{ changed }})
        {%- elif found | length == 0 -%}
            false
        {%- else -%}
            {{ column }} in (
                {%- for customer in found | sort -%}
                    '{{ customer | replace("'", "''") }}'{{ ", " if not loop.last }}
                {%- endfor -%}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
