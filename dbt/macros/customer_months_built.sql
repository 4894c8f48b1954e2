-- Where customer_months keeps the fingerprints it was last built from (a copy of
-- int_customer_months_inputs taken in the same transaction as its rows), next to the
-- intermediate models: not a mart, so it is never published.
{% macro customer_months_built() -%}
    {{ return(customer_months_kept('customer_months_built_from')) }}
{%- endmacro %}

-- Where customer_months keeps the customers its last build computed (again): only their
-- rows are new, so only they are checked for repeated months
-- (tests/assert_customer_months_one_row_per_month.sql).
{% macro customer_months_rebuilt() -%}
    {{ return(customer_months_kept('customer_months_rebuilt')) }}
{%- endmacro %}

{% macro customer_months_kept(identifier) -%}
    {%- set inputs = ref('int_customer_months_inputs') -%}
    {{ return(api.Relation.create(
        database=inputs.database, schema=inputs.schema, identifier=identifier
    )) }}
{%- endmacro %}
